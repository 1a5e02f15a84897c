"""natsobj's event-loop thread, and how a blocking call runs a coroutine there.

One daemon thread per process owns the loop (started on first use, again after a fork); at exit
it aborts the writers still open and closes the clients. Every other module of natsobj.sync
goes through run() and schedule().
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from .. import ObjectInfo, StoreTimeoutError
from .. import ObjectStore as _AsyncObjectStore

T = TypeVar("T")

CALL_TIMEOUT = 120.0
"""Upper bound on one request-sized call (info, delete, bucket ops), on top of the core's own
per-request timeouts. Transfers and listings have no overall bound: the core fails them when
the server stops answering (per-chunk and idle timeouts), however long they legitimately take."""


class StoreHandle(Protocol):
    """A blocking ObjectStore as the file objects and the watcher it makes see it: the async
    store underneath. (A protocol: ObjectStore builds them, so they cannot import it back.)"""

    @property
    def aio(self) -> _AsyncObjectStore: ...


class _Closable(Protocol):
    @property
    def aio(self) -> Any: ...


class _Abortable(Protocol):
    _done: bool

    async def _abort(self) -> None: ...


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
clients: weakref.WeakSet[_Closable] = weakref.WeakSet()
"""Open blocking clients, closed at exit."""
writers: weakref.WeakSet[_Abortable] = weakref.WeakSet()
"""Blocking writers, aborted at exit if still open (no orphan chunks)."""


def get_runner() -> _LoopThread:
    global _runner
    runner = _runner
    if runner is not None and runner.thread.is_alive():
        return runner
    with _lock:
        if _runner is None or not _runner.thread.is_alive():
            _runner = _LoopThread()
        return _runner


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on the loop thread and wait for its result (at most `timeout` seconds)."""
    runner = get_runner()
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


def schedule(coro: Coroutine[Any, Any, Any]) -> None:
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
    open_writers = [w for w in list(writers) if not w._done]
    open_clients = list(clients)

    async def shutdown() -> None:
        await asyncio.gather(*(w._abort() for w in open_writers), return_exceptions=True)
        await asyncio.gather(*(c.aio.close() for c in open_clients), return_exceptions=True)

    with contextlib.suppress(Exception):
        run(shutdown(), timeout=5.0)
    runner.loop.call_soon_threadsafe(runner.loop.stop)
    runner.thread.join(timeout=5.0)


def _after_fork() -> None:
    # the loop thread does not exist in a child; a new one starts on first use
    global _runner, _lock
    _runner = None
    _lock = threading.Lock()
    clients.clear()
    writers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def on_loop(func: Callable[[ObjectInfo], Any] | None) -> Any:
    """A plain function as the async hook it stands for (run on the loop thread)."""
    if func is None:
        return None
    hook = func

    async def run_hook(info: ObjectInfo) -> Any:
        return hook(info)

    return run_hook
