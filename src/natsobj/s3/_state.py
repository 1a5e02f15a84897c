"""What the gateway keeps between requests: the client, the bucket handles and their
listing indexes (one per bucket, live), and the settings every handler reads."""

from __future__ import annotations

from typing import Any

from .. import Client, ObjectStore
from ._credentials import Credentials
from ._index import BucketIndex


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

    async def close(self) -> None:
        for bucket in list(self._indexes):
            await self.forget(bucket)
