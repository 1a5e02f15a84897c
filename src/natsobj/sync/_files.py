"""The blocking file objects that ObjectStore.open() returns: a seekable ObjectReader that
reads byte ranges, and an ObjectWriter that streams a put and commits on close()."""

from __future__ import annotations

import asyncio
import contextlib
import io
import warnings
from collections.abc import AsyncIterator
from typing import Any

from .. import IntegrityError, ObjectInfo
from ._loop import CALL_TIMEOUT, StoreHandle, run, schedule, writers

READ_AHEAD = 256 * 1024
"""Bytes a blocking reader fetches ahead of what was asked for."""

WRITE_BUFFER = 256 * 1024
"""Bytes a blocking writer collects before handing them to the put."""


class ObjectReader(io.BufferedIOBase):
    """A seekable binary file over one version of an object, read by byte ranges."""

    def __init__(self, store: StoreHandle, name: str, *, buffer_size: int = READ_AHEAD) -> None:
        super().__init__()
        self._astore = store.aio
        self.name = name
        self.mode = "rb"
        self._read_ahead = max(0, buffer_size)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self.info: ObjectInfo = run(self._resolve(), CALL_TIMEOUT)
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
        data = run(self._fetch_async(offset, length))
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
        store: StoreHandle,
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
        self._queue, self._task = run(self._start(put_options), CALL_TIMEOUT)
        writers.add(self)

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
            run(self._feed(data))
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
            self.info = run(self._finish())
        except BaseException:
            self._done = True
            with contextlib.suppress(Exception):
                run(self._abort(), CALL_TIMEOUT * 2)
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
            run(self._abort(), CALL_TIMEOUT * 2)
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
            schedule(self._abort())

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
