"""The gateway's listing index over a real bucket: names from STREAM.INFO, live keys only,
changes from other writers, and metas that arrive out of order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

import natsobj
from natsobj.s3 import _listing
from natsobj.s3._index import BucketIndex

STEP = 10.0


class HeldReads:
    """Holds the index's meta reads of `store` once they have read, until released: a
    change can then land between a read and its use."""

    def __init__(self, store: natsobj.ObjectStore) -> None:
        self.store = store
        self.read_done = asyncio.Event()
        self.release = asyncio.Event()
        self._real = store.get_infos

    async def _held(self, names: list[str], **kwargs: bool) -> dict[str, natsobj.ObjectInfo]:
        found = await self._real(names, **kwargs)
        self.read_done.set()
        await self.release.wait()
        return found

    def __enter__(self) -> HeldReads:
        self.store.get_infos = self._held  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.__dict__.pop("get_infos", None)


async def page_racing(
    index: BucketIndex, store: natsobj.ObjectStore, change: Callable[[], Awaitable[object]]
) -> _listing.Page:
    """A first page whose meta read is held until `change` (applied to the index) is done."""
    with HeldReads(store) as held:
        paging = asyncio.create_task(index.page(prefix="", delimiter="", after="", max_keys=10))
        await asyncio.wait_for(held.read_done.wait(), STEP)
        index.applied(await change())  # type: ignore[arg-type]
        held.release.set()
        return await asyncio.wait_for(paging, STEP)


async def _index(store: natsobj.ObjectStore, **kwargs: int) -> BucketIndex:
    index = BucketIndex(store, **kwargs)
    await asyncio.wait_for(index.ready(), STEP)
    return index


async def test_pages_list_only_live_keys_and_prefixes(store: natsobj.ObjectStore) -> None:
    await store.put_many({f"live/{i:03d}": b"x" * i for i in range(30)}, concurrency=16)
    await store.put_many({f"dead/{i:03d}": b"y" for i in range(30)}, concurrency=16)
    await store.put_many({f"mixed/{i:03d}": b"z" for i in range(5)}, concurrency=5)
    for i in range(30):
        await store.delete(f"dead/{i:03d}")
    for i in range(4):
        await store.delete(f"mixed/{i:03d}")
    index = await _index(store)
    try:
        assert len(index) == 65  # delete markers are names too, until a page checks them
        page = await index.page(prefix="", delimiter="/", after="", max_keys=1000)
        assert page.common_prefixes == ["live/", "mixed/"]
        page = await index.page(prefix="", delimiter="", after="", max_keys=10)
        assert page.keys == [f"live/{i:03d}" for i in range(10)] and page.truncated
        page = await index.page(prefix="", delimiter="", after="live/029", max_keys=1000)
        assert page.keys == ["mixed/004"] and not page.truncated
        entry = index.entry("live/007")
        assert entry is not None and entry.size == 7
        assert not await index.is_empty()
        await store.delete("mixed/004")
        for i in range(30):
            await store.delete(f"live/{i:03d}")
        for _ in range(100):  # the watch brings the deletes
            if await index.is_empty():
                break
            await asyncio.sleep(0.05)
        assert await index.is_empty()
        assert (await index.page(prefix="", delimiter="/", after="", max_keys=1000)).keys == []
    finally:
        await index.close()


async def test_another_writers_changes_arrive_through_the_watch(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    await store.put("a", b"1")
    index = await _index(store)
    other = await client.object_store(store.bucket)
    try:
        await other.put("b", b"22")
        await other.delete("a")
        deadline = asyncio.get_running_loop().time() + STEP
        while asyncio.get_running_loop().time() < deadline:
            page = await index.page(prefix="", delimiter="", after="", max_keys=10)
            if page.keys == ["b"]:
                break
            await asyncio.sleep(0.05)
        assert page.keys == ["b"]
        entry = index.entry("b")
        assert entry is not None and entry.size == 2
    finally:
        await index.close()


async def test_an_older_meta_never_overwrites_a_newer_one(store: natsobj.ObjectStore) -> None:
    first = await store.put("k", b"first")
    index = await _index(store)
    try:
        second = await store.put("k", b"second!")
        gone = await store.delete("k")
        index.applied(gone)
        index.applied(second)  # late: older than the delete
        index.applied(first)
        assert (await index.page(prefix="", delimiter="", after="", max_keys=10)).keys == []
        third = await store.put("k", b"third")
        index.applied(third)
        index.applied(replace(second, deleted=True))  # an old delete does not win either
        page = await index.page(prefix="", delimiter="", after="", max_keys=10)
        assert page.keys == ["k"]
        entry = index.entry("k")
        assert entry is not None and entry.size == 5
    finally:
        await index.close()


async def test_a_change_during_a_meta_read_wins_over_the_read(
    store: natsobj.ObjectStore,
) -> None:
    await store.put("k", b"v1")
    index = await _index(store)
    try:
        page = await page_racing(index, store, lambda: store.delete("k"))
        assert index.entry("k") is None  # the stale read did not bring "k" back
        assert "k" not in (await index.page(prefix="", after="", max_keys=10)).keys
        assert page.keys in ([], ["k"])  # a page that raced the delete may still name it
    finally:
        await index.close()


async def test_the_cache_of_listing_fields_is_capped(store: natsobj.ObjectStore) -> None:
    await store.put_many({f"n{i:04d}": b"x" for i in range(300)}, concurrency=32)
    index = await _index(store, max_entries=100)
    try:
        after = ""
        listed = []
        while True:
            page = await index.page(prefix="", delimiter="", after=after, max_keys=50)
            listed += page.keys
            assert all(index.entry(k) is not None for k in page.keys)
            assert len(index._entries) <= 100
            if not page.truncated:
                break
            after = page.next_marker or ""
        assert listed == [f"n{i:04d}" for i in range(300)]
    finally:
        await index.close()


async def test_a_put_during_a_meta_read_that_found_nothing_stays_listed(
    store: natsobj.ObjectStore,
) -> None:
    await store.put("k", b"v1")
    await store.delete("k")  # a delete marker: a name, but no live object
    index = await _index(store)
    try:
        # the put lands after the read found nothing
        await page_racing(index, store, lambda: store.put("k", b"v2"))
        page = await index.page(prefix="", delimiter="", after="", max_keys=10)
        assert page.keys == ["k"]
        entry = index.entry("k")
        assert entry is not None and entry.size == 2
    finally:
        await index.close()
