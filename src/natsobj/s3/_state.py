"""What the gateway keeps between requests: the client, the bucket handles and their
listing indexes (one per bucket, live), and the settings every handler reads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from .. import Client, ObjectStore
from ._credentials import Credentials
from ._index import BucketIndex

log = logging.getLogger("natsobj.s3")


class State:
    """The gateway's shared state; handlers get it with each request."""

    def __init__(
        self, client: Client, credentials: Credentials, *, region: str, idle_timeout: float
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.region = region
        self.idle_timeout = idle_timeout
        self._stores: dict[str, ObjectStore] = {}
        self._indexes: dict[str, BucketIndex] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.placements: dict[str, Any] = {}
        """Multipart uploads this process places parts of (by upload id; see _placement)."""

    async def store(self, bucket: str) -> ObjectStore:
        found = self._stores.get(bucket)
        if found is None:
            found = await self.client.object_store(bucket)
            self._stores[bucket] = found
        return found

    async def index(self, bucket: str) -> BucketIndex:
        store = await self.store(bucket)
        index = self._indexes.get(bucket)
        if index is None or index.store is not store:
            index = self._indexes[bucket] = BucketIndex(store)
        await index.ready()
        return index

    def applied(self, bucket: str, info: Any) -> None:
        """A meta this gateway stored, for the bucket's listing index."""
        index = self._indexes.get(bucket)
        if index is not None:
            index.applied(info)

    async def forget(self, bucket: str) -> None:
        """Drop what is cached of a bucket (it was deleted)."""
        self._stores.pop(bucket, None)
        index = self._indexes.pop(bucket, None)
        if index is not None:
            await index.close()

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run clean-up that no answer waits for (close() waits for it, a failure is logged)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background clean-up failed: %s", task.exception())

    async def close(self) -> None:
        if self._background:
            with contextlib.suppress(asyncio.TimeoutError):
                pending = asyncio.gather(*self._background, return_exceptions=True)
                await asyncio.wait_for(pending, 30)
        for bucket in list(self._indexes):
            await self.forget(bucket)
