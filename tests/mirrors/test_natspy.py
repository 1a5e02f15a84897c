"""What nats-py 2.16 can do with a natsobj mirror (the README's note): it reads infos, but not
bytes or listings, since it finds a stream by subject and a mirror has none (nats.py#534);
through the origin's domain it reads everything. natsobj binds by name and reads both."""

from __future__ import annotations

import nats
import nats.js.errors
import pytest

import natsobj
from natsobj import Origin
from natsobj.testing.leaf import LeafPair

from .test_mirror import synced


async def test_nats_py_reads_a_mirrors_infos_not_its_bytes_and_the_origin_through_its_domain(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    await origin.put("x", b"hello from the edge")
    hub_buckets.append(origin.bucket)
    mirror = await hub.create_object_store(
        origin.bucket, mirror=Origin(origin.bucket, domain="leaf")
    )
    await synced(pair, origin.bucket, origin.bucket)
    nc = await nats.connect(pair.hub_url)
    try:
        on_hub = await nc.jetstream().object_store(origin.bucket)
        assert (await on_hub.get_info("x")).size == len(b"hello from the edge")
        with pytest.raises(nats.js.errors.NotFoundError):
            await on_hub.get("x")
        with pytest.raises(nats.js.errors.NotFoundError):
            await on_hub.list()
        at_edge = await nc.jetstream(domain=pair.leaf_domain).object_store(origin.bucket)
        assert (await at_edge.get("x")).data == b"hello from the edge"
    finally:
        await nc.close()
    assert await mirror.get("x") == b"hello from the edge"
