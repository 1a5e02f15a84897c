"""Mailbox: a FIFO filled by handlers on the read loop and emptied by one task."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Mailbox:
    """A FIFO filled by handlers on the read loop and emptied by one task.

    What asyncio.Queue does for this case, without its per-item bookkeeping: a deque, and one
    waiter future while the consumer waits.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __len__(self) -> int:
        return len(self._items)

    def get_nowait(self) -> Any:
        return self._items.popleft()

    async def wait(self, timeout: float, stop: asyncio.Future[Any] | None = None) -> bool:
        """Wait until an item is there (True), `timeout` passes or `stop` is done (False)."""
        if self._items:
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _wake, waiter)
        if stop is not None:
            stop.add_done_callback(waiter_wake := lambda _f: _wake(waiter))
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
            if stop is not None:
                stop.remove_done_callback(waiter_wake)
        return bool(self._items)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
