"""The gateway over a real 3-node R3 cluster, with the stream leader killed (SIGKILL) under it:
a 256 MiB PUT completes with the right ETag and bytes and leaves no orphan chunk; a GET in
flight completes or fails with an error the client sees (never a short body taken for the
whole object)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, IncompleteReadError, ResponseStreamingError
from botocore.exceptions import ConnectionError as BotoConnectionError

import natsobj
from natsobj.testing.cluster import Cluster, ClusterError

from .conftest import Gateway, start_gateway, stop_gateway

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

MiB = 1 << 20
SIZE = 256 * MiB
KILL_AT = 64 * MiB
"""Kill the stream leader once this much of the object is in the stream (or has been read)."""
CAP = 150.0
"""Seconds any one step may take: a 256 MiB R3 transfer (5-9 s), an election (4-9 s), the
store's stall timeout (30 s) and a 2-core machine shared with others."""
BUCKET = "r3-faults"
VISIBLE = 10.0
READ_PAUSE = 0.02
"""Seconds a GET's reader waits per MiB (256 MiB take over 5 s)."""
CUT = (IncompleteReadError, ResponseStreamingError, BotoConnectionError)
"""What botocore raises for a body cut short."""


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = Cluster()
    try:
        try:
            c.start()
        except ClusterError:
            c.start()  # a port taken between the check and the bind, or a split first vote
        yield c
    finally:
        c.shutdown()
        if not request.session.testsfailed:
            shutil.rmtree(c.data_dir, ignore_errors=True)


@dataclass
class Site:
    cluster: Cluster
    gateway: Gateway
    admin: natsobj.Client
    store: natsobj.ObjectStore

    @property
    def stream(self) -> str:
        return f"OBJ_{BUCKET}"

    async def messages(self) -> int:
        return int((await self.store.status()).stream_info["state"]["messages"])


@pytest.fixture
async def site(cluster: Cluster, tmp_path: Path) -> AsyncIterator[Site]:
    """An R3 bucket, a gateway given all three nodes, and an admin client."""
    await asyncio.to_thread(cluster.heal)
    admin = await natsobj.connect(cluster.urls)
    store = await retry(lambda: admin.create_object_store(BUCKET, replicas=3, storage="file"))
    gateway = start_gateway(",".join(cluster.urls), tmp_path)
    try:
        yield Site(cluster, gateway, admin, store)
    finally:
        stop_gateway(gateway)
        await asyncio.to_thread(cluster.heal)
        await retry(lambda: admin.delete_object_store(BUCKET))
        await admin.close()
    assert "Traceback" not in gateway.log_text(), gateway.log_text()[-3000:]


async def retry(call: Callable[[], Any], seconds: float = 30.0) -> Any:
    """Retry a natsobj call while the cluster settles (an election, a first start)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await call()
        except (natsobj.StoreTimeoutError, natsobj.ConnectionLostError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def kill_leader_when(site: Site, ready: Callable[[], Any]) -> tuple[int, float]:
    """SIGKILL the stream leader once `ready()` is true: (its index, when)."""
    deadline = time.monotonic() + CAP
    while not await ready():
        assert time.monotonic() < deadline, "the transfer never got far enough to fault"
        await asyncio.sleep(0.05)
    leader = await asyncio.to_thread(site.cluster.wait_stream_leader, site.stream)
    await asyncio.to_thread(site.cluster.kill, leader)
    return leader, time.monotonic()


async def visible(site: Site, name: str) -> natsobj.ObjectInfo:
    """`name` as the admin client reads it. A direct get may reach a replica a little behind
    the PUT's quorum: allow VISIBLE seconds, and say what each side saw meanwhile."""
    deadline = time.monotonic() + VISIBLE
    while True:
        try:
            return await retry(lambda: site.store.get_info(name))  # type: ignore[no-any-return]
        except natsobj.ObjectNotFoundError:
            try:
                seen = site.gateway.client().head_object(Bucket=BUCKET, Key=name)["ETag"]  # type: ignore[attr-defined]
            except ClientError as exc:
                seen = str(exc)
            print(f"admin: {name!r} not found; the gateway's HEAD: {seen}\n"
                  + site.cluster.stream_summary(site.stream))  # fmt: skip
            assert time.monotonic() < deadline, f"{name!r} stored (200) but not found"
            await asyncio.sleep(0.5)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run a blocking call on a thread: (the thread, [its result or exception])."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(call())
        except Exception as exc:
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


async def joined(thread: threading.Thread, box: list[Any]) -> Any:
    await asyncio.to_thread(thread.join, CAP)
    assert not thread.is_alive(), f"the request did not end within {CAP:g} s"
    return box[0]


async def test_a_256_mib_put_survives_a_leader_kill(site: Site) -> None:
    body = os.urandom(SIZE)
    md5 = hashlib.md5(body).hexdigest()
    s3 = site.gateway.client(read_timeout=CAP, retries={"total_max_attempts": 1})
    before = await site.messages()
    started = time.monotonic()
    thread, box = in_thread(lambda: s3.put_object(Bucket=BUCKET, Key="big", Body=body))  # type: ignore[attr-defined]

    async def far_enough() -> bool:
        return await retry(site.messages) - before >= KILL_AT // (128 * 1024)

    leader, killed = await kill_leader_when(site, far_enough)
    assert thread.is_alive(), "the PUT ended before the kill"
    result = await joined(thread, box)
    took = time.monotonic() - started
    print(f"\n256 MiB PUT: stream leader n{leader} killed at {killed - started:.1f} s; "
          f"the PUT answered after {took:.1f} s: {result!r:.120}")  # fmt: skip
    assert not isinstance(result, Exception), result
    assert result["ETag"] == f'"{md5}"'
    info = await visible(site, "big")
    assert info.size == SIZE
    orphans = await retry(lambda: site.store.orphan_chunk_subjects(min_age=timedelta(0)))
    assert orphans == {}
    assert await retry(site.messages) == before + info.chunks + 1
    got = hashlib.md5()
    read = s3.get_object(Bucket=BUCKET, Key="big")  # type: ignore[attr-defined]
    for chunk in read["Body"].iter_chunks(MiB):
        got.update(chunk)
    assert got.hexdigest() == md5 and read["ETag"] == f'"{md5}"'


async def test_a_get_in_flight_at_a_leader_kill_is_whole_or_an_error(site: Site) -> None:
    body = os.urandom(SIZE)
    md5 = hashlib.md5(body).hexdigest()
    await retry(lambda: site.store.put("big", body))
    await asyncio.to_thread(site.cluster.wait_stream_synced, site.stream, 30.0)
    s3 = site.gateway.client(read_timeout=CAP, retries={"total_max_attempts": 1})
    progress = [0]

    def read() -> str:
        got = hashlib.md5()
        response = s3.get_object(Bucket=BUCKET, Key="big")  # type: ignore[attr-defined]
        for chunk in response["Body"].iter_chunks(MiB):
            got.update(chunk)
            progress[0] += len(chunk)
            time.sleep(READ_PAUSE)  # a reader slow enough that the kill lands mid-body
        return got.hexdigest()

    started = time.monotonic()
    thread, box = in_thread(read)

    async def far_enough() -> bool:
        return progress[0] >= KILL_AT or not thread.is_alive()

    leader, killed = await kill_leader_when(site, far_enough)
    at_kill = progress[0]
    result = await joined(thread, box)
    assert at_kill < SIZE, "the GET ended before the kill"
    print(f"\nGET in flight: stream leader n{leader} killed at {killed - started:.1f} s, "
          f"{at_kill / MiB:.0f} MiB read; it ended after {time.monotonic() - started:.1f} s: "
          f"{result!r:.160}")  # fmt: skip
    if isinstance(result, ClientError):
        assert result.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    elif isinstance(result, Exception):
        assert isinstance(result, CUT), result
    else:
        assert result == md5, "a GET returned other or fewer bytes as a success"
