"""Blocking API: the async natsobj API driven on one private event-loop thread.

    import natsobj.sync
    with natsobj.sync.connect() as client:
        store = client.create_object_store("media")
        store.put("hello.txt", b"hello")
        print(store.get("hello.txt"))

Every call runs the async core's coroutine on a daemon thread that owns natsobj's event loop
(one per process, started on first use), so it works from scripts, from many threads at once,
and from code that already runs an event loop (a Jupyter cell). Nothing here re-implements a
rule of the format: each method delegates to the async method of the same name.
Callbacks (progress) run on natsobj's loop thread and must not call back into this API.

The methods are written by hand, not generated: each keeps a real signature and type hints that
an IDE or type checker sees without a stub file (one that would drift in turn), and a wrapper
is more than a call: blocking stores in and out, file objects from open(), an iterator with an
idle timeout from watch(), a time bound on request-sized calls. tests/test_sync_parity.py holds
the two APIs together: every public async method of Client and ObjectStore needs a twin here
with the same parameters, defaults and docstring (notes for the blocking API go after it), or
an entry with its reason in that test's allow-list.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import io
import os
import threading
import warnings
import weakref
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from datetime import timedelta
from typing import Any, BinaryIO, Literal, TypeVar, overload

# Only the public package: the core's private modules are free to move.
from . import Client as _AsyncClient
from . import (
    IntegrityError,
    ObjectInfo,
    ObjectMeta,
    ObjectStoreConfig,
    ObjectStoreStatus,
    Origin,
    StoreTimeoutError,
    TransferSettings,
)
from . import ObjectStore as _AsyncObjectStore
from . import ObjectWatcher as _AsyncObjectWatcher
from . import connect as _aconnect

__all__ = ["Client", "ObjectReader", "ObjectStore", "ObjectWatcher", "ObjectWriter", "connect"]

T = TypeVar("T")

# The core's aliases, restated so that this shell imports no private module of the core
# (tests/test_sync_parity.py checks that they stay equal to the core's).
PutSource = (
    bytes
    | bytearray
    | memoryview
    | str
    | os.PathLike
    | BinaryIO
    | Iterable[bytes]
    | AsyncIterable[bytes]
)
"""What put() accepts: bytes, str, a binary file, a path, a sync or async iterable of bytes."""
ProgressCallback = Callable[[int], Any]
"""Called with the number of bytes just moved (on natsobj's loop thread)."""

CALL_TIMEOUT = 120.0
"""Upper bound on one request-sized call (info, delete, bucket ops), on top of the core's own
per-request timeouts. Transfers and listings have no overall bound: the core fails them when
the server stops answering (per-chunk and idle timeouts), however long they legitimately take."""

READ_AHEAD = 256 * 1024
"""Bytes a blocking reader fetches ahead of what was asked for."""

WRITE_BUFFER = 256 * 1024
"""Bytes a blocking writer collects before handing them to the put."""


# ---------------------------------------------------------------------------------------------
# the loop thread


class _LoopThread:
    """An event loop running forever on a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="natsobj-loop", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()


_lock = threading.Lock()
_runner: _LoopThread | None = None
_clients: weakref.WeakSet[Client] = weakref.WeakSet()
_writers: weakref.WeakSet[ObjectWriter] = weakref.WeakSet()


def _get_runner() -> _LoopThread:
    global _runner
    runner = _runner
    if runner is not None and runner.thread.is_alive():
        return runner
    with _lock:
        if _runner is None or not _runner.thread.is_alive():
            _runner = _LoopThread()
        return _runner


def _run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on the loop thread and wait for its result (at most `timeout` seconds)."""
    runner = _get_runner()
    if threading.current_thread() is runner.thread:
        coro.close()
        raise RuntimeError(
            "natsobj.sync was called from natsobj's own event-loop thread (from a progress "
            "callback or a put source?); use the async API there"
        )
    future = asyncio.run_coroutine_threadsafe(coro, runner.loop)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        if future.done() and not future.cancelled():
            return future.result()  # the coroutine's own result or error, not our bound
        future.cancel()
        raise StoreTimeoutError(
            f"no result after {timeout:.0f} s; the call was cancelled (is the server reachable?)"
        ) from None
    except BaseException:  # KeyboardInterrupt while waiting: stop the work too
        future.cancel()
        raise


def _schedule(coro: Coroutine[Any, Any, Any]) -> None:
    """Start `coro` on the loop thread without waiting (for __del__ and close paths)."""
    runner = _runner
    if runner is None or not runner.thread.is_alive() or runner.loop.is_closed():
        coro.close()
        return
    try:
        asyncio.run_coroutine_threadsafe(coro, runner.loop)
    except RuntimeError:  # the loop is shutting down
        coro.close()


@atexit.register
def _shutdown() -> None:
    """At exit: abort unclosed writers (no orphan chunks), drain connections, stop the loop."""
    runner = _runner
    if runner is None or not runner.thread.is_alive():
        return
    writers = [w for w in list(_writers) if not w._done]
    clients = list(_clients)

    async def shutdown() -> None:
        await asyncio.gather(*(w._abort() for w in writers), return_exceptions=True)
        await asyncio.gather(*(c.aio.close() for c in clients), return_exceptions=True)

    with contextlib.suppress(Exception):
        _run(shutdown(), timeout=5.0)
    runner.loop.call_soon_threadsafe(runner.loop.stop)
    runner.thread.join(timeout=5.0)


def _after_fork() -> None:
    # the loop thread does not exist in a child; a new one starts on first use
    global _runner, _lock
    _runner = None
    _lock = threading.Lock()
    _clients.clear()
    _writers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


# ---------------------------------------------------------------------------------------------
# client


def connect(
    servers: str | Sequence[str] | None = None,
    *,
    context: str | None = None,
    timeout: float | None = None,
    transfer: TransferSettings | None = None,
    **options: Any,
) -> Client:
    """Connect to NATS; same arguments as natsobj.connect(). Use as a context manager.

    With nothing configured: NATS_URL / NATS_CONTEXT, the selected natscli context, or the
    embedded server.
    """
    aclient = _run(
        _aconnect(servers, context=context, timeout=timeout, transfer=transfer, **options)
    )
    return Client(aclient)


class Client:
    """A blocking connection to NATS and its object stores. Use natsobj.sync.connect()."""

    def __init__(self, aclient: _AsyncClient) -> None:
        self.aio = aclient
        """The async Client underneath (its coroutines run on natsobj's loop thread)."""
        _clients.add(self)

    def __repr__(self) -> str:
        return f"natsobj.sync.Client({self.aio.nc.connected_url!r})"

    @property
    def max_payload(self) -> int:
        """The largest message the server accepts (bytes)."""
        return self.aio.max_payload

    @property
    def is_closed(self) -> bool:
        return bool(self.aio.nc.is_closed)

    def close(self) -> None:
        """Finish the purges of replaced versions, then close the connection if natsobj
        opened it."""
        _run(self.aio.close(), timeout=CALL_TIMEOUT)
        _clients.discard(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_object_store(
        self,
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
    ) -> ObjectStore:
        """Create a bucket (or bind to one that exists with the same config).

        `mirror=Origin(bucket, domain=...)` makes a read-only copy of a bucket in another
        JetStream domain (same name or renamed); in the same domain, a renamed copy is made as a
        one-source replica. `sources=[Origin(...), ...]` aggregates several buckets into this
        one (read-only unless `writable=True`).
        """
        store = _run(
            self.aio.create_object_store(
                bucket,
                description=description,
                ttl=ttl,
                max_bytes=max_bytes,
                storage=storage,
                replicas=replicas,
                compression=compression,
                placement=placement,
                metadata=metadata,
                mirror=mirror,
                sources=sources,
                writable=writable,
            ),
            CALL_TIMEOUT,
        )
        return ObjectStore(store)

    def update_object_store(
        self,
        bucket: str | ObjectStoreConfig,
        *,
        add_sources: Sequence[Origin] | None = None,
        remove_sources: Sequence[Origin] | None = None,
        **changes: Any,
    ) -> ObjectStore:
        """Change a bucket's description, ttl, max_bytes, replicas, compression or metadata,
        its `sources` (or `add_sources` / `remove_sources`) and `writable`; a mirror keeps its
        mirror block unchanged."""
        return ObjectStore(
            _run(
                self.aio.update_object_store(
                    bucket, add_sources=add_sources, remove_sources=remove_sources, **changes
                ),
                CALL_TIMEOUT,
            )
        )

    def create_or_update_object_store(self, bucket: str, **options: Any) -> ObjectStore:
        """Create the bucket, or update it to this config if it exists."""
        return ObjectStore(
            _run(self.aio.create_or_update_object_store(bucket, **options), CALL_TIMEOUT)
        )

    def object_store(self, bucket: str) -> ObjectStore:
        """Bind to an existing bucket; BucketNotFoundError if there is none."""
        return ObjectStore(_run(self.aio.object_store(bucket), CALL_TIMEOUT))

    def delete_object_store(self, bucket: str) -> None:
        """Delete a bucket and everything in it."""
        _run(self.aio.delete_object_store(bucket), CALL_TIMEOUT)

    def object_store_names(self) -> list[str]:
        """Names of every bucket in the account."""
        return _run(self.aio.object_store_names(), CALL_TIMEOUT)

    def object_stores(self) -> list[ObjectStoreStatus]:
        """Status of every bucket in the account."""
        return _run(self.aio.object_stores(), CALL_TIMEOUT)


# ---------------------------------------------------------------------------------------------
# store


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
    def kind(self) -> str | None:
        """"mirror", "replica", "aggregate", or None for a plain bucket."""
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
    ) -> ObjectInfo:
        """Store `data` under `name`, all or nothing, and return the new info.

        `data` is bytes, str, a binary file, a pathlib.Path, or a sync or async iterable of
        bytes; it is streamed, never held whole in memory. On any failure the new chunks are
        purged and the previous version stays readable.

        Blocking: a file or iterable source is read on natsobj's loop thread.
        """
        return _run(
            self.aio.put(
                name,
                data,
                description=description,
                headers=headers,
                metadata=metadata,
                chunk_size=chunk_size,
                meta=meta,
                progress=progress,
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
        return _run(self.aio.put_file(path, name, resume=resume, **kwargs))

    def get(self, name: str, *, offset: int = 0, length: int | None = None) -> bytes:
        """The object's bytes (or `length` bytes from `offset`), verified.

        A full read checks size, chunk count and digest. A range past the end returns b"".
        """
        return _run(self.aio.get(name, offset=offset, length=length))

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at the end of the object)."""
        return _run(self.aio.read_range(name, offset, length))

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
        return _run(self.aio.get_file(name, path, progress=progress, resume=resume))

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
        return _run(
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
        return _run(
            self.aio.get_many(names, directory, concurrency=concurrency, progress=progress)
        )

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
        return _run(self.aio.get_info(name, show_deleted=show_deleted), CALL_TIMEOUT)

    def delete(self, name: str) -> ObjectInfo:
        """Replace the object by a tombstone and purge its chunks (a no-op if already deleted)."""
        return _run(self.aio.delete(name), CALL_TIMEOUT)

    def list(self, *, show_deleted: bool = False) -> list[ObjectInfo]:
        """Every object in the bucket ([] when there are none), deleted ones on request."""
        return _run(self.aio.list(show_deleted=show_deleted))

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
        return _run(self.aio.update_meta(name, meta), CALL_TIMEOUT)

    def rename(self, name: str, new_name: str, *, overwrite: bool = False) -> ObjectInfo:
        """Give an object a new name, keeping its data, description, headers and metadata.

        A live object at `new_name` raises ObjectAlreadyExistsError, unless overwrite=True:
        then it is replaced all or nothing, as a put replaces it.
        """
        return _run(self.aio.rename(name, new_name, overwrite=overwrite), CALL_TIMEOUT)

    def add_link(self, name: str, target: ObjectInfo) -> ObjectInfo:
        """Make `name` a link to the object `target` (in this or another bucket)."""
        return _run(self.aio.add_link(name, target), CALL_TIMEOUT)

    def add_bucket_link(self, name: str, target: ObjectStore | str) -> ObjectInfo:
        """Make `name` a link to a whole bucket."""
        bucket = target.bucket if isinstance(target, ObjectStore) else target
        return _run(self.aio.add_bucket_link(name, bucket), CALL_TIMEOUT)

    def status(self) -> ObjectStoreStatus:
        """The bucket's configuration and usage."""
        return _run(self.aio.status(), CALL_TIMEOUT)

    def seal(self) -> ObjectStoreStatus:
        """Make the bucket read-only for good."""
        return _run(self.aio.seal(), CALL_TIMEOUT)

    def orphan_chunk_subjects(self, *, min_age: timedelta = timedelta(0)) -> dict[str, int]:
        """Chunk subjects no meta points to, with their message counts.

        Failed or interrupted puts leave these. A put still in progress has them too: pass
        `min_age` to keep subjects whose newest chunk is younger than that.
        """
        return _run(self.aio.orphan_chunk_subjects(min_age=min_age))

    def purge_orphans(self, *, min_age: timedelta = timedelta(minutes=10)) -> int:
        """Purge orphan chunk subjects older than `min_age`; returns the messages removed.

        The default age spares puts in progress (and resumable uploads being resumed).
        """
        return _run(self.aio.purge_orphans(min_age=min_age))

    def copy(self, name: str, new_name: str, *, to: ObjectStore | None = None) -> ObjectInfo:
        """Copy an object (bytes, description, headers, metadata) to `new_name` here or in
        bucket `to`, streaming it through this client. Links are followed."""
        return _run(self.aio.copy(name, new_name, to=to.aio if to is not None else None))


# ---------------------------------------------------------------------------------------------
# watch


_IDLE = object()


class ObjectWatcher:
    """A blocking iterator over a bucket's changes: ObjectInfo, and one None marker."""

    def __init__(
        self, store: ObjectStore, options: dict[str, Any], *, idle_timeout: float | None
    ) -> None:
        self._idle_timeout = idle_timeout
        self._pending: concurrent.futures.Future[Any] | None = None
        self._closed = False

        async def start() -> _AsyncObjectWatcher:
            watcher = store.aio.watch(**options)
            return await watcher.__aenter__()

        self._watcher = _run(start(), CALL_TIMEOUT)

    def __iter__(self) -> ObjectWatcher:
        return self

    def __next__(self) -> ObjectInfo | None:
        if self._closed:
            raise StopIteration
        runner = _get_runner()
        future = asyncio.run_coroutine_threadsafe(self._next(), runner.loop)
        self._pending = future
        try:
            item = future.result()
        except concurrent.futures.CancelledError:
            item = _IDLE
        except BaseException:
            future.cancel()
            raise
        finally:
            self._pending = None
        if item is _IDLE:
            self.close()
            raise StopIteration
        return item  # type: ignore[no-any-return]

    async def _next(self) -> Any:
        if self._idle_timeout is None:
            return await self._watcher.__anext__()
        try:
            return await asyncio.wait_for(self._watcher.__anext__(), self._idle_timeout)
        except asyncio.TimeoutError:
            return _IDLE

    def close(self) -> None:
        """Stop watching; a next() blocked in another thread ends the iteration."""
        if self._closed:
            return
        self._closed = True
        pending = self._pending
        if pending is not None:
            pending.cancel()
        if threading.current_thread() is not _get_runner().thread:
            with contextlib.suppress(Exception):
                _run(self._watcher.stop(), CALL_TIMEOUT)

    def __enter__(self) -> ObjectWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            _schedule(self._watcher.stop())


# ---------------------------------------------------------------------------------------------
# files


class ObjectReader(io.BufferedIOBase):
    """A seekable binary file over one version of an object, read by byte ranges."""

    def __init__(self, store: ObjectStore, name: str, *, buffer_size: int = READ_AHEAD) -> None:
        super().__init__()
        self._astore = store.aio
        self.name = name
        self.mode = "rb"
        self._read_ahead = max(0, buffer_size)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self.info: ObjectInfo = _run(self._resolve(), CALL_TIMEOUT)
        """The meta of the object read (a link's target when `name` is a link)."""

    async def _resolve(self) -> ObjectInfo:
        async with self._astore.open(self.name, length=0) as reader:
            assert reader.info is not None
            return reader.info

    async def _fetch_async(self, offset: int, length: int) -> bytes:
        async with self._astore.open(self.name, offset=offset, length=length) as reader:
            assert reader.info is not None
            if reader.info.nuid != self.info.nuid:
                raise IntegrityError(
                    f"{self.name!r} was replaced while open for reading; open it again"
                )
            return await reader.read()

    @property
    def size(self) -> int:
        return self.info.size

    def _fetch(self, offset: int, length: int) -> bytes:
        data = _run(self._fetch_async(offset, length))
        if len(data) != length:
            raise IntegrityError(
                f"range read of {self.name!r} returned {len(data)} bytes at offset {offset}, "
                f"expected {length}"
            )
        return data

    def _range(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the object, end <= size, using and refilling the buffer."""
        parts: list[bytes] = []
        buf_end = self._buf_start + len(self._buf)
        if self._buf_start <= start < buf_end:
            take = min(end, buf_end)
            parts.append(self._buf[start - self._buf_start : take - self._buf_start])
            start = take
        if start < end:
            want = end - start
            if want >= self._read_ahead:
                parts.append(self._fetch(start, want))  # big reads bypass the buffer
            else:
                block = self._fetch(start, min(self.size, start + self._read_ahead) - start)
                self._buf, self._buf_start = block, start
                parts.append(block[:want])
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes from the position (all that is left with size < 0)."""
        self._check_open()
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        if end <= self._pos:
            return b""
        data = self._range(self._pos, end)
        self._pos = end
        return data

    def read1(self, size: int | None = -1) -> bytes:
        return self.read(size)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readinto1(self, buffer: Any) -> int:
        return self.readinto(buffer)

    def peek(self, size: int = 0) -> bytes:
        """Buffered bytes from the position, fetching a block if none are (no move)."""
        self._check_open()
        buf_end = self._buf_start + len(self._buf)
        if not self._buf_start <= self._pos < buf_end and self._pos < self.size:
            block = max(size, self._read_ahead, 1)
            self._buf = self._fetch(self._pos, min(self.size, self._pos + block) - self._pos)
            self._buf_start = self._pos
        start = self._pos - self._buf_start
        return self._buf[start:] if 0 <= start < len(self._buf) else b""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def readable(self) -> bool:
        self._check_open()
        return True

    def seekable(self) -> bool:
        self._check_open()
        return True

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        self._buf = b""
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def __repr__(self) -> str:
        return f"<natsobj.sync.ObjectReader {self._astore.bucket}/{self.name} size={self.size}>"


_END = object()
_ABORT = object()


class _Aborted(Exception):
    """Raised inside an aborted put's source so the put rolls back."""


class ObjectWriter(io.BufferedIOBase):
    """A write-only binary file that streams a put; close() commits, abort() discards.

    Leaving a `with` block by an exception aborts. A writer dropped without close() commits
    nothing.
    """

    def __init__(
        self,
        store: ObjectStore,
        name: str,
        *,
        buffer_size: int = WRITE_BUFFER,
        **put_options: Any,
    ) -> None:
        super().__init__()
        self._astore = store.aio
        self.name = name
        self.mode = "wb"
        self._flush_at = max(1, buffer_size)
        self._pending = bytearray()
        self._written = 0
        self._done = False
        self.info: ObjectInfo | None = None
        """The committed object's info, once close() returned."""
        self._queue, self._task = _run(self._start(put_options), CALL_TIMEOUT)
        _writers.add(self)

    async def _start(
        self, put_options: dict[str, Any]
    ) -> tuple[asyncio.Queue[Any], asyncio.Task[ObjectInfo]]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=4)

        async def source() -> AsyncIterator[bytes]:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if item is _ABORT:
                    raise _Aborted()
                yield item

        task = asyncio.ensure_future(self._astore.put(self.name, source(), **put_options))
        return queue, task

    async def _feed(self, item: Any) -> None:
        """Queue `item` for the put, or raise the put's error if it already failed."""
        if not self._task.done():
            put = asyncio.ensure_future(self._queue.put(item))
            await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if put.done():
                return
            put.cancel()
        self._task.result()  # raises the put's error
        raise RuntimeError(f"the put of {self.name!r} ended before its data did")

    async def _finish(self) -> ObjectInfo:
        await self._feed(_END)
        return await self._task

    async def _abort(self) -> None:
        task = self._task
        if not task.done():
            while not self._queue.empty():  # drop unsent data: make room for the marker
                self._queue.get_nowait()
            self._queue.put_nowait(_ABORT)
            _, pending = await asyncio.wait({task}, timeout=CALL_TIMEOUT)
            if pending:
                task.cancel()  # the core purges chunks when a put is cancelled
        with contextlib.suppress(BaseException):
            await task

    def write(self, data: Any) -> int:
        """Queue bytes for the object; returns how many."""
        self._check_writable()
        view = memoryview(data).cast("B")
        n = view.nbytes
        if not self._pending and n >= self._flush_at:
            self._send(bytes(view))
        else:
            self._pending += view
            if len(self._pending) >= self._flush_at:
                self._send_pending()
        self._written += n
        return n

    def _send_pending(self) -> None:
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            self._send(data)

    def _send(self, data: bytes) -> None:
        try:
            _run(self._feed(data))
        except BaseException:  # the put failed (and rolled back) or we were interrupted
            self.abort()
            raise

    def flush(self) -> None:
        """Hand buffered bytes to the put (nothing is committed before close)."""
        if not self._done and not self.closed:
            self._send_pending()

    def close(self) -> None:
        """Send what is left and commit the object; raises if the put failed."""
        if self._done:
            super().close()
            return
        try:
            self._send_pending()
            self.info = _run(self._finish())
        except BaseException:
            self._done = True
            with contextlib.suppress(Exception):
                _run(self._abort(), CALL_TIMEOUT * 2)
            super().close()
            raise
        self._done = True
        super().close()

    def abort(self) -> None:
        """Discard everything written: no object, no chunks left behind."""
        if self._done:
            return
        self._done = True
        self._pending.clear()
        try:
            _run(self._abort(), CALL_TIMEOUT * 2)
        finally:
            super().close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        if not getattr(self, "_done", True):
            self._done = True
            warnings.warn(
                f"natsobj writer for {self.name!r} was dropped without close(): nothing was "
                "committed",
                ResourceWarning,
                stacklevel=2,
            )
            _schedule(self._abort())

    def tell(self) -> int:
        return self._written

    def writable(self) -> bool:
        return not self.closed

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def _check_writable(self) -> None:
        if self._done or self.closed:
            raise ValueError("I/O operation on closed file.")

    def __repr__(self) -> str:
        return f"<natsobj.sync.ObjectWriter {self._astore.bucket}/{self.name}>"
