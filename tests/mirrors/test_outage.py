"""A mirror whose origin is unreachable: status says stale (lag alone stays 0), reads go on,
and writes are still refused at once (shared/spec/mirrors.md §7.10 criterion 5)."""

from __future__ import annotations

import asyncio
import time

import pytest

import natsobj
from natsobj import Origin
from natsobj.testing.leaf import LeafPair

from .conftest import unique

OUTAGE = 12.0  # seconds: longer than STALE_AFTER (10 s), as the spec's criterion asks


async def test_status_is_stale_while_the_leaf_is_down_and_reads_go_on(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    await origin.put("x", b"before the outage")
    name = unique("m")
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream)
    fresh = (await mirror.status()).replication
    assert fresh is not None and not fresh.stale
    await asyncio.to_thread(pair.stop_leaf)
    try:
        await asyncio.sleep(OUTAGE)
        rep = (await mirror.status()).replication
        assert rep is not None and rep.stale
        (state,) = rep.origins
        assert state.stale and state.lag == 0  # lag says nothing while disconnected
        assert state.last_contact is None or state.last_contact.total_seconds() >= 10
        assert await mirror.get("x") == b"before the outage"
        start = time.monotonic()
        with pytest.raises(natsobj.BucketReadOnlyError):
            await mirror.put("y", b"y")
        assert time.monotonic() - start < 0.5
    finally:
        await asyncio.to_thread(pair.start_leaf)
