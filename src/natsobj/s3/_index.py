"""A live, sorted index of one bucket's keys, so a listing page is a bisect.

Built from a watch of the bucket's metas (the current objects, then live changes) and told
of the gateway's own writes at once, so a listing reads what this gateway just wrote; another
gateway's writes arrive through the watch. Each entry keeps only what a listing shows (size,
ETag, time), not the whole meta, to keep memory small. Revisions order the updates: an older
meta never overwrites a newer one, whichever way it arrived.

Links written by other NATS clients: a link to an object is listed as what GET serves, its
target (size, ETag and time read when a page shows it, since the target changes on its own);
a link to a whole bucket is no object S3 can serve, so it is not listed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .. import (
    BadObjectMetaError,
    LinkError,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectStore,
    ObjectStoreError,
)
from . import _listing
from ._rules import etag_of, last_modified

log = logging.getLogger("natsobj.s3")


@dataclass(frozen=True, slots=True)
class Entry:
    size: int
    etag: str
    modified: datetime
    link: bool = False  # a link to an object: size, ETag and time are its target's


class BucketIndex:
    """The sorted live keys of one bucket; `await ready()` before reading it."""

    def __init__(self, store: ObjectStore, *, ready_timeout: float = 30.0) -> None:
        self.store = store
        self._keys: list[bytes] = []
        self._entries: dict[str, Entry] = {}
        self._revisions: dict[str, int] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None
        self._ready_timeout = ready_timeout

    async def ready(self) -> None:
        """Start the watch if needed and wait until the current objects are in."""
        if self._task is None or self._task.done():
            self._ready.clear()
            self._failed = None
            self._keys, self._entries, self._revisions = [], {}, {}
            self._task = asyncio.create_task(self._follow(), name=f"s3-index-{self.store.bucket}")
        try:
            await asyncio.wait_for(self._ready.wait(), self._ready_timeout)
        except asyncio.TimeoutError:
            raise ObjectStoreError(
                f"listing bucket {self.store.bucket!r}: no answer from NATS in "
                f"{self._ready_timeout:.0f} s; try again"
            ) from None
        if self._failed is not None:
            raise self._failed

    async def _follow(self) -> None:
        initial: list[ObjectInfo] = []
        try:
            async for info in self.store.watch():
                if info is None:  # the current objects are all in: sort once
                    for item in initial:
                        self._apply(item, sort=False)
                    self._keys.sort()
                    initial = []
                    self._ready.set()
                elif not self._ready.is_set():
                    initial.append(info)
                else:
                    self._apply(info)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the watch broke: the next ready() starts again
            log.warning("index of bucket %r stopped: %s", self.store.bucket, exc)
            self._failed = exc
            self._ready.set()

    def applied(self, info: ObjectInfo) -> None:
        """Take a meta this gateway just stored (a put, a delete) into the index."""
        if self._ready.is_set() and self._failed is None:
            self._apply(info)

    def _apply(self, info: ObjectInfo, *, sort: bool = True) -> None:
        name = info.name
        if info.revision and self._revisions.get(name, 0) > info.revision:
            return  # an older meta than the one already applied
        self._revisions[name] = info.revision
        present = name in self._entries
        link = info.link
        if info.deleted or (link is not None and link.is_bucket_link):
            if present:
                del self._entries[name]
                raw = name.encode()
                at = bisect_left(self._keys, raw)
                if at < len(self._keys) and self._keys[at] == raw:
                    del self._keys[at]
            return
        self._entries[name] = Entry(
            info.size, etag_of(info), last_modified(info), link=link is not None
        )
        if not present:
            if sort:
                insort(self._keys, name.encode())
            else:
                self._keys.append(name.encode())

    def page(self, **kwargs: object) -> _listing.Page:
        return _listing.page(self._keys, **kwargs)  # type: ignore[arg-type]

    def entry(self, name: str) -> Entry | None:
        return self._entries.get(name)

    async def entries(self, names: Iterable[str]) -> dict[str, Entry]:
        """The entries of `names` as a listing shows them: links resolved to their targets
        (together); dangling or broken ones (a missing target, a chain too deep) left out,
        as GET cannot serve them either."""
        found = {name: entry for name in names if (entry := self._entries.get(name)) is not None}
        links = [name for name, entry in found.items() if entry.link]
        targets = await asyncio.gather(
            *(self.store.resolve(name) for name in links), return_exceptions=True
        )
        for name, target in zip(links, targets, strict=True):
            if isinstance(target, ObjectInfo):
                found[name] = Entry(target.size, etag_of(target), last_modified(target))
            elif isinstance(target, (ObjectNotFoundError, LinkError, BadObjectMetaError)):
                del found[name]
            else:
                raise target
        return found

    async def empty(self) -> bool:
        """Whether a listing shows nothing: links to missing objects do not count, as GET
        cannot serve them, so a bucket left with only those can be deleted."""
        if any(not entry.link for entry in self._entries.values()):
            return False
        return not await self.entries(list(self._entries))

    def __len__(self) -> int:
        return len(self._keys)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
