"""Fixtures for tests on a real 3-node JetStream cluster: one cluster per session, R3 buckets.

Every cluster call blocks (it polls the HTTP monitor), so async tests run them with
asyncio.to_thread. Fault tests record what they saw with `fault_log`; the table is printed at
the end of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

import natsobj
from natsobj import _wire as wire
from natsobj.testing.cluster import Cluster, ClusterError

T = TypeVar("T")

CREATE_ATTEMPTS = 5
CREATE_PAUSE = 0.5
SYNC_TIMEOUT = 20.0
DELETE_DEADLINE = 30.0
TRANSIENT = (natsobj.StoreTimeoutError, natsobj.ConnectionLostError)


# ---------------------------------------------------------------------------------------------
# capping test bodies


async def within(seconds: float, body: Awaitable[T]) -> T:
    """Run `body` as a task and fail the test if it takes longer than `seconds`.

    asyncio.wait, not wait_for: nats-py's TimeoutError is an asyncio.TimeoutError, so a cap made
    with wait_for could not be told apart from a timeout inside the code under test.
    """
    task = asyncio.ensure_future(body)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task not in done:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        pytest.fail(f"test body did not finish within {seconds:g} s (a hang?)")
    return task.result()


async def retry_transient(call: Callable[[], Awaitable[T]], deadline: float = 20.0) -> T:
    """Retry a natsobj call while the cluster elects a leader (timeouts, no responders)."""
    stop = time.monotonic() + deadline
    delay = 0.1
    while True:
        try:
            return await call()
        except TRANSIENT:
            if time.monotonic() + delay > stop:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


# ---------------------------------------------------------------------------------------------
# the fault table


@dataclass
class FaultRow:
    """What one kind of fault did over its runs."""

    runs: int = 0
    puts_completed: int = 0
    puts_failed_cleanly: int = 0
    orphans_left: int = 0
    gets_completed: int = 0
    worst_get_stall: float = 0.0
    notes: list[str] = field(default_factory=list)


class FaultLog:
    """Rows of the closing fault table, keyed by fault name."""

    def __init__(self) -> None:
        self.rows: dict[str, FaultRow] = {}

    def row(self, fault: str) -> FaultRow:
        return self.rows.setdefault(fault, FaultRow())

    def render(self) -> str:
        head = (
            f"{'fault':<44} {'runs':>4} {'puts ok':>7} {'puts failed cleanly':>19} "
            f"{'orphans left':>12} {'gets ok':>7} {'worst get stall':>15}"
        )
        lines = [head, "-" * len(head)]
        for fault, r in self.rows.items():
            stall = f"{r.worst_get_stall:.2f} s" if r.gets_completed else "-"
            lines.append(
                f"{fault:<44} {r.runs:>4} {r.puts_completed:>7} {r.puts_failed_cleanly:>19} "
                f"{r.orphans_left:>12} {r.gets_completed:>7} {stall:>15}"
            )
            lines.extend(f"    {note}" for note in r.notes)
        return "\n".join(lines)


_FAULT_LOG = FaultLog()


@pytest.fixture(scope="session")
def fault_log() -> FaultLog:
    return _FAULT_LOG


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FAULT_LOG.rows:
        terminalreporter.section("natsobj cluster fault table")
        terminalreporter.write_line(_FAULT_LOG.render())


# ---------------------------------------------------------------------------------------------
# the cluster


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """One 3-node cluster for the whole session (about 0.3 s to start, rarely up to 8 s).

    Its data dir (node logs included) is kept when a test failed, and removed otherwise.
    """
    c = Cluster()
    try:
        try:
            c.start()
        except ClusterError:
            c.start()  # a port taken between the check and the bind, or a split first vote
        yield c
    finally:
        c.shutdown()
        if request.session.testsfailed:
            print(f"\ncluster data and node logs kept in {c.data_dir}")
        else:
            shutil.rmtree(c.data_dir, ignore_errors=True)


@pytest.fixture
def healthy(cluster: Cluster) -> Iterator[Cluster]:
    """The session cluster with every node up and a meta leader, before and after the test."""
    cluster.heal()
    yield cluster
    cluster.heal()


async def connect_to(
    cluster: Cluster,
    node: int | None = None,
    *,
    transfer: natsobj.TransferSettings | None = None,
    attempts: int = 40,
) -> natsobj.Client:
    """A client given all three URLs that happens to be connected to `node` (any if None).

    natsobj.connect shuffles the servers like every NATS client, so connect until it lands
    where the test needs it.
    """
    for _ in range(attempts):
        client = await natsobj.connect(cluster.urls, transfer=transfer)
        if node is None or cluster.node_of_url(client.nc.connected_url) == node:
            return client
        await client.close()
    raise AssertionError(f"could not get a connection to n{node} in {attempts} tries")


@pytest.fixture
async def clients(cluster: Cluster) -> AsyncIterator[Callable[..., Awaitable[natsobj.Client]]]:
    """A factory of clients on a chosen node (see connect_to); all closed after the test."""
    made: list[natsobj.Client] = []

    async def factory(
        node: int | None = None, transfer: natsobj.TransferSettings | None = None
    ) -> natsobj.Client:
        client = await connect_to(cluster, node, transfer=transfer)
        made.append(client)
        return client

    yield factory
    for client in made:
        with contextlib.suppress(Exception):
            await client.nc.close()


async def create_r3_bucket(client: natsobj.Client, bucket: str) -> natsobj.ObjectStore:
    """Create an R3 file bucket, retrying the occasional timeout or 503 right after a start."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return await client.create_object_store(bucket, replicas=3, storage="file")
        except TRANSIENT:
            if attempt == CREATE_ATTEMPTS:
                raise
            await asyncio.sleep(CREATE_PAUSE)
    raise AssertionError("unreachable")


async def wait_stream_ready(client: natsobj.Client, stream: str, timeout: float) -> None:
    """Poll stream info until the stream has a leader and both replicas are current."""
    stop = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < stop:
        with contextlib.suppress(*TRANSIENT):
            info = await client.js.stream_info(stream)
            last = info.get("cluster")
            replicas = (last or {}).get("replicas") or []
            if (
                (last or {}).get("leader")
                and len(replicas) == 2
                and all(r.get("current") and not r.get("offline") for r in replicas)
            ):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{stream} not ready after {timeout:g} s: {last}")


@dataclass
class R3Bucket:
    """An R3 bucket made for one test, with an admin client on any node."""

    name: str
    stream: str
    admin: natsobj.Client


@pytest.fixture
async def r3_bucket(healthy: Cluster) -> AsyncIterator[R3Bucket]:
    """A fresh R3 bucket with a leader and current replicas; deleted after heal."""
    name = "t" + uuid.uuid4().hex[:12]
    admin = await connect_to(healthy)
    try:
        await create_r3_bucket(admin, name)
        await wait_stream_ready(admin, wire.stream_name(name), SYNC_TIMEOUT)
        yield R3Bucket(name=name, stream=wire.stream_name(name), admin=admin)
        await asyncio.to_thread(healthy.heal)
        with contextlib.suppress(natsobj.BucketNotFoundError):
            await retry_transient(lambda: admin.delete_object_store(name), DELETE_DEADLINE)
    finally:
        with contextlib.suppress(Exception):
            await admin.nc.close()
