"""Put sources: anything a put accepts, cut into chunks of exactly the chunk size."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from stat import S_ISREG
from typing import Any, BinaryIO

from .offload import read_file_chunks

log = logging.getLogger("natsobj")

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
LARGE_FILE_BYTES = 4 << 20
"""Files larger than this are read on a helper thread."""
ProgressCallback = Callable[[int], Any]
"""Called with the number of bytes just moved."""


# ---------------------------------------------------------------------------------------------
# put sources


async def iter_source(data: PutSource, chunk_size: int) -> AsyncIterator[bytes]:
    """Cut any put source into chunks of exactly `chunk_size` bytes (the last one shorter).

    Uniform chunks are what lets a reader compute where byte N lives (range reads).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data).cast("B")
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    if isinstance(data, os.PathLike):
        with open(data, "rb") as fh:
            async for chunk in iter_source(fh, chunk_size):
                yield chunk
        return
    read = getattr(data, "read", None)
    if read is not None:
        if _is_large_file(data):
            async for chunk in read_file_chunks(data, chunk_size):  # type: ignore[arg-type]
                yield chunk
            return
        if asyncio.iscoroutinefunction(read):
            pieces = _async_reads(read, chunk_size)
        else:
            pieces = _sync_reads(read, chunk_size)
        async for chunk in _rechunk(pieces, chunk_size):
            yield chunk
        return
    if isinstance(data, AsyncIterable):
        async for chunk in _rechunk(data, chunk_size):
            yield chunk
        return
    if isinstance(data, Iterable):
        async for chunk in _rechunk(_aiter(data), chunk_size):
            yield chunk
        return
    raise TypeError(
        f"cannot put {type(data).__name__}: pass bytes, str, a binary file, a pathlib.Path, "
        "or a (sync or async) iterable of bytes"
    )


def _is_large_file(data: Any) -> bool:
    """True for a regular file big enough that reading it on a thread pays off."""
    try:
        fd = data.fileno()
        stat = os.fstat(fd)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
    if not S_ISREG(stat.st_mode):
        return True  # pipes and sockets: let a thread block on them, not the loop
    return stat.st_size - data.tell() > LARGE_FILE_BYTES


async def _sync_reads(read: Callable[[int], bytes], size: int) -> AsyncIterator[bytes]:
    while True:
        block = read(size)
        if isinstance(block, str):
            raise TypeError("file object returned str; open it in binary mode ('rb')")
        if not block:
            return
        yield block


async def _async_reads(read: Callable[[int], Any], size: int) -> AsyncIterator[bytes]:
    while True:
        block = await read(size)
        if not block:
            return
        yield block


async def _aiter(items: Iterable[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def _rechunk(pieces: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """Pieces of any sizes as chunks of exactly `size` bytes (the last one shorter).

    Each byte is copied at most once: a whole chunk inside a piece is cut out of it directly
    (a piece that is one chunk, as bytes, is passed on as it is), and only the bytes that
    straddle two pieces are gathered in a buffer.
    """
    pending = bytearray()
    async for piece in pieces:
        if isinstance(piece, str):
            raise TypeError("iterable yielded str; yield bytes")
        view = memoryview(piece).cast("B")
        start = 0
        if pending:
            start = min(size - len(pending), len(view))
            pending += view[:start]
            if len(pending) < size:
                continue
            yield bytes(pending)
            pending.clear()
        if start == 0 and len(view) == size:
            yield bytes(piece)
            continue
        end = len(view)
        while end - start >= size:
            yield bytes(view[start : start + size])
            start += size
        pending += view[start:]
    if pending:
        yield bytes(pending)
