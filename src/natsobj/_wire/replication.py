"""Mirrors, replicas and aggregates (pure): the stream blocks that copy buckets, and back.

See shared/spec/mirrors.md §4 and §7. Three kinds of copy, each a stream with no subjects of
its own (so nothing can be written into it) unless an aggregate is asked to be writable:
- mirror: `mirror: {name: OBJ_<o>, external: {api}}` across a domain (or API prefix), with a
  transform `$O.<o>.> -> $O.<n>.>` when renamed, `mirror_direct: false` always;
- replica: a renamed copy in the same domain, built as a one-source stream, never a
  transformed mirror: the server would force `mirror_direct: true` on it and it would then
  answer the origin's direct gets with 404 (spec §3.1);
- aggregate: `sources`, one transformed source per origin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from .errors import InvalidReplicationError
from .names import STREAM_PREFIX, bucket_from_stream, stream_name, validate_bucket_name

STALE_AFTER = timedelta(seconds=10)
"""No contact with an origin for longer than this is stale: the server's own stall threshold
(heartbeats come every second while connected)."""

MIRROR = "mirror"
AGGREGATE = "aggregate"
REPLICA = "replica"


@dataclass(frozen=True)
class Origin:
    """A bucket another bucket copies: its name and where it lives.

    `domain` is a JetStream domain (its API is `$JS.<domain>.API`); `api_prefix` names another
    API directly (give one or neither; neither means this JetStream). `start_seq` or
    `start_time` start the copy at that point of the origin instead of its first message.
    """

    bucket: str
    domain: str | None = None
    api_prefix: str | None = None
    start_seq: int | None = None
    start_time: datetime | None = None

    def __post_init__(self) -> None:
        validate_bucket_name(self.bucket)
        if self.domain and self.api_prefix:
            raise InvalidReplicationError(
                f"origin {self.bucket!r}: give a domain or an api_prefix, not both"
            )
        if self.start_seq is not None and self.start_time is not None:
            raise InvalidReplicationError(
                f"origin {self.bucket!r}: give start_seq or start_time, not both"
            )

    @property
    def api(self) -> str | None:
        """The origin's JetStream API prefix, or None for this JetStream."""
        if self.api_prefix:
            return self.api_prefix.rstrip(".")
        if self.domain:
            return f"$JS.{self.domain}.API"
        return None

    @property
    def stream(self) -> str:
        return stream_name(self.bucket)

    def describe(self) -> str:
        """'A@edge', 'A via $JS.x.API' or 'A'."""
        if self.domain:
            return f"{self.bucket}@{self.domain}"
        if self.api_prefix:
            return f"{self.bucket} via {self.api}"
        return self.bucket


@dataclass(frozen=True)
class OriginStatus:
    """How one origin of a copy is doing, from the copy's stream info."""

    origin: Origin
    lag: int
    """Messages the server knows the copy is behind; 0 while disconnected, so see `stale`."""
    last_contact: timedelta | None
    """Time since the copy last heard from the origin; None if never since the server started."""
    error: str | None
    stale: bool
    """No contact for longer than STALE_AFTER (or none at all)."""
    origin_last_seq: int | None = None
    """The origin stream's last sequence, asked through its API by status(); None if it could
    not be asked (unreachable) or was not."""


@dataclass(frozen=True)
class Replication:
    """What a bucket copies from, read from its stream (Status.replication)."""

    kind: str
    """"mirror", "aggregate" or "replica"."""
    origins: tuple[OriginStatus, ...]
    read_only: bool
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def stale(self) -> bool:
        """True if any origin has not been heard from for longer than STALE_AFTER, or not at
        all since the copy's server started (as right after it restarts)."""
        return any(o.stale for o in self.origins)


# ---------------------------------------------------------------------------------------------
# building the stream blocks


def _source_block(origin: Origin, bucket: str) -> dict[str, Any]:
    """A StreamSource for `origin`, transformed onto `bucket`'s subjects when renamed."""
    block: dict[str, Any] = {"name": origin.stream}
    if origin.api:
        block["external"] = {"api": origin.api}
    if origin.start_seq is not None:
        block["opt_start_seq"] = int(origin.start_seq)
    if origin.start_time is not None:
        block["opt_start_time"] = origin.start_time.isoformat().replace("+00:00", "Z")
    if origin.bucket != bucket:
        block["subject_transforms"] = [{"src": f"$O.{origin.bucket}.>", "dest": f"$O.{bucket}.>"}]
    return block


def replication_blocks(
    bucket: str,
    *,
    mirror: Origin | None,
    sources: Sequence[Origin],
    writable: bool,
) -> tuple[dict[str, Any], bool]:
    """The copy's part of a stream config, and whether the stream keeps its own subjects.

    A same-domain mirror becomes a replica (one source): see the module's text.
    """
    if mirror is not None and sources:
        raise InvalidReplicationError(f"bucket {bucket!r}: give a mirror or sources, not both")
    if mirror is not None:
        if writable:
            raise InvalidReplicationError(
                f"bucket {bucket!r}: a mirror is read-only; use sources=[...] with writable=True"
            )
        if mirror.api is None:
            if mirror.bucket == bucket:
                raise InvalidReplicationError(
                    f"bucket {bucket!r} cannot mirror itself in the same JetStream; give the "
                    "origin's domain (Origin(..., domain=...)) or another name"
                )
            return {"sources": [_source_block(mirror, bucket)], "mirror_direct": False}, False
        return {"mirror": _source_block(mirror, bucket), "mirror_direct": False}, False
    if sources:
        seen = set()
        for origin in sources:
            key = (origin.bucket, origin.api)
            if key in seen:
                raise InvalidReplicationError(
                    f"bucket {bucket!r}: origin {origin.describe()} is given twice"
                )
            seen.add(key)
            if origin.api is None and origin.bucket == bucket:
                raise InvalidReplicationError(f"bucket {bucket!r} cannot source itself")
        blocks = [_source_block(o, bucket) for o in sources]
        return {"sources": blocks, "mirror_direct": False}, writable
    return {}, True


# ---------------------------------------------------------------------------------------------
# reading them back


def _api_of(block: Mapping[str, Any]) -> str | None:
    external = block.get("external") or {}
    api = external.get("api") if isinstance(external, Mapping) else None
    return str(api) if api else None


def origin_of(block: Mapping[str, Any]) -> Origin | None:
    """The Origin a StreamSource block names; None if it is not an object store stream."""
    bucket = bucket_from_stream(str(block.get("name") or ""))
    if not bucket:
        return None
    api = _api_of(block)
    domain = None
    if api and api.startswith("$JS.") and api.endswith(".API") and api.count(".") == 2:
        domain = api[len("$JS.") : -len(".API")]
    start_seq = block.get("opt_start_seq")
    try:
        return Origin(
            bucket,
            domain=domain,
            api_prefix=None if domain else api,
            start_seq=int(start_seq) if start_seq else None,
        )
    except ValueError:  # a hand-made stream whose origin is no valid bucket name
        return None


def kind_of(config: Mapping[str, Any]) -> str | None:
    """ "mirror", "replica" (one same-domain source, no subjects), "aggregate" or None."""
    if config.get("mirror"):
        return MIRROR
    sources = config.get("sources") or []
    if not sources:
        return None
    if len(sources) == 1 and not config.get("subjects") and _api_of(sources[0]) is None:
        return REPLICA
    return AGGREGATE


def origins_of(config: Mapping[str, Any]) -> tuple[Origin, ...]:
    """The origins a stream config copies from, in order."""
    blocks = [config["mirror"]] if config.get("mirror") else list(config.get("sources") or [])
    return tuple(o for o in (origin_of(b) for b in blocks) if o is not None)


def is_read_only(config: Mapping[str, Any]) -> bool:
    """True for a copy nothing can be written into: a mirror, or sources without subjects."""
    return kind_of(config) is not None and (
        bool(config.get("mirror")) or not config.get("subjects")
    )


def copies_a_bucket(config: Mapping[str, Any]) -> bool:
    """True for an `OBJ_*` stream that mirrors or sources an `OBJ_*` stream: a bucket with no
    subjects of its own, which a listing filtered by subject misses."""
    if not str(config.get("name") or "").startswith(STREAM_PREFIX):
        return False
    return bool(origins_of(config))


def read_only_reason(bucket: str, config: Mapping[str, Any]) -> str | None:
    """Why nothing can be written into `bucket`, and where to write instead; None if it can be."""
    if not is_read_only(config):
        return None
    kind = kind_of(config)
    origins = origins_of(config)
    named = ", ".join(repr(o.describe()) for o in origins) or "another stream"
    if kind == MIRROR and origins:
        origin = origins[0]
        where = (
            f"in JetStream domain {origin.domain!r}"
            if origin.domain
            else (f"behind API {origin.api!r}" if origin.api else "in this JetStream")
        )
        how = (
            f"`natsobj --js-domain {origin.domain} put {origin.bucket} ...` or "
            f"natsobj.connect(..., domain={origin.domain!r})"
            if origin.domain
            else f"bucket {origin.bucket!r} there"
        )
        return (
            f"bucket {bucket!r} is a read-only mirror of bucket {origin.bucket!r} {where}; "
            f"write to the origin: {how}"
        )
    if kind == REPLICA and origins:
        return (
            f"bucket {bucket!r} is a read-only replica of bucket {origins[0].bucket!r}; "
            f"write to {origins[0].bucket!r} instead"
        )
    return (
        f"bucket {bucket!r} is a read-only aggregate of {named}; write to one of its origins, "
        "or make it writable with update_object_store(..., writable=True)"
    )


def _last_contact(block: Mapping[str, Any]) -> timedelta | None:
    active = block.get("active")
    if active is None:
        return None
    ns = int(active)
    return None if ns < 0 else timedelta(microseconds=ns // 1000)


def replication_from_info(info: Mapping[str, Any]) -> Replication | None:
    """A copy's replication from its stream info (config + mirror/sources state); None if the
    stream copies nothing."""
    config = info.get("config") or {}
    kind = kind_of(config)
    if kind is None:
        return None
    blocks = [info.get("mirror") or {}] if kind == MIRROR else list(info.get("sources") or [])
    configured = origins_of(config)
    states = []
    for i, origin in enumerate(configured):
        state: Mapping[str, Any] = {}
        for block in blocks:  # sources report in their own order, matched by name and API
            if block.get("name") == origin.stream and _api_of(block) == origin.api:
                state = block
                break
        else:
            state = blocks[i] if kind == MIRROR and i < len(blocks) else {}
        contact = _last_contact(state)
        error = state.get("error")
        if isinstance(error, Mapping):
            error = error.get("description") or str(error)
        states.append(
            OriginStatus(
                origin=origin,
                lag=int(state.get("lag") or 0),
                last_contact=contact,
                error=str(error) if error else None,
                stale=contact is None or contact > STALE_AFTER,
            )
        )
    return Replication(
        kind=kind,
        origins=tuple(states),
        read_only=is_read_only(config),
        warnings=tuple(replication_warnings(config)),
    )


def with_origin_seqs(replication: Replication, seqs: list[int | None]) -> Replication:
    """`replication` with each origin's last sequence (in the order of its origins)."""
    origins = tuple(
        replace(state, origin_last_seq=seq)
        for state, seq in zip(replication.origins, seqs, strict=True)
    )
    return replace(replication, origins=origins)


# ---------------------------------------------------------------------------------------------
# garbage collection in a copy (spec §7.6)


@dataclass(frozen=True)
class OrphanChunks:
    """Chunk subjects no live meta of a bucket points to, with their message counts, sorted
    by what garbage collection may do with them."""

    removable: Mapping[str, int]
    """In a plain bucket, every orphan (older than the age asked); in a copy, those no origin
    has any more: left behind by a purge at the origin, which a copy never replicates."""
    at_origin: Mapping[str, int] = field(default_factory=dict)
    """In a copy: an origin still has them (an object still being uploaded there, or an
    orphan of the origin's own: verify the origin). Kept."""
    unknown: Mapping[str, int] = field(default_factory=dict)
    """In a copy: an origin could not be asked. Kept."""
    unreachable: tuple[str, ...] = ()
    """The origins that could not be asked ('A@edge')."""
    recent: Mapping[str, int] = field(default_factory=dict)
    """Written by this bucket's own puts less than the age asked ago: a put may still be
    running. Kept."""

    @property
    def subjects(self) -> dict[str, int]:
        """Every orphan subject, whatever its class."""
        return {**self.removable, **self.at_origin, **self.unknown, **self.recent}


def chunk_nuid(subject: str) -> str:
    """The nuid token of a chunk subject `$O.<bucket>.C.<nuid>`."""
    return subject.rsplit(".", 1)[-1]


def classify_orphans(
    orphans: Mapping[str, int], origin_nuids: Mapping[Origin, frozenset[str] | None]
) -> OrphanChunks:
    """Sort a copy's orphan subjects by what its origins hold: `origin_nuids` gives the
    orphans' nuids each origin still has chunks for (a transform renames only the bucket
    token), or None for an origin that could not be asked.

    Removable only if every origin answered and none has the nuid: ADR-20 writers purge a
    version's chunks only after the meta that replaces it is stored, so no meta that points to
    them can reach the copy any more. Nuids are unique, so an aggregate asks every origin.
    """
    unreachable = tuple(o.describe() for o, nuids in origin_nuids.items() if nuids is None)
    removable: dict[str, int] = {}
    at_origin: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for subject, count in orphans.items():
        nuid = chunk_nuid(subject)
        if any(nuids is not None and nuid in nuids for nuids in origin_nuids.values()):
            at_origin[subject] = count
        elif unreachable or not origin_nuids:
            unknown[subject] = count
        else:
            removable[subject] = count
    return OrphanChunks(removable, at_origin, unknown, unreachable)


def breaks_direct_gets(config: Mapping[str, Any], origin_stream: str) -> str | None:
    """Why the stream `config` breaks direct gets of `origin_stream`, or None: a same-domain
    mirror of it with a subject-changing transform and mirror_direct on answers the origin's
    direct gets from its own (renamed) subjects, with 'not found' (spec §3.1)."""
    mirror = config.get("mirror") or {}
    if not mirror or mirror.get("name") != origin_stream:
        return None
    if not config.get("mirror_direct") or _api_of(mirror) is not None:
        return None
    renames = [t for t in mirror.get("subject_transforms") or [] if t.get("src") != t.get("dest")]
    if not renames:
        return None
    name = config.get("name")
    return (
        f"stream {name} answers direct gets for {origin_stream} with 'not found' (a same-domain "
        f"transformed mirror with mirror_direct on); delete it and recreate it with "
        f"`natsobj bucket add {bucket_from_stream(str(name)) or name} --source "
        f"{bucket_from_stream(origin_stream) or origin_stream}`"
    )


def replication_warnings(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with a copy's config, each in one line that says what to do."""
    warnings = []
    if config.get("sealed"):
        warnings.append("the bucket is sealed: replication has stopped for good")
    if not config.get("allow_direct"):
        warnings.append("allow_direct is off: reads use slower message gets")
    if not config.get("allow_rollup_hdrs"):
        warnings.append(
            "allow_rollup_hdrs is off: replaced metas pile up instead of being rolled up"
        )
    mirror = config.get("mirror") or {}
    if mirror and breaks_direct_gets(config, str(mirror.get("name"))):
        origin = mirror.get("name")
        warnings.append(
            f"this same-domain transformed mirror has mirror_direct on: it answers direct gets "
            f"for {origin} with 'not found' and so breaks reads of the origin; delete it and "
            "recreate it as a replica (natsobj bucket add NAME --source ORIGIN)"
        )
    return warnings
