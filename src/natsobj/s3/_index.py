"""A bucket's keys for S3 listings: every name from one STREAM.INFO, kept live by a watch, and
the listing fields (size, ETag, time) of the keys a page shows, read a page at a time.

Cold, a 1000-key page of a 100,000-object bucket costs one STREAM.INFO (about 0.2 s) and one
batched meta read (about 30 ms), where reading every meta first took 3-5 s here. The names
include the delete markers a bucket keeps, so a page checks its keys before it answers: every
key listed is live, and every common prefix holds a live key. The watch starts before the
names are read, so no change is missed; the gateway's own writes are applied at once, and a
meta never overwrites a newer one, whichever way each arrived. At most `max_entries` keys'
fields are kept (the oldest read go first); names alone cost about 70 bytes each.

Links written by other NATS clients: a link to an object is listed as what GET serves, its
target (size, ETag and time read when a page shows it, since the target changes on its own);
a link to a whole bucket is no object S3 can serve, so it is not listed, and neither is a
link whose target is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from bisect import bisect_left
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
from ._rules import checksum_type_of, checksums_of, etag_of, last_modified

log = logging.getLogger("natsobj.s3")

_PROBE = 100
"""Keys checked at a time when looking for a live key under a common prefix."""
_GONE_KEPT = 10_000
"""Deletes remembered, so that a late, older meta of the same name cannot bring it back."""


@dataclass(frozen=True, slots=True)
class Entry:
    size: int
    etag: str
    modified: datetime
    revision: int
    link: bool = False
    """A link to an object: size, ETag and time are its target's, read by entries()."""
    checksum: str = ""
    """The algorithm of the S3 checksum stored with the object ("CRC32"), if any."""
    checksum_type: str = ""
    """Its type (FULL_OBJECT, or COMPOSITE for a multipart object's)."""


def _checksum(info: ObjectInfo) -> dict[str, str]:
    """An Entry's checksum fields for the object."""
    algorithm = next(iter(checksums_of(info)), "")
    return {"checksum": algorithm, "checksum_type": checksum_type_of(info) if algorithm else ""}


class BucketIndex:
    """The sorted keys of one bucket; `await ready()` before reading it."""

    def __init__(
        self, store: ObjectStore, *, ready_timeout: float = 30.0, max_entries: int = 100_000
    ) -> None:
        self.store = store
        self._keys: list[bytes] = []
        self._entries: dict[str, Entry] = {}
        self._gone: dict[str, int] = {}
        self._reads = 0
        self._touched: set[str] = set()
        """Names the watch or the gateway changed while a meta read was out."""
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None
        self._ready_timeout = ready_timeout
        self._max_entries = max_entries

    async def ready(self) -> None:
        """Start the watch if needed and wait until the bucket's names are in."""
        if self._task is None or self._task.done():
            self._ready.clear()
            self._failed = None
            self._keys, self._entries, self._gone = [], {}, {}
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
        try:
            async with self.store.watch(updates_only=True) as changes:
                # the watch's consumer exists now: whatever changes after the names are read
                # arrives through it
                names = await self.store.meta_names()
                self._keys = [name.encode() for name in names]  # code point order = UTF-8's
                self._ready.set()
                async for info in changes:
                    if info is not None:
                        self.applied(info)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the watch broke: the next ready() starts again
            log.warning("index of bucket %r stopped: %s", self.store.bucket, exc)
            self._failed = exc
            self._ready.set()

    def applied(self, info: ObjectInfo) -> None:
        """Take a meta into the index: one this gateway just stored, or one the watch saw."""
        if not self._ready.is_set() or self._failed is not None:
            return
        if self._reads:
            self._touched.add(info.name)
        self._take(info)

    def _take(self, info: ObjectInfo) -> None:
        name = info.name
        entry = self._entries.get(name)
        newest = max(entry.revision if entry else 0, self._gone.get(name, 0))
        if info.revision and info.revision < newest:
            return  # an older meta than one already applied
        raw = name.encode()
        at, listed = self._find(raw)
        link = info.link
        if info.deleted or (link is not None and link.is_bucket_link):  # nothing to list
            self._entries.pop(name, None)
            self._gone[name] = info.revision
            if len(self._gone) > _GONE_KEPT:
                del self._gone[next(iter(self._gone))]
            if listed:
                del self._keys[at]
            return
        self._gone.pop(name, None)
        self._entries[name] = Entry(
            info.size, etag_of(info), last_modified(info), info.revision, link is not None,
            **_checksum(info),
        )  # fmt: skip
        if len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]
        if not listed:
            self._keys.insert(at, raw)

    async def page(self, **kwargs: object) -> _listing.Page:
        """The listing page `kwargs` ask for (see _listing.page), with only live keys."""
        while True:
            page = _listing.page(self._keys, **kwargs)  # type: ignore[arg-type]
            dropped = await self._check([k for k in page.keys if k not in self._entries])
            for prefix in page.common_prefixes:
                if not await self._holds_live(prefix):
                    dropped += 1
            if not dropped:
                return page

    def entry(self, name: str) -> Entry | None:
        """The listing fields of a key the last page showed (a link's own, see entries)."""
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
                found[name] = Entry(
                    target.size, etag_of(target), last_modified(target), target.revision,
                    **_checksum(target),
                )  # fmt: skip
            elif isinstance(target, (ObjectNotFoundError, LinkError, BadObjectMetaError)):
                del found[name]
            else:
                raise target
        return found

    async def is_empty(self) -> bool:
        """True if a listing of the bucket shows nothing (links to missing objects do not
        count: GET cannot serve them, so a bucket left with only those can be deleted)."""
        return not await self._holds_live("")

    async def _holds_live(self, prefix: str) -> bool:
        """True if a listing shows some key under `prefix` (dead keys met are dropped)."""
        raw = start = prefix.encode()
        while True:
            at = bisect_left(self._keys, start)
            batch = [
                key.decode()
                for key in self._keys[at : at + _PROBE]
                if key.startswith(raw)  # sorted: the keys under a prefix are contiguous
            ]
            if not batch:
                return False
            await self._check(name for name in batch if name not in self._entries)
            if await self.entries(batch):
                return True
            start = batch[-1].encode() + b"\x00"  # the next key after this batch

    async def _check(self, names: Iterable[str]) -> int:
        """Read the metas of `names`: keep the live ones' fields, drop the dead keys (their
        count is returned)."""
        names = list(names)
        if not names:
            return 0
        self._reads += 1
        try:
            infos = await self.store.get_infos(names)
        finally:
            self._reads -= 1
        touched = self._touched
        if not self._reads:
            self._touched = set()
        dropped = 0
        for name in names:
            raw = name.encode()
            at, listed = self._find(raw)
            if name in touched and (name in self._entries or not listed):
                continue  # changed while the read was out: what was applied is newer
            info = infos.get(name)
            if info is not None:
                self._take(info)  # a link to a bucket is dropped there
                if listed and not self._find(raw)[1]:
                    dropped += 1
            elif listed:
                del self._keys[at]
                dropped += 1
        return dropped

    def _find(self, raw: bytes) -> tuple[int, bool]:
        """Where `raw` is, or would go, among the keys, and whether it is there."""
        at = bisect_left(self._keys, raw)
        return at, at < len(self._keys) and self._keys[at] == raw

    def __len__(self) -> int:
        """Names with a meta, live or not (see is_empty)."""
        return len(self._keys)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
