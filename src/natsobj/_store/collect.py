"""What `verify` checks besides the objects: chunk subjects no live meta points to (garbage
collection, in a bucket or in a copy), and other streams that break the bucket's reads.

In a plain bucket an orphan is left by a failed or interrupted put, and a put still running has
them too, so only orphans older than an age are purged. In a copy (mirror, replica, aggregate)
the age says nothing: chunks carry the origin's time, so an upload that was in flight when the
link dropped looks old. There an orphan is purged only once its origins, asked through the
copy's own API prefix or domain, confirm they no longer have it (spec §7.6).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import _wire as wire
from .._transfer import purge_subject
from .._wire.errors import (
    BucketNotFoundError,
    ConnectionLostError,
    JetStreamAPIError,
    OriginUnreachableError,
    PermissionDeniedError,
    StoreTimeoutError,
)
from .._wire.replication import OrphanChunks
from .bucket import Bucket
from .listing import scan_metas


async def _unreferenced(bucket: Bucket) -> tuple[dict[str, int], Mapping[str, Any]]:
    """Chunk subjects no live meta points to, with their counts, and the stream's config.

    The subjects are read before the metas: a put that commits in between is then seen live.
    """
    info = await bucket.js.stream_info(
        bucket.stream, bucket=bucket.name, subjects_filter=wire.all_chunks_subject(bucket.name)
    )
    config = info.get("config") or {}
    subjects: dict[str, int] = dict(info.get("state", {}).get("subjects") or {})
    if not subjects:
        return {}, config
    live = {
        wire.chunk_subject(bucket.name, meta.nuid)
        for meta in (await scan_metas(bucket)).values()
        if meta is not None and meta.nuid and not meta.deleted
    }
    return {s: n for s, n in subjects.items() if s not in live}, config


async def _by_age(
    bucket: Bucket, orphans: Mapping[str, int], min_age: timedelta
) -> tuple[dict[str, int], dict[str, int]]:
    """The orphans whose newest chunk is older than `min_age`, and those younger (or held:
    a newest chunk whose CHUNK_HOLD_HEADER names a time still to come)."""
    if min_age <= timedelta(0):
        return dict(orphans), {}
    now = datetime.now(timezone.utc)
    cutoff = now - min_age
    old, young = {}, {}
    for subject, count in orphans.items():
        last = await bucket.js.direct_get_last(bucket.stream, subject)
        if last is None:
            continue  # purged meanwhile
        written = wire.parse_time(last.time)
        held = wire.parse_time(last.headers.get(wire.CHUNK_HOLD_HEADER))
        if held is not None and held > now:
            young[subject] = count
        elif written is None or written <= cutoff:
            old[subject] = count
        else:
            young[subject] = count
    return old, young


UNANSWERED = (
    StoreTimeoutError,
    ConnectionLostError,
    BucketNotFoundError,  # a copy of a deleted bucket may hold the only data left
    PermissionDeniedError,
    JetStreamAPIError,
)
"""What makes an origin one that cannot be asked (unreachable, gone, or refusing)."""

ASK_EACH_UP_TO = 256
"""Up to this many orphans, the origin is asked about each chunk subject (one small STREAM.INFO
each); above it, for its whole list of chunk subjects at once (paged, but as long as the
origin has objects)."""


async def origin_nuids(
    bucket: Bucket, origin: wire.Origin, nuids: Collection[str]
) -> frozenset[str] | None:
    """Which of `nuids` the origin still holds chunks for, asked through its API (this
    JetStream's for a same-domain origin); None if it cannot be asked (unreachable, gone, or
    refused)."""
    filters = (
        [wire.chunk_subject(origin.bucket, nuid) for nuid in nuids]
        if len(nuids) <= ASK_EACH_UP_TO
        else [wire.all_chunks_subject(origin.bucket)]
    )
    held: set[str] = set()
    try:
        for subjects_filter in filters:
            info = await bucket.js.stream_info(
                origin.stream,
                bucket=origin.bucket,
                subjects_filter=subjects_filter,
                prefix=origin.api,
            )
            held.update(wire.chunk_nuid(s) for s in info.get("state", {}).get("subjects") or {})
    except UNANSWERED:
        return None
    return frozenset(held & set(nuids))


async def origin_last_seq(bucket: Bucket, origin: wire.Origin) -> int | None:
    """The origin stream's last sequence, asked through its API; None if it cannot be asked
    within a second (an edge that is away must not hold up a status)."""
    try:
        info = await bucket.js.api(
            f"STREAM.INFO.{origin.stream}", bucket=origin.bucket, prefix=origin.api, timeout=1.0
        )
    except UNANSWERED:
        return None
    return int((info.get("state") or {}).get("last_seq") or 0)


async def orphan_chunks(bucket: Bucket, *, min_age: timedelta = timedelta(0)) -> OrphanChunks:
    """The bucket's orphan chunk subjects, classified (see the module's text).

    In a copy `min_age` plays no part, except for the chunks a writable aggregate's own puts
    wrote: no origin has those, so they are removable only once older than `min_age`.
    """
    orphans, config = await _unreferenced(bucket)
    origins = wire.origins_of(config)
    if not orphans or not origins:
        old, young = await _by_age(bucket, orphans, min_age)
        return OrphanChunks(old, recent=young)
    nuids = {wire.chunk_nuid(subject) for subject in orphans}
    asked = {origin: await origin_nuids(bucket, origin, nuids) for origin in origins}
    found = wire.classify_orphans(orphans, asked)
    if wire.is_read_only(config):
        return found
    old, young = await _by_age(bucket, found.removable, min_age)
    return replace(found, removable=old, recent=young)


async def purge_orphans(bucket: Bucket, *, min_age: timedelta = timedelta(minutes=10)) -> int:
    """Purge the removable orphans; returns the messages removed.

    In a copy, raise OriginUnreachableError (purging nothing) if an origin could not be asked
    about an orphan: it may belong to an upload the origin has not finished.
    """
    found = await orphan_chunks(bucket, min_age=min_age)
    if found.unknown:
        raise OriginUnreachableError(bucket.name, found.unreachable)
    removed = 0
    for subject in found.removable:
        removed += await purge_subject(bucket.js, bucket.name, subject)
    return removed


async def read_hazards(bucket: Bucket) -> list[str]:
    """Streams in this JetStream that break reads of the bucket, each with what to do: a
    same-domain mirror of it with a renaming transform and mirror_direct on joins its direct-get
    group and answers 'not found' (spec §3.1). One paged STREAM.LIST."""
    found = []
    for info in await bucket.js.stream_list():
        why = wire.breaks_direct_gets(info.get("config") or {}, bucket.stream)
        if why:
            found.append(why)
    return found
