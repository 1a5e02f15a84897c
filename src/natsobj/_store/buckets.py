"""Buckets: create, bind, update, list and delete the streams behind object stores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from .. import _wire as wire
from .._jetstream import ERR_STREAM_NAME_IN_USE
from .._wire.errors import BucketExistsError, InvalidReplicationError, JetStreamAPIError
from .._wire.models import ObjectStoreConfig, ObjectStoreStatus
from .._wire.replication import Origin
from .context import StoreContext
from .objects import ObjectStore


def bucket_config(
    bucket: str | ObjectStoreConfig,
    *,
    description: str | None = None,
    ttl: timedelta | float | None = None,
    max_bytes: int | None = None,
    storage: str = "file",
    replicas: int = 1,
    compression: bool = False,
    placement: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    mirror: Origin | None = None,
    sources: Sequence[Origin] | None = None,
    writable: bool = False,
) -> ObjectStoreConfig:
    """The config create_object_store's arguments describe."""
    if isinstance(bucket, ObjectStoreConfig):
        return bucket
    return ObjectStoreConfig(
        bucket=bucket,
        description=description,
        ttl=ttl,
        max_bytes=max_bytes,
        storage=storage,
        replicas=replicas,
        compression=compression,
        placement=placement,
        metadata=metadata,
        mirror=mirror,
        sources=tuple(sources or ()),
        writable=writable,
    )


async def create(ctx: StoreContext, config: ObjectStoreConfig) -> ObjectStore:
    """Create a bucket (or bind to one that exists with the same config)."""
    try:
        info = await ctx.js.stream_create(wire.stream_config(config), bucket=config.bucket)
    except JetStreamAPIError as exc:
        if exc.err_code == ERR_STREAM_NAME_IN_USE:
            raise BucketExistsError(config.bucket) from exc
        raise
    return ObjectStore(ctx, config.bucket, info)


async def update(
    ctx: StoreContext, bucket: str | ObjectStoreConfig, changes: Mapping[str, Any]
) -> ObjectStore:
    """Change a bucket's config: a whole new config, or the `changes` that are not None.

    `add_sources` / `remove_sources` edit an aggregate's (or a plain bucket's) origins; a
    mirror's block is sent back as the server has it (it cannot change after creation).
    """
    name = bucket.bucket if isinstance(bucket, ObjectStoreConfig) else bucket
    wire.validate_bucket_name(name)
    current = await ctx.js.stream_info(wire.stream_name(name), bucket=name)
    now = current["config"]
    if isinstance(bucket, ObjectStoreConfig):
        config = bucket
    else:
        fields = {k: v for k, v in changes.items() if v is not None}
        add = tuple(fields.pop("add_sources", ()))
        remove = tuple(fields.pop("remove_sources", ()))
        if "sources" in fields:
            fields["sources"] = tuple(fields["sources"])
        base = replace(wire.config_from_stream(now), writable=not wire.is_read_only(now))
        config = ObjectStoreConfig(**{**base.__dict__, **fields})
        if add or remove:
            config = replace(config, sources=edited_sources(name, config.sources, add, remove))
    info = await ctx.js.stream_update(updated_stream_config(now, config), bucket=name)
    return ObjectStore(ctx, name, info)


def edited_sources(
    bucket: str, sources: Sequence[Origin], add: Sequence[Origin], remove: Sequence[Origin]
) -> tuple[Origin, ...]:
    """`sources` without `remove` (an origin given without domain or API matches by name) and
    with `add`."""
    kept = list(sources)
    for gone in remove:
        match = [o for o in kept if o.bucket == gone.bucket and gone.api in (None, o.api)]
        if not match:
            have = ", ".join(o.describe() for o in kept) or "none"
            raise InvalidReplicationError(
                f"bucket {bucket!r} has no source {gone.describe()} (its sources: {have})"
            )
        kept = [o for o in kept if o not in match]
    return (*kept, *add)


def updated_stream_config(now: Mapping[str, Any], config: ObjectStoreConfig) -> dict[str, Any]:
    """The stream config that turns the stream's config `now` into `config`."""
    if now.get("mirror") and (config.mirror is None or config.sources):
        raise InvalidReplicationError(
            f"bucket {config.bucket!r} is a mirror: its origin cannot be changed or removed"
        )
    new = wire.stream_config(config)
    doc = {**now, **new}
    for key in ("subjects", "sources", "mirror"):
        if key not in new:
            doc.pop(key, None)
    if now.get("mirror"):
        doc["mirror"] = now["mirror"]  # as the server echoes it: a mirror block is fixed
    if new.get("sources"):
        # unchanged origins keep the block the server has (with its echoed defaults)
        have = {_source_key(b): b for b in now.get("sources") or []}
        doc["sources"] = [have.get(_source_key(b), b) for b in new["sources"]]
    return doc


def _source_key(block: Mapping[str, Any]) -> tuple[str, str]:
    external = block.get("external") or {}
    transforms = block.get("subject_transforms") or []
    return (
        str(block.get("name")),
        str(external.get("api") or "")
        + "|"
        + repr([(t.get("src"), t.get("dest")) for t in transforms]),
    )


async def bind(ctx: StoreContext, bucket: str) -> ObjectStore:
    """The bucket's store; BucketNotFoundError if there is none."""
    wire.validate_bucket_name(bucket)
    info = await ctx.js.stream_info(wire.stream_name(bucket), bucket=bucket)
    return ObjectStore(ctx, bucket, info)


async def delete(ctx: StoreContext, bucket: str) -> None:
    """Delete a bucket and everything in it (purges still pending for it are dropped)."""
    wire.validate_bucket_name(bucket)
    await ctx.js.stream_delete(wire.stream_name(bucket), bucket=bucket)
    ctx.janitor.forget_bucket(bucket)


async def names(ctx: StoreContext) -> list[str]:
    """Names of every bucket in the account, mirrors, replicas and aggregates included.

    Listing by subject finds only streams with subjects of their own: a mirror (and a
    read-only aggregate) has none. So the `OBJ_*` streams it missed are looked at one by one
    (there are few: only copies and foreign streams named like buckets).
    """
    with_subjects = await ctx.js.stream_names(subject=wire.ALL_BUCKETS_CHUNKS)
    found = {b for b in (wire.bucket_from_stream(n) for n in with_subjects) if b}
    missed = [n for n in await ctx.js.stream_names() if wire.bucket_from_stream(n)]
    for stream in missed:
        bucket = wire.bucket_from_stream(stream)
        if bucket in found:
            continue
        info = await ctx.js.stream_info(stream, bucket=bucket)
        if wire.copies_a_bucket(info.get("config") or {}):
            found.add(bucket)  # type: ignore[arg-type]
    return sorted(found)


async def statuses(ctx: StoreContext) -> list[ObjectStoreStatus]:
    """Status of every bucket in the account, mirrors, replicas and aggregates included."""
    infos = await ctx.js.stream_list(subject=wire.ALL_BUCKETS_CHUNKS)
    named = {(i.get("config") or {}).get("name") for i in infos}
    infos += [
        i
        for i in await ctx.js.stream_list()
        if (i.get("config") or {}).get("name") not in named
        and wire.copies_a_bucket(i.get("config") or {})
    ]
    found = []
    for info in infos:
        bucket = wire.bucket_from_stream(info.get("config", {}).get("name", ""))
        if bucket:
            found.append(wire.status_from_stream(bucket, info))
    return sorted(found, key=lambda s: s.bucket)
