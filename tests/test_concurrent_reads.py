"""Reads side by side on one connection: they share what they ask the server for, so nats-server
does not cut the connection as a slow consumer, and a read whose connection was cut anyway
resumes where it was instead of ending short."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

import natsobj
from natsobj._jetstream.share import CONSUMER_WINDOW, MIN_BATCH, ReadShare
from natsobj.server import EmbeddedServer

STEP = 60.0


def test_a_read_alone_may_use_a_consumer_and_reads_side_by_side_share_the_budget() -> None:
    share = ReadShare(budget=24 << 20)
    assert share.alone()
    share.batches = 4
    assert not share.alone()
    assert share.ask(8 << 20) == 6 << 20  # a fair part: a quarter of the budget
    assert share.ask(1 << 20) == 1 << 20  # never more than asked for
    assert share.asked == 7 << 20
    share.consumers = 1  # a push consumer's window comes off the budget
    left = (24 << 20) - CONSUMER_WINDOW
    assert share.ask(8 << 20) == left // 4  # the fair part of what is left
    assert share.ask(8 << 20) == left - (7 << 20) - left // 4  # what is still free
    assert share.ask(8 << 20) == MIN_BATCH  # nothing left: the least, never a wait
    share.received(100 << 20)
    assert share.asked == 0


async def _read_all(store: natsobj.ObjectStore, name: str, pause: float) -> bytes:
    digest = hashlib.sha256()
    async with store.open(name) as reader:
        count = 0
        async for chunk in reader:
            digest.update(chunk)
            count += 1
            if pause and count % 8 == 0:
                await asyncio.sleep(pause)  # a caller slower than the network
    return digest.digest()


async def _put_objects(store: natsobj.ObjectStore, count: int, size: int) -> dict[str, bytes]:
    expected = {}
    for i in range(count):
        data = os.urandom(size)
        await store.put(f"o{i}", data)
        expected[f"o{i}"] = hashlib.sha256(data).digest()
    return expected


async def test_eight_slow_whole_object_reads_keep_the_connection(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    expected = await _put_objects(store, 8, 48 << 20)
    before = client.nc.stats["reconnects"]
    got = await asyncio.wait_for(
        asyncio.gather(*(_read_all(store, name, 0.01) for name in expected)), STEP
    )
    assert got == list(expected.values())
    assert client.nc.stats["reconnects"] == before  # 3 cut-offs in 8 reads before the share
    assert client.js.reads.alone() and client.js.reads.asked == 0


@pytest.mark.timeout(180)
async def test_reads_cut_off_as_slow_consumers_resume_where_they_were(tmp_path) -> None:
    # A server that cuts a client off once 4 MB wait for it, far less than the reads' budget
    # assumes: reads side by side get their connection cut, often while the server is still
    # answering a batched get, until the budget has shrunk to what this server allows.
    async with EmbeddedServer(store_dir=tmp_path, extra_config="max_pending: 4MB") as server:
        c = await natsobj.connect(server.url)
        try:
            store = await c.create_object_store("cut")
            expected = await _put_objects(store, 6, 12 << 20)
            got = await asyncio.wait_for(
                asyncio.gather(*(_read_all(store, name, 0.01) for name in expected)), 150
            )
            assert got == list(expected.values())
            assert c.nc.stats["reconnects"] > 0  # the server did cut the connection
            assert c.js.reads.budget < ReadShare().budget
        finally:
            await c.close()
