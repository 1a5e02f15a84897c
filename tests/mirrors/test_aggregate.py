"""An aggregate of two origin buckets at the edge with a name in both (spec §7.8 test 8, §7.10
criterion 10): the version that reaches the aggregate's stream last wins, as for any sources,
one meta per name remains, everything left reads, and the leftovers are sorted per origin."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import pytest

import natsobj
from natsobj import Origin

from .conftest import fresh_bucket, unique
from .test_gc import arrives_as, hub_subject


@pytest.fixture
async def second(leaf: natsobj.Client) -> AsyncIterator[natsobj.ObjectStore]:
    async with fresh_bucket(leaf) as store:
        yield store


async def test_aggregate_of_two_edges_later_arrival_wins_and_leftovers_sorted_per_origin(
    hub: natsobj.Client,
    origin: natsobj.ObjectStore,
    second: natsobj.ObjectStore,
    hub_buckets: list[str],
) -> None:
    first_v1 = await origin.put("shared", os.urandom(2000), chunk_size=1000)
    only1 = await origin.put("only1", b"from the first edge bucket")
    await second.put("only2", b"from the second edge bucket")
    await origin.add_link("link", only1)
    name = unique("all")
    hub_buckets.append(name)
    agg = await hub.create_object_store(
        name, sources=[Origin(origin.bucket, domain="leaf"), Origin(second.bucket, domain="leaf")]
    )
    assert await arrives_as(agg, "shared", await origin.get("shared"))
    # the second origin writes the same name later: its version arrives last and wins
    from_second = os.urandom(3000)
    second_v = await second.put("shared", from_second, chunk_size=1000)
    assert await arrives_as(agg, "shared", from_second)
    # the first origin overwrites it: now that version is the last to arrive
    assert await arrives_as(agg, "only2", b"from the second edge bucket")
    await origin.put("shared", b"first edge, second version")
    assert await arrives_as(agg, "shared", b"first edge, second version")

    metas = await hub.js.stream_info(f"OBJ_{name}", bucket=name, subjects_filter=f"$O.{name}.M.>")
    assert set(metas["state"]["subjects"].values()) == {1}  # one meta per name
    assert sorted(i.name for i in await agg.list()) == ["link", "only1", "only2", "shared"]
    assert await agg.get("only1") == b"from the first edge bucket"
    assert await agg.get("link") == b"from the first edge bucket"  # resolved in the aggregate
    assert (await agg.get_info("shared")).bucket == name

    found = await agg.orphan_chunks()
    # the first origin purged its v1 when it overwrote it: removable; the second still holds
    # the version that lost the name here: kept while it does
    assert dict(found.removable) == {hub_subject(name, first_v1): 2}
    assert dict(found.at_origin) == {hub_subject(name, second_v): 3}
    assert await agg.purge_orphans() == 2
    assert await agg.get("shared") == b"first edge, second version"
    assert await agg.get("only2") == b"from the second edge bucket"
    await second.delete("shared")  # now the loser's chunks are gone at its origin too
    assert await arrives_deleted(agg, "shared")
    assert dict((await agg.orphan_chunks()).removable) == {hub_subject(name, second_v): 3}


async def arrives_deleted(store: natsobj.ObjectStore, name: str) -> bool:
    """The tombstone of `name` reached the aggregate (it wins over the live version)."""
    stop = time.monotonic() + 10.0
    while time.monotonic() < stop:
        try:
            await store.get_info(name)
        except natsobj.ObjectNotFoundError:
            return True
        await asyncio.sleep(0.05)
    return False
