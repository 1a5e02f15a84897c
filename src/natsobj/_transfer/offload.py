"""Work on helper threads: reading a file ahead for a put, hashing a read's bytes.

A put reads its file on a thread, a bounded number of chunks ahead, so a slow disk or a pipe
never blocks the event loop. Download writes stay inline, and so does a put's hashing:
measured on 2 cores, doing them on a thread chunk by chunk was no faster (each call waits for
the GIL behind the busy event loop) and let queued chunks pile up in memory (88-157 MiB peak
instead of 34 MiB). A verified read hashes on a thread in blocks of 512 KiB, one block at a
time (BlockHasher): that takes the SHA-256 (~0.6 CPU-s/GB) off the event loop's thread, which
the S3 gateway also needs to write the bytes to its client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any, BinaryIO


async def read_file_chunks(
    fh: BinaryIO, chunk_size: int, *, read_ahead: int = 8
) -> AsyncIterator[bytes]:
    """Read exact-size chunks from a file on a helper thread, up to `read_ahead` ahead.

    The publish window already buffers the server's pauses; the read-ahead only covers the
    disk's. Measured on a 256 MiB put: 8 chunks ahead is as fast as 32, with 3-6 MiB less
    peak memory and less variation between runs.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
    slots = threading.Semaphore(read_ahead)
    stop = threading.Event()

    def produce() -> None:
        try:
            while not stop.is_set():
                slots.acquire()
                if stop.is_set():
                    return
                block = fh.read(chunk_size)
                while block and len(block) < chunk_size:  # pipes and sockets read short
                    more = fh.read(chunk_size - len(block))
                    if not more:
                        break
                    block += more
                if isinstance(block, str):
                    raise TypeError("file object returned str; open it in binary mode ('rb')")
                loop.call_soon_threadsafe(queue.put_nowait, block or None)
                if not block:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            loop.call_soon_threadsafe(queue.put_nowait, exc)

    thread = threading.Thread(target=produce, name="natsobj-read", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            slots.release()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        slots.release()
        await asyncio.to_thread(thread.join)


class BlockHasher:
    """A hashlib hasher fed on a helper thread, in blocks, in order.

    `update` only gathers; `pace` hands the gathered bytes to a thread (asyncio's default
    executor) once they reach `block` and the block before is hashed, and waits for that one
    when `ahead` bytes are gathered; `finish` hashes the rest. hashlib lets go of the GIL while
    it hashes, so the event loop moves bytes meanwhile. Holds at most about `block + ahead`
    bytes that would otherwise be free.
    """

    def __init__(self, hasher: Any, *, block: int = 512 << 10, ahead: int = 1 << 20) -> None:
        self._hasher = hasher
        self._block = block
        self._ahead = max(ahead, block)
        self._gathered: list[bytes] = []
        self._bytes = 0
        self._running: asyncio.Future[None] | None = None

    def update(self, data: bytes) -> None:
        self._gathered.append(data)
        self._bytes += len(data)

    async def pace(self) -> None:
        """Start hashing the gathered block if it is big enough (waiting if far ahead)."""
        if self._bytes < self._block:
            return
        running = self._running
        if running is not None and not running.done():
            if self._bytes < self._ahead:
                return
            await running
        self._start()

    def _start(self) -> None:
        pieces, self._gathered, self._bytes = self._gathered, [], 0
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(None, _feed, self._hasher, pieces)

    async def finish(self) -> None:
        """Hash everything given so far; then `digest()` holds it all."""
        if self._running is not None:
            await self._running
            self._running = None
        if self._bytes >= self._block:
            self._start()
            await self.finish()
            return
        _feed(self._hasher, self._gathered)
        self._gathered, self._bytes = [], 0

    def digest(self) -> bytes:
        """The digest, once `finish` returned."""
        if self._running is not None or self._gathered:
            raise RuntimeError("BlockHasher.digest() before finish()")
        return self._hasher.digest()  # type: ignore[no-any-return]


def _feed(hasher: Any, pieces: list[bytes]) -> None:
    for piece in pieces:
        hasher.update(piece)
