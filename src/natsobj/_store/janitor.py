"""The janitor: purges the chunks of replaced versions off the caller's path.

A put over an existing name is committed once its meta is stored; purging the chunks of the
version it replaced is then only clean-up, so it runs here, in the background, instead of
costing the caller a round trip (sequential overwrites: one round trip per put instead of
three). It stays as safe as a purge on the caller's path: the version whose chunks go is the
one the stored meta replaced; at most `limit` purges wait (a put then waits for room);
`settle()` waits for every pending purge, and Client.close(), seal(), status() and the orphan
scans call it, so no orphan survives a clean close. A crash before a purge leaves chunks no
meta points to, which `purge_orphans` collects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from .. import _wire as wire
from .._jetstream import JetStream
from .._transfer import TransferSettings, purge_subject
from .._wire.errors import ObjectStoreError

log = logging.getLogger("natsobj")


class Janitor:
    """Background purges of replaced chunk subjects, bounded, settled on demand."""

    def __init__(self, js: JetStream, transfer: TransferSettings, *, limit: int = 256) -> None:
        self._js = js
        self._transfer = transfer
        self._limit = limit
        self._running: dict[asyncio.Task[None], str] = {}  # task -> bucket

    async def purge_later(self, bucket: str, subject: str) -> None:
        """Purge `subject` of `bucket` in the background; waits only while `limit` are
        pending. Cancelled meanwhile, it leaves the purge running all the same.

        The first attempt is queued on the connection before this returns, so that it leaves
        in the same write as what the caller sends next (a sequential writer's next put):
        one syscall less per overwrite."""
        sent: Awaitable[int] | None = None  # not sent: the task's own attempts send it
        try:
            while len(self._running) >= self._limit:
                await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)
            sent = await self._js.start_stream_purge(
                wire.stream_name(bucket), subject, bucket=bucket, timeout=2.0
            )
        except ObjectStoreError:
            pass
        finally:
            task = asyncio.ensure_future(self._purge(bucket, subject, sent))
            self._running[task] = bucket
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if not task.cancelled():
            task.exception()  # _purge logs its errors; mark this one retrieved

    async def _purge(self, bucket: str, subject: str, sent: Awaitable[int] | None) -> None:
        try:
            await purge_subject(
                self._js, bucket, subject, deadline=self._transfer.stall_timeout, sent=sent
            )
        except ObjectStoreError as exc:  # the new version is committed; the old chunks leak
            log.warning(
                "could not purge the replaced chunks %s (purge_orphans removes them): %s",
                subject,
                exc,
            )

    async def settle(self, bucket: str | None = None) -> None:
        """Wait until every purge pending (for `bucket`, or for all) has ended."""
        while True:
            tasks = {t for t, b in self._running.items() if bucket is None or b == bucket}
            if not tasks:
                return
            await asyncio.wait(tasks)

    def forget_bucket(self, bucket: str) -> None:
        """Drop the purges of a bucket that is gone."""
        for task, owner in list(self._running.items()):
            if owner == bucket:
                task.cancel()
