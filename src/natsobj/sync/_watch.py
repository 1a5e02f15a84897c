"""The blocking ObjectWatcher that ObjectStore.watch() returns: an iterator with an idle timeout."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from typing import Any

from .. import ObjectInfo
from .. import ObjectWatcher as _AsyncObjectWatcher
from ._loop import CALL_TIMEOUT, StoreHandle, get_runner, run, schedule

_IDLE = object()


class ObjectWatcher:
    """A blocking iterator over a bucket's changes: ObjectInfo, and one None marker."""

    def __init__(
        self, store: StoreHandle, options: dict[str, Any], *, idle_timeout: float | None
    ) -> None:
        self._idle_timeout = idle_timeout
        self._pending: concurrent.futures.Future[Any] | None = None
        self._closed = False

        async def start() -> _AsyncObjectWatcher:
            watcher = store.aio.watch(**options)
            return await watcher.__aenter__()

        self._watcher = run(start(), CALL_TIMEOUT)

    def __iter__(self) -> ObjectWatcher:
        return self

    def __next__(self) -> ObjectInfo | None:
        if self._closed:
            raise StopIteration
        runner = get_runner()
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
        if threading.current_thread() is not get_runner().thread:
            with contextlib.suppress(Exception):
                run(self._watcher.stop(), CALL_TIMEOUT)

    def __enter__(self) -> ObjectWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            schedule(self._watcher.stop())
