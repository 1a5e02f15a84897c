"""ObjectStore: one bucket's objects, the public face of the store layer.

Each method checks its arguments and delegates: puts to `put` (the protocol), reads to
`reading`, listings and watches to `listing`, orphan chunks to `collect`, tombstones, renames
and links to `changes`, many objects at once to `many`. The rules live there, each in one place.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from .. import _wire as wire
from .._transfer import ProgressCallback, PutSource, iter_source
from .._wire.models import ObjectInfo, ObjectMeta, ObjectStoreStatus
from .._wire.replication import OrphanChunks
from . import changes, collect, listing, many, reading
from . import names as _names
from .bucket import Bucket
from .compose import ChunkRuns
from .context import StoreContext
from .listing import ObjectWatcher
from .put import BeforeCommit, OneChunk, PutRequest, Streamed, put_object
from .reading import ObjectReader
from .resume import put_file_resumable

T = TypeVar("T")


def _writes(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Marks a write API: refused before it sends anything on a bucket that copies another
    (the rule is Bucket.refuse_writes, known from the stream info the store was bound with)."""

    @functools.wraps(method)
    async def write(self: ObjectStore, *args: Any, **kwargs: Any) -> T:
        self._bucket.refuse_writes()
        return await method(self, *args, **kwargs)

    return write


class ObjectStore:
    """A bucket of objects. Get one from Client.create_object_store() or Client.object_store()."""

    def __init__(
        self, client: StoreContext | Any, bucket: str, stream_info: Mapping[str, Any]
    ) -> None:
        """`client`: a natsobj.Client (or its `store_context`)."""
        ctx = client if isinstance(client, StoreContext) else client.store_context
        self._bucket = Bucket(ctx, bucket, stream_info)
        self._js = ctx.js
        self.bucket = bucket
        self.stream = wire.stream_name(bucket)

    def __repr__(self) -> str:
        return f"ObjectStore(bucket={self.bucket!r})"

    @property
    def name(self) -> str:
        return self.bucket

    @property
    def read_only(self) -> bool:
        """True for a mirror, a replica or a read-only aggregate: every write API raises
        BucketReadOnlyError at once."""
        return self._bucket.read_only_reason is not None

    @property
    def runs(self) -> ChunkRuns:
        """Objects written in pieces at different times, then committed once (see ChunkRuns).
        Writes through it are refused on a bucket that copies another, as any write."""
        self._bucket.refuse_writes()
        return ChunkRuns(self._bucket)

    @property
    def kind(self) -> str | None:
        """ "mirror", "replica", "aggregate", or None for a plain bucket."""
        return wire.kind_of(self._bucket.stream_info.get("config") or {})

    # -----------------------------------------------------------------------------------------
    # put

    @_writes
    async def put(
        self,
        name: str,
        data: PutSource,
        *,
        description: str | None = None,
        headers: Mapping[str, list[str] | str] | None = None,
        metadata: Mapping[str, str] | None = None,
        chunk_size: int | None = None,
        meta: ObjectMeta | None = None,
        progress: ProgressCallback | None = None,
        if_revision: int | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> ObjectInfo:
        """Store `data` under `name`, all or nothing, and return the new info.

        `data` is bytes, str, a binary file, a pathlib.Path, or a sync or async iterable of
        bytes; it is streamed, never held whole in memory. On any failure the new chunks are
        purged and the previous version stays readable.

        `if_revision`: store only over that revision of the name (`info.revision`), or with 0
        only if the name has no live object; else RevisionMismatchError, atomically (two
        writers can't both win). `before_commit(info)` runs once every chunk is stored: it may
        raise to refuse the put (nothing is stored) or return headers to add to the meta.
        """
        request = PutRequest.make(
            name,
            max_payload=self._bucket.ctx.max_payload,
            chunk_size=chunk_size,
            description=description,
            headers=headers,
            metadata=metadata,
            meta=meta,
            if_revision=if_revision,
            before_commit=before_commit,
        )
        if isinstance(data, str):
            data = data.encode("utf-8")
        upload: OneChunk | Streamed
        if isinstance(data, (bytes, bytearray, memoryview)) and len(data) <= request.chunk_size:
            upload = OneChunk(self._bucket, bytes(data))
        else:
            upload = Streamed(self._bucket, iter_source(data, request.chunk_size))
        return await put_object(self._bucket, request, upload, progress=progress)

    @_writes
    async def put_file(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        resume: bool = False,
        **kwargs: Any,
    ) -> ObjectInfo:
        """Store a local file; the object name defaults to the file's name.

        With resume=True an interrupted upload of the same, unchanged file continues from its
        last checkpoint, and a failure keeps the chunks sent so far for the next attempt.
        """
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"no such file: {source}")
        if resume:
            return await put_file_resumable(self._bucket, source, name or source.name, **kwargs)
        return await self.put(name or source.name, source, **kwargs)

    @_writes
    async def put_many(
        self,
        items: Mapping[str, PutSource] | Iterable[tuple[str, PutSource]],
        *,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        **put_options: Any,
    ) -> list[ObjectInfo]:
        """Put many objects, at most `concurrency` at a time; infos in the order given.

        The first failure cancels the puts still running (each rolls back) and is raised.
        Objects of at most one chunk (bytes or str) go through a pipeline that keeps
        `concurrency` of them in flight without a task each.
        """
        return await many.put_many(
            self._bucket,
            items,
            concurrency=concurrency,
            progress=progress,
            put_options=put_options,
            put=self.put,
            put_file=self.put_file,
        )

    # -----------------------------------------------------------------------------------------
    # get

    async def get_info(self, name: str, *, show_deleted: bool = False) -> ObjectInfo:
        """The object's info; ObjectNotFoundError if missing (or deleted, unless show_deleted)."""
        return await self._bucket.get_info(name, show_deleted=show_deleted)

    async def resolve(self, name: str) -> ObjectInfo:
        """The info of the object that holds `name`'s bytes: object links are followed (across
        buckets too), anything else is its own info. LinkIsABucketError for a bucket link,
        ObjectNotFoundError if the object or a link's target is missing or deleted."""
        return (await reading.resolve(self._bucket, name))[1]

    async def get(self, name: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """The object's bytes (or `length` bytes from `offset`), verified.

        A full read checks size, chunk count and digest. A range past the end returns b"".
        """
        return await reading.get_bytes(self._bucket, name, offset=offset, length=length)

    async def read_range(self, name: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at the end of the object)."""
        return await self.get(name, offset=offset, length=length)

    def open(self, name: str, *, offset: int = 0, length: int | None = None) -> ObjectReader:
        """A streaming reader: `async with store.open(name) as r:` then iterate or read(n)."""
        return ObjectReader(self._bucket, name, offset=offset, length=length)

    async def get_file(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
        resume: bool = False,
    ) -> ObjectInfo:
        """Download to `path` via a temporary file renamed into place once it verifies.

        With resume=True, bytes left by an interrupted download of the same version are kept
        and only the rest is fetched; the whole file's digest is still checked.
        """
        return await reading.get_file(self._bucket, name, path, progress=progress, resume=resume)

    async def get_many(
        self,
        names: Iterable[str] | Mapping[str, str | os.PathLike[str]],
        directory: str | os.PathLike[str] | None = None,
        *,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
    ) -> dict[str, bytes] | list[ObjectInfo]:
        """Get many objects, at most `concurrency` at a time.

        Given a mapping of name to local path, each object is downloaded there; given names
        and a `directory`, to `directory/<name>` (its '/' become folders); either way the
        infos are returned. Given only names, a dict of name to bytes.
        """
        plan = many.download_plan(names, directory)
        if plan is None:
            wanted = list(names)
            blobs = await many.bounded(concurrency, [_call(self.get, n) for n in wanted])
            return dict(zip(wanted, blobs, strict=True))
        for _, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
        jobs = [_call(self.get_file, n, t, progress=progress) for n, t in plan]
        return await many.bounded(concurrency, jobs)

    # -----------------------------------------------------------------------------------------
    # delete, list, watch

    @_writes
    async def delete(self, name: str, *, if_revision: int | None = None) -> ObjectInfo:
        """Replace the object by a tombstone and purge its chunks (a no-op if already deleted).

        `if_revision`: delete only that revision (`info.revision`) of the live object,
        atomically; RevisionMismatchError if another is there (or none)."""
        return await changes.delete(self._bucket, name, if_revision=if_revision)

    async def list(self, *, show_deleted: bool = False) -> list[ObjectInfo]:
        """Every object in the bucket ([] when there are none), deleted ones on request."""
        return await listing.list_objects(self._bucket, show_deleted=show_deleted)

    async def meta_names(self) -> list[str]:
        """Every name with a meta in the bucket, sorted, from one STREAM.INFO and no meta read:
        the live objects and the delete markers kept for deleted ones (get_infos tells them
        apart). For paging through big buckets; list() reads every meta."""
        return await _names.meta_names(self._bucket)

    async def get_infos(
        self, names: Iterable[str], *, show_deleted: bool = False
    ) -> dict[str, ObjectInfo]:
        """The infos of the objects among `names`, by batched direct gets (1024 metas per
        request); missing names, and deleted ones unless show_deleted, are left out."""
        return await _names.get_infos(self._bucket, names, show_deleted=show_deleted)

    def watch(
        self,
        *,
        include_history: bool = False,
        ignore_deletes: bool = False,
        updates_only: bool = False,
        initial_marker: bool = True,
    ) -> ObjectWatcher:
        """Changes as they happen: `async for info in store.watch():`.

        First the current objects (all history with include_history), then None once as the
        initial-state marker (unless updates_only or initial_marker=False), then live updates.
        """
        return ObjectWatcher(
            self._bucket,
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            updates_only=updates_only,
            initial_marker=initial_marker,
        )

    # -----------------------------------------------------------------------------------------
    # meta, links

    @_writes
    async def update_meta(self, name: str, meta: ObjectMeta) -> ObjectInfo:
        """Replace name, description, headers and metadata; a new name renames the object."""
        return await changes.update_meta(self._bucket, name, meta)

    @_writes
    async def rename(self, name: str, new_name: str, *, overwrite: bool = False) -> ObjectInfo:
        """Give an object a new name, keeping its data, description, headers and metadata.

        A live object at `new_name` raises ObjectAlreadyExistsError, unless overwrite=True:
        then it is replaced all or nothing, as a put replaces it.
        """
        info = await self.get_info(name)
        meta = replace(info.meta, name=new_name)
        return await changes.update_meta(self._bucket, name, meta, overwrite=overwrite)

    async def copy(self, name: str, new_name: str, *, to: ObjectStore | None = None) -> ObjectInfo:
        """Copy an object (bytes, description, headers, metadata) to `new_name` here or in
        bucket `to`, streaming it through this client. Links are followed."""
        async with self.open(name) as reader:
            info = reader.info
            assert info is not None
            return await (to or self).put(
                new_name,
                reader,
                description=info.description,
                headers=info.headers,
                metadata=info.metadata,
                chunk_size=info.chunk_size or None,
            )

    @_writes
    async def add_link(self, name: str, target: ObjectInfo) -> ObjectInfo:
        """Make `name` a link to the object `target` (in this or another bucket)."""
        return await changes.add_link(self._bucket, name, target)

    @_writes
    async def add_bucket_link(self, name: str, target: ObjectStore | str) -> ObjectInfo:
        """Make `name` a link to a whole bucket."""
        bucket = target.bucket if isinstance(target, ObjectStore) else target
        return await changes.add_bucket_link(self._bucket, name, bucket)

    # -----------------------------------------------------------------------------------------
    # bucket

    async def status(self) -> ObjectStoreStatus:
        """The bucket's configuration and usage."""
        await self._bucket.settle()  # the purges of replaced versions this client started
        info = await self._js.stream_info(
            self.stream, bucket=self.bucket, subjects_filter=wire.all_meta_subject(self.bucket)
        )
        status = wire.status_from_stream(self.bucket, info)
        if status.replication is None:
            return status
        seqs = await asyncio.gather(
            *(collect.origin_last_seq(self._bucket, o.origin) for o in status.replication.origins)
        )
        return replace(status, replication=wire.with_origin_seqs(status.replication, list(seqs)))

    @_writes
    async def seal(self) -> ObjectStoreStatus:
        """Make the bucket read-only for good."""
        await self._bucket.settle()  # after a seal, no purge could remove replaced chunks
        info = await self._js.stream_info(self.stream, bucket=self.bucket)
        config = dict(info["config"])
        config["sealed"] = True
        updated = await self._js.stream_update(config, bucket=self.bucket)
        return wire.status_from_stream(self.bucket, updated)

    async def orphan_chunk_subjects(self, *, min_age: timedelta = timedelta(0)) -> dict[str, int]:
        """Chunk subjects no meta points to, with their message counts: those purge_orphans
        would remove.

        Failed or interrupted puts leave these. A put still in progress has them too: pass
        `min_age` to keep subjects whose newest chunk is younger than that. In a copy (mirror,
        replica, aggregate) only those its origins confirm they no longer have; see
        orphan_chunks() for the ones kept and why.
        """
        return dict((await self.orphan_chunks(min_age=min_age)).removable)

    async def orphan_chunks(self, *, min_age: timedelta = timedelta(0)) -> OrphanChunks:
        """Every chunk subject no meta points to, sorted into removable ones and ones kept.

        In a copy each is checked with the origins, asked through the copy's API prefix or
        domain: removable once no origin has it (purges at an origin never reach a copy); kept
        if an origin still has it (an upload in flight there) or cannot be asked. The age is
        no evidence in a copy: chunks carry the origin's times.
        """
        await self._bucket.settle()
        return await collect.orphan_chunks(self._bucket, min_age=min_age)

    async def read_hazards(self) -> list[str]:
        """Streams in this JetStream that break reads of this bucket, each with what to do:
        a same-domain mirror of it that renames its subjects and has mirror_direct on answers
        some of its direct gets with 'not found'. [] when there are none."""
        return await collect.read_hazards(self._bucket)

    async def purge_orphans(self, *, min_age: timedelta = timedelta(minutes=10)) -> int:
        """Purge orphan chunk subjects older than `min_age`; returns the messages removed.

        The default age spares puts in progress (and resumable uploads being resumed). In a
        copy, only the orphans its origins confirm gone are purged, whatever their age;
        OriginUnreachableError (nothing purged) if an origin cannot be asked.
        """
        await self._bucket.settle()
        return await collect.purge_orphans(self._bucket, min_age=min_age)


def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """A job for many.bounded: `method(*args, **kwargs)` when called."""
    return lambda: method(*args, **kwargs)
