"""Garbage collection in a copy (shared/spec/mirrors.md §7.6, §7.10 criterion 6): purges at the
origin never reach a mirror, so the mirror purges the chunks its origin confirms gone, and only
those; an origin that cannot be asked means nothing is purged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import timedelta

import pytest

import natsobj
from natsobj import Origin
from natsobj._store import collect
from natsobj.testing.leaf import LeafPair

from .conftest import unique
from .test_mirror import arrives, synced


def hub_subject(bucket: str, info: natsobj.ObjectInfo) -> str:
    return f"$O.{bucket}.C.{info.nuid}"


@pytest.mark.parametrize("ask", ["each subject", "the whole list"])
async def test_gc_on_a_mirror_purges_exactly_what_an_overwrite_and_a_delete_left(
    pair: LeafPair,
    hub: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
    monkeypatch: pytest.MonkeyPatch,
    ask: str,
) -> None:
    if ask == "the whole list":  # what a GC with many orphans asks the origin
        monkeypatch.setattr(collect, "ASK_EACH_UP_TO", 0)
    replaced = await origin.put("replaced", os.urandom(3000), chunk_size=1000)  # 3 chunks
    deleted = await origin.put("deleted", os.urandom(1000), chunk_size=1000)  # 1 chunk
    await origin.put("kept", b"kept")
    name = unique("m")  # renamed: the origin is asked about its own subjects
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    await synced(pair, name, origin.bucket)
    assert (await mirror.orphan_chunks()).subjects == {}
    await origin.put("replaced", b"the new version")
    await origin.delete("deleted")
    assert await origin.orphan_chunk_subjects() == {}  # the origin purged them
    await synced(pair, name, origin.bucket)

    found = await mirror.orphan_chunks()
    gone = {hub_subject(name, replaced): 3, hub_subject(name, deleted): 1}
    assert dict(found.removable) == gone
    assert (dict(found.at_origin), dict(found.unknown), found.unreachable) == ({}, {}, ())
    assert await mirror.orphan_chunk_subjects() == gone

    before = pair.stream_state("hub", f"OBJ_{name}")
    assert before is not None
    assert await mirror.purge_orphans() == 4  # whatever their age: the origin confirmed it
    after = pair.stream_state("hub", f"OBJ_{name}")
    assert after is not None
    assert after["messages"] == before["messages"] - 4
    assert after["bytes"] < before["bytes"] - 4000
    print(f"hub mirror: {before['bytes']} -> {after['bytes']} bytes, 4 messages purged")
    assert (await mirror.orphan_chunks()).subjects == {}
    assert await mirror.get("replaced") == b"the new version"
    assert await mirror.get("kept") == b"kept"
    await origin.put("later", b"mirrored after the purge")  # the purge did not stop mirroring
    assert await arrives(mirror, "later") == b"mirrored after the purge"


async def test_gc_keeps_chunks_the_origin_still_has_an_upload_in_flight(
    pair: LeafPair,
    hub: natsobj.Client,
    leaf: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
) -> None:
    js = leaf.nc.jetstream()
    nuid = "inflight" + os.urandom(7).hex()
    for _ in range(2):  # chunks sent, meta not yet
        await js.publish(f"$O.{origin.bucket}.C.{nuid}", os.urandom(1000))
    name = origin.bucket  # same name: no transform
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(name, domain="leaf"))
    await synced(pair, name, name)
    found = await mirror.orphan_chunks()
    assert dict(found.at_origin) == {f"$O.{name}.C.{nuid}": 2}
    assert dict(found.removable) == {} and dict(found.unknown) == {}
    assert await mirror.purge_orphans(min_age=timedelta(0)) == 0
    state = pair.stream_state("hub", f"OBJ_{name}")
    assert state is not None and state["messages"] == 2


async def test_gc_refuses_and_purges_nothing_when_an_origin_cannot_be_asked(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    """An aggregate whose second origin's domain answers nobody: every orphan's fate is
    unknown (nuids are unique, but the silent origin might hold it)."""
    old = await origin.put("x", os.urandom(2000), chunk_size=1000)
    name = unique("agg")
    hub_buckets.append(name)
    unreachable = Origin("elsewhere", domain="nowhere")
    agg = await hub.create_object_store(
        name, sources=[Origin(origin.bucket, domain="leaf"), unreachable]
    )
    await arrives(agg, "x")
    await origin.put("x", b"v2")
    assert await arrives_as(agg, "x", b"v2")
    found = await agg.orphan_chunks()
    assert dict(found.unknown) == {hub_subject(name, old): 2}
    assert found.unreachable == ("elsewhere@nowhere",) and dict(found.removable) == {}
    before = pair.stream_state("hub", f"OBJ_{name}")
    start = time.monotonic()
    with pytest.raises(natsobj.OriginUnreachableError, match="elsewhere@nowhere") as caught:
        await agg.purge_orphans()
    assert time.monotonic() - start < 5.0
    assert caught.value.origins == ("elsewhere@nowhere",)
    assert pair.stream_state("hub", f"OBJ_{name}") == before


async def arrives_as(store: natsobj.ObjectStore, name: str, data: bytes) -> bool:
    stop = time.monotonic() + 10.0
    while True:
        with contextlib.suppress(natsobj.ObjectNotFoundError):
            if await store.get(name) == data:
                return True
        if time.monotonic() > stop:
            return False
        await asyncio.sleep(0.05)


async def test_gc_on_a_writable_aggregate_spares_its_own_recent_puts(
    hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    """A writable aggregate's own puts write chunks no origin has: for those (and only those)
    the age rule of plain buckets still applies."""
    name = unique("agw")
    hub_buckets.append(name)
    agg = await hub.create_object_store(
        name, sources=[Origin(origin.bucket, domain="leaf")], writable=True
    )
    local = f"$O.{name}.C.localPutInFlight000000"
    await hub.nc.jetstream().publish(local, b"a chunk of a put running on the hub")
    found = await agg.orphan_chunks(min_age=timedelta(minutes=10))
    assert dict(found.recent) == {local: 1} and dict(found.removable) == {}
    assert await agg.purge_orphans() == 0
    assert dict((await agg.orphan_chunks(min_age=timedelta(0))).removable) == {local: 1}
