"""Watching a mirror on the hub: the objects it holds, the marker, then the edge's later puts,
overwrites and deletes as live updates, each named by the copy's bucket (spec §7.10
criterion 2; the spec ran only the first seconds of a watch, §8)."""

from __future__ import annotations

import asyncio
import os

import natsobj
from natsobj import Origin
from natsobj.testing.leaf import LeafPair

from .conftest import unique

LIVE = 10.0  # seconds an update may take from the edge's ack to the hub's watcher


async def next_update(watcher: natsobj.ObjectWatcher) -> natsobj.ObjectInfo | None:
    return await asyncio.wait_for(watcher.__anext__(), LIVE)


def same_version(got: natsobj.ObjectInfo | None, edge: natsobj.ObjectInfo, bucket: str) -> None:
    """`got`, seen on the hub, is the version the edge stored (a mirror keeps the origin's
    sequences, so the revision too), read as the copy's bucket."""
    assert got is not None
    assert (got.name, got.bucket, got.deleted) == (edge.name, bucket, edge.deleted)
    assert (got.nuid, got.size, got.chunks, got.digest) == (
        edge.nuid,
        edge.size,
        edge.chunks,
        edge.digest,
    )
    assert got.revision == edge.revision


async def test_watch_on_a_mirror_gives_the_edges_later_changes_live(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    first = {
        "a": await origin.put("a", b"version one"),
        "multi": await origin.put("multi", os.urandom(5000), chunk_size=1024),
        "doomed": await origin.put("doomed", b"deleted later"),
    }
    name = unique("m")
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream)
    async with mirror.watch() as watcher, mirror.watch(updates_only=True) as updates:
        initial: dict[str, natsobj.ObjectInfo] = {}
        while (info := await next_update(watcher)) is not None:
            initial[info.name] = info
        assert sorted(initial) == sorted(first)
        for key, edge in first.items():
            same_version(initial[key], edge, name)

        changes = [
            ("put", await origin.put("b", os.urandom(3000), chunk_size=1024)),
            ("overwrite", await origin.put("a", b"version two, longer")),
            ("delete", await origin.delete("doomed")),
            ("overwrite multi", await origin.put("multi", os.urandom(2048), chunk_size=512)),
        ]
        for what, edge in changes:
            assert not edge.deleted or what == "delete"
            seen = await next_update(watcher)
            same_version(seen, edge, name)
            # updates_only: no initial objects and no marker, only what came after it began
            same_version(await next_update(updates), edge, name)
    assert changes[2][1].deleted
    assert await mirror.get("a") == b"version two, longer"
