"""Fixtures for mirror tests: one real hub + leaf pair per session (domains "hub" and "leaf"),
a client on each, and a fresh origin bucket at the leaf per test.

LeafPair's calls block (they poll the HTTP monitor), so async tests run them with
asyncio.to_thread.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

import natsobj
from natsobj.testing.leaf import LeafPair


@pytest.fixture(scope="session")
def pair() -> Iterator[LeafPair]:
    """A hub nats-server (domain "hub") and a leaf node (domain "leaf") linked on loopback."""
    p = LeafPair(hub_domain="hub", leaf_domain="leaf")
    p.start()
    try:
        yield p
    finally:
        p.shutdown()
        p.remove_data()


@pytest.fixture(scope="session")
async def hub(pair: LeafPair) -> AsyncIterator[natsobj.Client]:
    c = await natsobj.connect(pair.hub_url)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture(scope="session")
async def leaf(pair: LeafPair) -> AsyncIterator[natsobj.Client]:
    c = await natsobj.connect(pair.leaf_url)
    try:
        yield c
    finally:
        await c.close()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def fresh_bucket(client: natsobj.Client) -> AsyncIterator[natsobj.ObjectStore]:
    """A bucket with a new name on `client`'s JetStream, deleted afterwards."""
    name = unique("o")
    store = await client.create_object_store(name)
    try:
        yield store
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await client.delete_object_store(name)


@pytest.fixture
async def origin(leaf: natsobj.Client) -> AsyncIterator[natsobj.ObjectStore]:
    """A fresh bucket at the leaf (the edge), deleted after the test."""
    async with fresh_bucket(leaf) as store:
        yield store


@pytest.fixture
async def hub_buckets(hub: natsobj.Client) -> AsyncIterator[list[str]]:
    """Names of hub buckets the test creates: deleted after it."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await hub.delete_object_store(name)
