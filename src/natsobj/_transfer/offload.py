"""Reading a file ahead on a helper thread for a put.

A put reads its file on a thread, a bounded number of chunks ahead, so a slow disk or a pipe
never blocks the event loop. Hashing and download writes stay inline: measured on 2 cores,
doing them on a thread was no faster (each call waits for the GIL behind the busy event loop)
and let queued chunks pile up in memory (88-157 MiB peak instead of 34 MiB).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import BinaryIO


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
