"""Shared fixtures: one real nats-server for the session, a fresh bucket per test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

import natsobj
from natsobj.server import EmbeddedServer


@pytest.fixture(scope="session")
def server() -> Iterator[EmbeddedServer]:
    """A real nats-server with JetStream on a free loopback port and a temp store dir."""
    srv = EmbeddedServer()
    srv.start_sync()
    try:
        yield srv
    finally:
        srv.stop_sync()


@pytest.fixture(scope="session")
async def client(server: EmbeddedServer) -> AsyncIterator[natsobj.Client]:
    c = await natsobj.connect(server.url)
    try:
        yield c
    finally:
        await c.close()


def unique_bucket(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def bucket_name() -> str:
    return unique_bucket()


@pytest.fixture
async def store(client: natsobj.Client, bucket_name: str) -> AsyncIterator[natsobj.ObjectStore]:
    """A fresh bucket, deleted after the test."""
    s = await client.create_object_store(bucket_name)
    try:
        yield s
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await client.delete_object_store(bucket_name)
