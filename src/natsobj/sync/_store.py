"""The blocking ObjectStore: one twin per method of the async ObjectStore.

Each method runs the async method of the same name on natsobj's loop thread; open() and watch()
hand out the blocking file objects (_files) and watcher (_watch).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, Literal, overload

from .. import ObjectInfo, ObjectMeta, ObjectStoreStatus, OrphanChunks
from .. import ObjectStore as _AsyncObjectStore
from ._files import READ_AHEAD, WRITE_BUFFER, ObjectReader, ObjectWriter
from ._loop import CALL_TIMEOUT, on_loop, run
from ._runs import ChunkRuns
from ._types import ProgressCallback, PutSource
from ._watch import ObjectWatcher


class ObjectStore:
    """A bucket of objects, blocking. Get one from Client.create_object_store()/object_store()."""

    def __init__(self, astore: _AsyncObjectStore) -> None:
        self.aio = astore
        """The async ObjectStore underneath."""

    def __repr__(self) -> str:
        return f"natsobj.sync.ObjectStore(bucket={self.bucket!r})"

    @property
    def bucket(self) -> str:
        return self.aio.bucket

    @property
    def read_only(self) -> bool:
        """True for a mirror, a replica or a read-only aggregate: every write API raises
        BucketReadOnlyError at once."""
        return self.aio.read_only

    @property
    def runs(self) -> ChunkRuns:
        """Objects written in pieces at different times, then committed once (see ChunkRuns).
        Writes through it are refused on a bucket that copies another, as any write."""
        return ChunkRuns(self.aio.runs)

    @property
    def kind(self) -> str | None:
        """ "mirror", "replica", "aggregate", or None for a plain bucket."""
        return self.aio.kind

    @property
    def name(self) -> str:
        return self.aio.name

    def put(
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
        before_commit: Callable[[ObjectInfo], Any] | None = None,
    ) -> ObjectInfo:
        """Store `data` under `name`, all or nothing, and return the new info.

        `data` is bytes, str, a binary file, a pathlib.Path, or a sync or async iterable of
        bytes; it is streamed, never held whole in memory. On any failure the new chunks are
        purged and the previous version stays readable.

        `if_revision`: store only over that revision of the name (`info.revision`), or with 0
        only if the name has no live object; else RevisionMismatchError, atomically (two
        writers can't both win). `before_commit(info)` runs once every chunk is stored: it may
        raise to refuse the put (nothing is stored) or return headers to add to the meta.

        Blocking: a file or iterable source is read on natsobj's loop thread, and
        `before_commit` is a plain function run there.
        """
        return run(
            self.aio.put(
                name,
                data,
                description=description,
                headers=headers,
                metadata=metadata,
                chunk_size=chunk_size,
                meta=meta,
                progress=progress,
                if_revision=if_revision,
                before_commit=on_loop(before_commit),
            )
        )

    def put_file(
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
        return run(self.aio.put_file(path, name, resume=resume, **kwargs))

    def get(self, name: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """The object's bytes (or `length` bytes from `offset`), verified.

        A full read checks size, chunk count and digest. A range past the end returns b"".
        """
        return run(self.aio.get(name, offset=offset, length=length))

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at the end of the object)."""
        return run(self.aio.read_range(name, offset, length))

    def get_file(
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
        return run(self.aio.get_file(name, path, progress=progress, resume=resume))

    def put_many(
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

        Blocking: file and iterable sources are read on natsobj's loop thread.
        """
        return run(
            self.aio.put_many(items, concurrency=concurrency, progress=progress, **put_options)
        )

    def get_many(
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
        return run(self.aio.get_many(names, directory, concurrency=concurrency, progress=progress))

    @overload
    def open(
        self, name: str, mode: Literal["rb"] = ..., *, buffer_size: int | None = ...
    ) -> ObjectReader: ...

    @overload
    def open(
        self, name: str, mode: Literal["wb"], *, buffer_size: int | None = ..., **put_options: Any
    ) -> ObjectWriter: ...

    def open(
        self,
        name: str,
        mode: str = "rb",
        *,
        buffer_size: int | None = None,
        **put_options: Any,
    ) -> ObjectReader | ObjectWriter:
        """A binary file on the object: "rb" seekable reader, "wb" streaming writer.

        Reading fetches byte ranges on demand (with `buffer_size` bytes of read-ahead).
        Writing streams a put that commits on close(); an exception escaping the `with` block
        aborts it, leaving no object and no chunks. `put_options` (description, headers,
        metadata, chunk_size) go to put().

        Unlike the async open() (a streaming reader of `length` bytes from `offset`), this
        returns a file object (io.BufferedIOBase): seek(offset), then read(length).
        """
        if mode == "rb":
            if put_options:
                raise TypeError(f"unexpected arguments for mode 'rb': {sorted(put_options)}")
            size = READ_AHEAD if buffer_size is None else buffer_size
            return ObjectReader(self, name, buffer_size=size)
        if mode == "wb":
            size = WRITE_BUFFER if buffer_size is None else buffer_size
            return ObjectWriter(self, name, buffer_size=size, **put_options)
        raise ValueError(f"invalid mode {mode!r}: use 'rb' or 'wb'")

    def get_info(self, name: str, *, show_deleted: bool = False) -> ObjectInfo:
        """The object's info; ObjectNotFoundError if missing (or deleted, unless show_deleted)."""
        return run(self.aio.get_info(name, show_deleted=show_deleted), CALL_TIMEOUT)

    def resolve(self, name: str) -> ObjectInfo:
        """The info of the object that holds `name`'s bytes: object links are followed (across
        buckets too), anything else is its own info. LinkIsABucketError for a bucket link,
        ObjectNotFoundError if the object or a link's target is missing or deleted."""
        return run(self.aio.resolve(name), CALL_TIMEOUT)

    def delete(self, name: str, *, if_revision: int | None = None) -> ObjectInfo:
        """Replace the object by a tombstone and purge its chunks (a no-op if already deleted).

        `if_revision`: delete only that revision (`info.revision`) of the live object,
        atomically; RevisionMismatchError if another is there (or none)."""
        return run(self.aio.delete(name, if_revision=if_revision), CALL_TIMEOUT)

    def list(self, *, show_deleted: bool = False) -> list[ObjectInfo]:
        """Every object in the bucket ([] when there are none), deleted ones on request."""
        return run(self.aio.list(show_deleted=show_deleted))

    def meta_names(self) -> list[str]:
        """Every name with a meta in the bucket, sorted, from one STREAM.INFO and no meta read:
        the live objects and the delete markers kept for deleted ones (get_infos tells them
        apart). For paging through big buckets; list() reads every meta."""
        return run(self.aio.meta_names())

    def get_infos(
        self, names: Iterable[str], *, show_deleted: bool = False
    ) -> dict[str, ObjectInfo]:
        """The infos of the objects among `names`, by batched direct gets (1024 metas per
        request); missing names, and deleted ones unless show_deleted, are left out."""
        return run(self.aio.get_infos(names, show_deleted=show_deleted))

    def watch(
        self,
        *,
        include_history: bool = False,
        ignore_deletes: bool = False,
        updates_only: bool = False,
        initial_marker: bool = True,
        idle_timeout: float | None = None,
    ) -> ObjectWatcher:
        """Changes as they happen: `for info in store.watch():`.

        First the current objects (all history with include_history), then None once as the
        initial-state marker (unless updates_only or initial_marker=False), then live updates.

        Blocking: iteration blocks until the next change; with `idle_timeout` it ends after
        that many seconds without one. close() (from any thread) ends it too.
        """
        return ObjectWatcher(
            self,
            dict(
                include_history=include_history,
                ignore_deletes=ignore_deletes,
                updates_only=updates_only,
                initial_marker=initial_marker,
            ),
            idle_timeout=idle_timeout,
        )

    def update_meta(self, name: str, meta: ObjectMeta) -> ObjectInfo:
        """Replace name, description, headers and metadata; a new name renames the object."""
        return run(self.aio.update_meta(name, meta), CALL_TIMEOUT)

    def rename(self, name: str, new_name: str, *, overwrite: bool = False) -> ObjectInfo:
        """Give an object a new name, keeping its data, description, headers and metadata.

        A live object at `new_name` raises ObjectAlreadyExistsError, unless overwrite=True:
        then it is replaced all or nothing, as a put replaces it.
        """
        return run(self.aio.rename(name, new_name, overwrite=overwrite), CALL_TIMEOUT)

    def add_link(self, name: str, target: ObjectInfo) -> ObjectInfo:
        """Make `name` a link to the object `target` (in this or another bucket)."""
        return run(self.aio.add_link(name, target), CALL_TIMEOUT)

    def add_bucket_link(self, name: str, target: ObjectStore | str) -> ObjectInfo:
        """Make `name` a link to a whole bucket."""
        bucket = target.bucket if isinstance(target, ObjectStore) else target
        return run(self.aio.add_bucket_link(name, bucket), CALL_TIMEOUT)

    def status(self) -> ObjectStoreStatus:
        """The bucket's configuration and usage."""
        return run(self.aio.status(), CALL_TIMEOUT)

    def seal(self) -> ObjectStoreStatus:
        """Make the bucket read-only for good."""
        return run(self.aio.seal(), CALL_TIMEOUT)

    def orphan_chunk_subjects(self, *, min_age: timedelta = timedelta(0)) -> dict[str, int]:
        """Chunk subjects no meta points to, with their message counts: those purge_orphans
        would remove.

        Failed or interrupted puts leave these. A put still in progress has them too: pass
        `min_age` to keep subjects whose newest chunk is younger than that. In a copy (mirror,
        replica, aggregate) only those its origins confirm they no longer have; see
        orphan_chunks() for the ones kept and why.
        """
        return run(self.aio.orphan_chunk_subjects(min_age=min_age))

    def orphan_chunks(self, *, min_age: timedelta = timedelta(0)) -> OrphanChunks:
        """Every chunk subject no meta points to, sorted into removable ones and ones kept.

        In a copy each is checked with the origins, asked through the copy's API prefix or
        domain: removable once no origin has it (purges at an origin never reach a copy); kept
        if an origin still has it (an upload in flight there) or cannot be asked. The age is
        no evidence in a copy: chunks carry the origin's times.
        """
        return run(self.aio.orphan_chunks(min_age=min_age))

    def read_hazards(self) -> list[str]:
        """Streams in this JetStream that break reads of this bucket, each with what to do:
        a same-domain mirror of it that renames its subjects and has mirror_direct on answers
        some of its direct gets with 'not found'. [] when there are none."""
        return run(self.aio.read_hazards())

    def purge_orphans(self, *, min_age: timedelta = timedelta(minutes=10)) -> int:
        """Purge orphan chunk subjects older than `min_age`; returns the messages removed.

        The default age spares puts in progress (and resumable uploads being resumed). In a
        copy, only the orphans its origins confirm gone are purged, whatever their age;
        OriginUnreachableError (nothing purged) if an origin cannot be asked.
        """
        return run(self.aio.purge_orphans(min_age=min_age))

    def copy(self, name: str, new_name: str, *, to: ObjectStore | None = None) -> ObjectInfo:
        """Copy an object (bytes, description, headers, metadata) to `new_name` here or in
        bucket `to`, streaming it through this client. Links are followed."""
        return run(self.aio.copy(name, new_name, to=to.aio if to is not None else None))
