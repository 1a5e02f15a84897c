"""The 3-node cluster harness: start, leader failover, heal, pause (real nats-server processes)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from natsobj.testing.cluster import Cluster, ClusterError

pytestmark = pytest.mark.cluster

T = TypeVar("T")

# Errors a JetStream call can hit while a stream or meta leader is being elected.
TRANSIENT = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.shutdown()


@pytest.fixture
def healthy(cluster: Cluster) -> Iterator[Cluster]:
    cluster.heal()
    yield cluster
    cluster.heal()


@pytest.fixture
async def stream(healthy: Cluster) -> AsyncIterator[str]:
    """A fresh R3 file stream, deleted (after heal) on teardown."""
    name = "t" + uuid.uuid4().hex[:12]
    nc = await nats.connect(healthy.urls)
    try:
        js = nc.jetstream()
        await _retry(lambda: js.add_stream(name=name, subjects=[f"{name}.>"], num_replicas=3))
        healthy.wait_stream_synced(name)
        yield name
        healthy.heal()
        await _retry(lambda: js.delete_stream(name))
    finally:
        await nc.close()


async def _retry(call: Callable[[], Awaitable[T]], deadline: float = 20.0) -> T:
    """Retry a JetStream call on transient errors for up to ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        try:
            return await call()
        except TRANSIENT:
            if time.monotonic() >= end:
                raise
            await asyncio.sleep(0.2)


async def _publish(js: JetStreamContext, stream: str, ids: range) -> None:
    # Nats-Msg-Id makes a retried publish idempotent, so counts stay exact.
    for n in ids:
        hdrs = {"Nats-Msg-Id": f"{stream}-{n}"}
        await _retry(lambda n=n, h=hdrs: js.publish(f"{stream}.m", b"%d" % n, headers=h))


async def _connect_to(cluster: Cluster, first: int) -> NATS:
    order = [first] + [i for i in range(3) if i != first]
    return await nats.connect([cluster.url(i) for i in order], dont_randomize=True)


def test_start_agrees_on_meta_leader(healthy: Cluster) -> None:
    assert len(healthy.urls) == 3
    assert all(healthy.is_alive(i) for i in range(3))
    assert healthy.meta_leader() in (0, 1, 2)
    assert healthy.node_of_url(healthy.url(2)) == 2


def test_start_refuses_taken_ports(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        c = Cluster(base_port=port, data_dir=tmp_path)
        with pytest.raises(ClusterError, match="taken"):
            c.start()
        assert not any(c.is_alive(i) for i in range(3))


async def test_kill_stream_leader_elects_new_leader_and_heal_resyncs(
    healthy: Cluster, stream: str
) -> None:
    victim = healthy.wait_stream_leader(stream)
    # Connect to a survivor: a request sent just as the client's own server dies is lost (5 s).
    nc = await _connect_to(healthy, (victim + 1) % 3)
    try:
        js = nc.jetstream()
        await _publish(js, stream, range(10))

        healthy.kill(victim)
        assert not healthy.is_alive(victim)
        new = healthy.wait_stream_leader(stream, exclude=victim, timeout=15.0)
        assert new != victim

        await _publish(js, stream, range(10, 20))
        healthy.heal()
        healthy.wait_stream_synced(stream)
        assert healthy.replica_counts(stream) == {0: 20, 1: 20, 2: 20}
        info = await _retry(lambda: js.stream_info(stream))
        assert info.state.messages == 20
    finally:
        await nc.close()


async def test_paused_follower_does_not_block_writes_and_catches_up(
    healthy: Cluster, stream: str
) -> None:
    leader = healthy.wait_stream_leader(stream)
    meta = healthy.meta_leader()
    # A plain follower: neither stream leader nor, if avoidable, meta leader.
    follower = (
        next(i for i in range(3) if i not in (leader, meta))
        if meta != leader
        else ((leader + 1) % 3)
    )
    nc = await _connect_to(healthy, leader)
    try:
        js = nc.jetstream()
        healthy.pause(follower)
        assert healthy.is_alive(follower) and healthy.is_paused(follower)
        await _publish(js, stream, range(10))
        assert healthy.stream_leader(stream) == leader
        with pytest.raises(ClusterError, match="synced"):
            healthy.wait_stream_synced(stream, timeout=0.3)

        healthy.resume(follower)
        healthy.wait_stream_synced(stream)
        assert healthy.replica_counts(stream) == {0: 10, 1: 10, 2: 10}
    finally:
        await nc.close()
