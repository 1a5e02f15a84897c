"""Changes to metas that move no bytes: delete (a tombstone), update_meta and rename, links.

Each commits through `committer.commit`, like a put. Their metas carry the rollup only, as
every client sends them, except a rename over an existing name (`overwrite=True`), which is
guarded by the sequence of the meta it replaces, as a put is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from .. import _wire as wire
from .._transfer import purge_subject
from .._wire.errors import (
    InvalidObjectNameError,
    NoLinkToDeletedError,
    NoLinkToLinkError,
    ObjectAlreadyExistsError,
    ObjectNotFoundError,
    RevisionMismatchError,
    UpdateMetaDeletedError,
)
from .._wire.models import ObjectInfo, ObjectLink, ObjectMeta, ObjectMetaOptions
from .bucket import Bucket
from .commit import Guard
from .committer import commit
from .put import normalize_headers


async def delete(bucket: Bucket, name: str, *, if_revision: int | None = None) -> ObjectInfo:
    """Replace the object by a tombstone and purge its chunks (a no-op if already deleted).

    `if_revision`: delete only that revision of the live object, atomically (the tombstone is
    guarded by its sequence, as a conditional put is); RevisionMismatchError otherwise."""
    info = await bucket.find_info(name)
    if info is None:
        raise ObjectNotFoundError(bucket.name, name)
    guard, strict = Guard.unguarded(), False
    if if_revision is not None:
        current = None if info.deleted else info.revision
        if current != if_revision:
            raise RevisionMismatchError(bucket.name, name, if_revision, current)
        guard, strict = Guard.over(info), True
    tombstone = replace(
        info,
        name=name,
        bucket=bucket.name,
        size=0,
        chunks=0,
        digest=None,
        deleted=True,
        mtime=datetime.now(timezone.utc),
    )
    stored = await commit(
        bucket, tombstone, guard, identifiable=False, purge_replaced=False, strict=strict
    )
    if info.nuid and not info.is_link:  # on the caller's path: delete frees the space
        await purge_subject(bucket.js, bucket.name, wire.chunk_subject(bucket.name, info.nuid))
    return stored


async def update_meta(
    bucket: Bucket, name: str, meta: ObjectMeta, *, overwrite: bool = False
) -> ObjectInfo:
    """Replace name, description, headers and metadata; a new name renames the object.

    Renaming onto a live object raises ObjectAlreadyExistsError, unless `overwrite`: then the
    object there is replaced all or nothing, as a put replaces it (its chunks are purged).
    """
    try:
        info = await bucket.get_info(name)
    except ObjectNotFoundError:
        raise UpdateMetaDeletedError(bucket.name, name) from None
    new_name = meta.name or name
    wire.validate_object_name(new_name)
    guard = Guard.unguarded()
    if new_name != name:
        existing = await bucket.find_info(new_name)
        if existing is not None and not existing.deleted and not overwrite:
            raise ObjectAlreadyExistsError(bucket.name, new_name)
        if overwrite:
            guard = Guard.over(existing)
    updated = replace(
        info,
        name=new_name,
        bucket=bucket.name,
        description=meta.description or None,
        headers=normalize_headers(meta.headers),
        metadata=dict(meta.metadata or {}),
        mtime=datetime.now(timezone.utc),
    )
    stored = await commit(bucket, updated, guard, identifiable=False, purge_replaced=overwrite)
    if new_name != name:
        old_subject = wire.meta_subject(bucket.name, name)
        await purge_subject(bucket.js, bucket.name, old_subject)
        bucket.known.removed(old_subject)
    return stored


async def check_link_name(bucket: Bucket, name: str) -> None:
    """A link may take a free name, a deleted one, or replace a link; not a live object."""
    wire.validate_object_name(name)
    existing = await bucket.find_info(name)
    if existing is not None and not existing.deleted and not existing.is_link:
        raise ObjectAlreadyExistsError(bucket.name, name)


async def add_link(bucket: Bucket, name: str, target: ObjectInfo) -> ObjectInfo:
    """Make `name` a link to the object `target` (in this or another bucket)."""
    if target is None or not target.name:
        raise InvalidObjectNameError("add_link needs the info of the object to link to")
    if target.deleted:
        raise NoLinkToDeletedError(target.name)
    if target.is_link:
        raise NoLinkToLinkError(target.name)
    await check_link_name(bucket, name)
    return await _publish_link(bucket, name, ObjectLink(bucket=target.bucket, name=target.name))


async def add_bucket_link(bucket: Bucket, name: str, target: str) -> ObjectInfo:
    """Make `name` a link to the whole bucket `target`."""
    wire.validate_bucket_name(target)
    await check_link_name(bucket, name)
    return await _publish_link(bucket, name, ObjectLink(bucket=target))


async def _publish_link(bucket: Bucket, name: str, link: ObjectLink) -> ObjectInfo:
    info = ObjectInfo(
        name=name,
        bucket=bucket.name,
        nuid=wire.new_nuid(),
        size=0,
        chunks=0,
        mtime=datetime.now(timezone.utc),
        options=ObjectMetaOptions(link=link),
    )
    stored = await commit(bucket, info, Guard.unguarded(), purge_replaced=False)
    return stored
