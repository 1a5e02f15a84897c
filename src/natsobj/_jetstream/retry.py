"""The one retrying helper: every backoff loop of natsobj, on the event loop's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import is_transient

T = TypeVar("T")


def deadline_in(seconds: float) -> float:
    """The event loop's time `seconds` from now (the clock `retrying` counts on)."""
    return asyncio.get_running_loop().time() + seconds


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    within: float | None = None,
    until: float | None = None,
    retry_if: Callable[[BaseException], bool] = is_transient,
    first_delay: float = 0.1,
    max_delay: float = 2.0,
    on_retry: Callable[[BaseException], Awaitable[None]] | None = None,
) -> T:
    """Run `call` until it succeeds; re-try the errors `retry_if` accepts, backing off from
    `first_delay` to `max_delay`, until `within` seconds pass (or the loop time `until`).

    The last error is raised once another attempt would end after the deadline. `on_retry`
    runs before each pause (e.g. to raise a better error, such as the bucket being gone).
    """
    loop = asyncio.get_running_loop()
    stop = until if until is not None else loop.time() + (within if within is not None else 30.0)
    delay = first_delay
    while True:
        try:
            return await call()
        except Exception as exc:
            if not retry_if(exc) or loop.time() + delay > stop:
                raise
            if on_retry is not None:
                await on_retry(exc)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
