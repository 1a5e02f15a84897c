"""Buckets: create, bind, update, list and delete the streams behind object stores."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .. import _wire as wire
from .._jetstream import ERR_STREAM_NAME_IN_USE
from .._wire.errors import BucketExistsError, JetStreamAPIError
from .._wire.models import ObjectStoreConfig, ObjectStoreStatus
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
    """Change a bucket's config: a whole new config, or the `changes` that are not None."""
    name = bucket.bucket if isinstance(bucket, ObjectStoreConfig) else bucket
    wire.validate_bucket_name(name)
    current = await ctx.js.stream_info(wire.stream_name(name), bucket=name)
    if isinstance(bucket, ObjectStoreConfig):
        config = bucket
    else:
        base = wire.config_from_stream(current["config"])
        fields = {k: v for k, v in changes.items() if v is not None}
        config = ObjectStoreConfig(**{**base.__dict__, **fields})
    stream_cfg = {**current["config"], **wire.stream_config(config)}
    info = await ctx.js.stream_update(stream_cfg, bucket=name)
    return ObjectStore(ctx, name, info)


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
    """Names of every bucket in the account."""
    streams = await ctx.js.stream_names(subject=wire.ALL_BUCKETS_CHUNKS)
    return sorted(b for b in (wire.bucket_from_stream(n) for n in streams) if b)


async def statuses(ctx: StoreContext) -> list[ObjectStoreStatus]:
    """Status of every bucket in the account."""
    infos = await ctx.js.stream_list(subject=wire.ALL_BUCKETS_CHUNKS)
    found = []
    for info in infos:
        bucket = wire.bucket_from_stream(info.get("config", {}).get("name", ""))
        if bucket:
            found.append(wire.status_from_stream(bucket, info))
    return sorted(found, key=lambda s: s.bucket)
