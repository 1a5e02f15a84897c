"""Clean-ups that must finish: run to the end through a cancellation, purge across an election."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from .. import _wire as wire
from .._jetstream import (
    JetStream,
    retrying,
)


async def run_to_end(work: Awaitable[Any]) -> Any:
    """Await `work` to its end even if the caller is cancelled meanwhile (the cancellation goes
    on afterwards): for clean-ups that must not stop half way."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await task
        raise


async def purge_subject(
    js: JetStream,
    bucket: str,
    subject: str,
    *,
    deadline: float = 30.0,
    sent: Awaitable[int] | None = None,
) -> int:
    """Purge `subject` from the bucket's stream, retrying across a leader election (`sent`:
    the first attempt, already sent by `JetStream.start_stream_purge`)."""
    stream = wire.stream_name(bucket)
    first = [sent] if sent is not None else []

    async def attempt() -> int:
        if first:
            return await first.pop()
        return await js.stream_purge(stream, subject, bucket=bucket, timeout=2.0)

    return await retrying(attempt, within=deadline)
