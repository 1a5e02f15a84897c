"""Puts and gets on an R3 bucket survive node faults on a real 3-node cluster, losing nothing.

Each fault test records what it saw in the fault table printed at the end of the run. Set
NATSOBJ_FAULT_RUNS=N to repeat every fault N times (the table then shows N runs per fault).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import pytest

import natsobj
from natsobj import _wire as wire
from natsobj.testing.cluster import Cluster
from tests.cluster.conftest import FaultLog, R3Bucket, retry_transient, within

pytestmark = pytest.mark.cluster

T = TypeVar("T")

MiB = 1 << 20
BIG = 64 * MiB
FAULT_AT = 0.25
"""Inject the fault once this fraction of the object has been sent (or read)."""
CAP = 100.0
"""Cap of every test body: one election (4-9 s), a heal (about 3 s) and a 64 MiB put or two."""
PAUSE_SHORT = 3.0
"""A pause shorter than the Raft election timeout (4-9 s): the leader keeps its term."""
EAGER_ACK = 0.5
"""An ack_timeout that re-sends several times during PAUSE_SHORT."""
NATS_PY_GET_STALL = 17.0
"""nats-py's get stall across a leader kill (cluster-testing.md, 2e)."""
MAX_GET_STALL = 8.0
RUNS = int(os.environ.get("NATSOBJ_FAULT_RUNS", "1"))
runs = pytest.mark.parametrize("run", range(RUNS), ids=lambda r: f"run{r}")

Clients = Callable[..., Awaitable[natsobj.Client]]


@dataclass(frozen=True)
class Payload:
    data: bytes
    sha256: bytes


@pytest.fixture(scope="module")
def big() -> Payload:
    data = os.urandom(BIG)
    return Payload(data, hashlib.sha256(data).digest())


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def other_than(*nodes: int | None) -> int:
    """A node index that is none of `nodes` (the first such)."""
    return next(i for i in range(3) if i not in nodes)


def survivor(leader: int, meta: int | None) -> int:
    """A node that is not the stream leader and, if possible, not the meta leader either."""
    if meta is not None and meta != leader:
        return other_than(leader, meta)
    return other_than(leader)


async def chunk_counts(client: natsobj.Client, bucket: str, nuid: str) -> dict[str, int]:
    subject = wire.chunk_subject(bucket, nuid)
    info = await retry_transient(
        lambda: client.js.stream_info(wire.stream_name(bucket), subjects_filter=subject)
    )
    return dict(info.get("state", {}).get("subjects") or {})


async def chunk_order(client: natsobj.Client, bucket: str, nuid: str) -> list[int | None]:
    """The chunk index (from Nats-Msg-Id) of each of an object's chunks, in stream order."""
    subject = wire.chunk_subject(bucket, nuid)
    order: list[int | None] = []
    seq = 1
    while True:
        stored = await retry_transient(
            lambda seq=seq: client.js.direct_get(
                wire.stream_name(bucket), {"seq": seq, "next_by_subj": subject}
            )
        )
        if stored is None:
            return order
        order.append(wire.parse_chunk_msg_id(stored.headers.get(wire.MSG_ID_HEADER), nuid))
        seq = stored.seq + 1


async def put_with_fault(
    store: natsobj.ObjectStore,
    name: str,
    data: bytes,
    fault: Callable[[], Awaitable[None]],
) -> tuple[asyncio.Task[natsobj.ObjectInfo], float]:
    """Start a put, run `fault` once FAULT_AT of it is sent, and wait for the put to end.

    Returns the finished put task and the seconds from the fault to the put's end.
    """
    reached = asyncio.Event()
    sent = 0

    def progress(n: int) -> None:
        nonlocal sent
        sent += n
        if sent >= FAULT_AT * len(data):
            reached.set()

    put = asyncio.ensure_future(store.put(name, data, progress=progress))
    waiter = asyncio.ensure_future(reached.wait())
    await asyncio.wait({put, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    assert not put.done(), f"the put ended before the fault: {put.exception()!r}"
    started = time.monotonic()
    await fault()
    await asyncio.wait({put})
    return put, time.monotonic() - started


async def check_put_landed(
    client: natsobj.Client,
    store: natsobj.ObjectStore,
    name: str,
    payload: Payload,
    info: natsobj.ObjectInfo,
) -> int:
    """Assert the object reads back whole and no chunk is stored twice; return orphan count."""
    order = await chunk_order(client, store.bucket, info.nuid)
    misplaced = [(pos, index) for pos, index in enumerate(order) if pos != index]
    assert not misplaced, (
        f"{len(misplaced)} of {len(order)} chunks are stored out of order, e.g. "
        f"(stream position, chunk index) {misplaced[:3]}: a reader concatenating in stream "
        "order gets the wrong bytes"
    )
    got = await retry_transient(lambda: store.get(name))
    assert len(got) == len(payload.data)
    assert sha(got) == payload.sha256
    assert info.size == len(payload.data)
    # A re-sent chunk that the duplicate window did not drop would show as an extra message.
    assert await chunk_counts(client, store.bucket, info.nuid) == {
        wire.chunk_subject(store.bucket, info.nuid): info.chunks
    }
    orphans = await retry_transient(store.orphan_chunk_subjects)
    return sum(orphans.values())


async def put_across_fault(
    cluster: Cluster,
    bucket: R3Bucket,
    clients: Clients,
    big: Payload,
    fault_log: FaultLog,
    fault_name: str,
    *,
    client_node: Callable[[int, int | None], int],
    inject: Callable[[int, int], Awaitable[None]],
    transfer: natsobj.TransferSettings | None = None,
) -> None:
    """A 64 MiB put with `inject(leader, client_node)` run mid-put must land intact."""
    row = fault_log.row(fault_name)
    row.runs += 1
    leader = await asyncio.to_thread(cluster.wait_stream_leader, bucket.stream)
    meta = await asyncio.to_thread(cluster.meta_leader)
    node = client_node(leader, meta)
    client = await clients(node, transfer)
    store = await client.object_store(bucket.name)

    put, after_fault = await put_with_fault(store, "big", big.data, lambda: inject(leader, node))
    info = put.result()  # raises the put's error if it failed
    print(f"\n{fault_name}: put ended {after_fault:.2f} s after the fault (leader n{leader})")

    orphans = await check_put_landed(client, store, "big", big, info)
    row.puts_completed += 1
    row.orphans_left += orphans
    assert orphans == 0

    await asyncio.to_thread(cluster.heal)
    await asyncio.to_thread(cluster.wait_stream_synced, bucket.stream)
    orphans = sum((await retry_transient(store.orphan_chunk_subjects)).values())
    row.orphans_left += orphans
    assert orphans == 0
    assert sha(await retry_transient(lambda: store.get("big"))) == big.sha256


# ---------------------------------------------------------------------------------------------
# puts


@pytest.mark.slow
@runs
async def test_put_survives_kill_of_stream_leader(
    run: int,
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    big: Payload,
    fault_log: FaultLog,
) -> None:
    async def inject(leader: int, _client_node: int) -> None:
        await asyncio.to_thread(healthy.kill, leader)

    await within(
        CAP,
        put_across_fault(
            healthy,
            r3_bucket,
            clients,
            big,
            fault_log,
            "put 64 MiB: kill -9 stream leader",
            client_node=survivor,
            inject=inject,
        ),
    )


@runs
async def test_put_survives_graceful_leader_handoff(
    run: int,
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    big: Payload,
    fault_log: FaultLog,
) -> None:
    """The leader hands off in about 0.1 s; chunks in flight to it may be lost and are re-sent.

    With the default TransferSettings it passed 16 runs in 16 (NATSOBJ_FAULT_RUNS=8, twice, at
    370c782); the put ended 0.8-4.1 s after the SIGTERM.
    """

    async def inject(leader: int, _client_node: int) -> None:
        await asyncio.to_thread(healthy.stop, leader)

    await within(
        CAP,
        put_across_fault(
            healthy,
            r3_bucket,
            clients,
            big,
            fault_log,
            "put 64 MiB: SIGTERM stream leader (hand-off)",
            client_node=survivor,
            inject=inject,
        ),
    )


@runs
async def test_put_survives_kill_of_clients_own_server(
    run: int,
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    big: Payload,
    fault_log: FaultLog,
) -> None:
    """The client is on a follower (not the stream leader) and that server dies mid-put.

    Chunks whose acks died with that server are re-sent after ack_timeout, on the new
    connection. With the default TransferSettings it passed 16 runs in 16
    (NATSOBJ_FAULT_RUNS=8, twice, at 370c782); the put ended 2.2-3.9 s after the kill.
    """

    async def inject(_leader: int, client_node: int) -> None:
        await asyncio.to_thread(healthy.kill, client_node)

    await within(
        CAP,
        put_across_fault(
            healthy,
            r3_bucket,
            clients,
            big,
            fault_log,
            "put 64 MiB: kill -9 the client's own server",
            client_node=survivor,
            inject=inject,
        ),
    )


@pytest.mark.slow
@runs
async def test_put_survives_short_pause_of_stream_leader(
    run: int,
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    big: Payload,
    fault_log: FaultLog,
) -> None:
    """Re-sends pile up behind the hung leader (an eager ack_timeout makes several rounds)."""

    async def inject(leader: int, _client_node: int) -> None:
        await asyncio.to_thread(healthy.pause, leader)
        await asyncio.sleep(PAUSE_SHORT)
        await asyncio.to_thread(healthy.resume, leader)

    await within(
        CAP,
        put_across_fault(
            healthy,
            r3_bucket,
            clients,
            big,
            fault_log,
            f"put 64 MiB: SIGSTOP stream leader {PAUSE_SHORT:g} s (ack_timeout {EAGER_ACK:g} s)",
            client_node=survivor,
            inject=inject,
            transfer=natsobj.TransferSettings(ack_timeout=EAGER_ACK),
        ),
    )


@pytest.mark.slow
@runs
async def test_put_outlasted_by_paused_leader_fails_cleanly(
    run: int,
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    big: Payload,
    fault_log: FaultLog,
) -> None:
    """A leader paused past the put's stall_timeout: one typed error, old version intact,
    no orphan chunks once the cluster heals."""
    stall = 3.0
    fault = f"put 64 MiB: SIGSTOP stream leader > stall_timeout ({stall:g} s)"

    async def body() -> None:
        row = fault_log.row(fault)
        row.runs += 1
        leader = await asyncio.to_thread(healthy.wait_stream_leader, r3_bucket.stream)
        meta = await asyncio.to_thread(healthy.meta_leader)
        client = await clients(
            survivor(leader, meta),
            natsobj.TransferSettings(stall_timeout=stall, ack_timeout=1.0),
        )
        store = await client.object_store(r3_bucket.name)
        old = os.urandom(MiB)
        old_info = await store.put("big", old)
        # Reads go through a client with default settings: the small stall_timeout is the
        # put's deadline, and natsobj also bounds meta lookups by it.
        reader = await (await clients(survivor(leader, meta))).object_store(r3_bucket.name)

        async def inject() -> None:
            await asyncio.to_thread(healthy.pause, leader)

        put, after_fault = await put_with_fault(store, "big", big.data, inject)
        error = put.exception()
        print(f"\n{fault}: put failed {after_fault:.2f} s after the pause: {error!r}")
        assert isinstance(error, natsobj.ObjectStoreError), repr(error)
        causes = [error]
        while causes[-1].__cause__ is not None:
            causes.append(causes[-1].__cause__)
        assert any(isinstance(c, natsobj.StoreTimeoutError) for c in causes), causes
        assert f"{stall:g}s" in str(error) or "acknowledged" in str(error), str(error)

        # The old version, read while the old leader is still paused.
        assert (await reader.get_info("big")).nuid == old_info.nuid
        assert sha(await reader.get("big")) == sha(old)

        await asyncio.to_thread(healthy.heal)
        await asyncio.to_thread(healthy.wait_stream_synced, r3_bucket.stream)
        orphans = await retry_transient(reader.orphan_chunk_subjects)
        row.orphans_left += sum(orphans.values())
        assert orphans == {}
        assert (await reader.get_info("big")).nuid == old_info.nuid
        assert sha(await reader.get("big")) == sha(old)
        row.puts_failed_cleanly += 1

    await within(CAP, body())


# ---------------------------------------------------------------------------------------------
# gets


async def timed_read(
    store: natsobj.ObjectStore, name: str, size: int, fault: Callable[[], Awaitable[None]]
) -> tuple[bytes, float]:
    """Stream `name`, run `fault` once FAULT_AT of it arrived; return bytes and worst stall.

    The stall is the longest gap between two chunks (or the fault and the next chunk).
    """
    parts: list[bytes] = []
    got = 0
    worst = 0.0
    faulted = False
    async with store.open(name) as reader:
        last = time.monotonic()
        async for chunk in reader:
            now = time.monotonic()
            worst = max(worst, now - last)
            parts.append(chunk)
            got += len(chunk)
            if not faulted and got >= FAULT_AT * size:
                faulted = True
                await fault()
                worst = 0.0  # count only the stall the fault causes (and after)
            last = time.monotonic()
    assert faulted, "the read ended before the fault"
    return b"".join(parts), worst


@pytest.mark.slow
@runs
@pytest.mark.parametrize("client_on", ["leader", "follower"])
async def test_get_survives_kill_of_stream_leader(
    run: int,
    client_on: str,
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    big: Payload,
    fault_log: FaultLog,
) -> None:
    fault = f"get 64 MiB: kill -9 stream leader, client on {client_on}"

    async def body() -> None:
        row = fault_log.row(fault)
        row.runs += 1
        writer = await clients()
        await (await writer.object_store(r3_bucket.name)).put("big", big.data)
        leader = await asyncio.to_thread(healthy.wait_stream_leader, r3_bucket.stream)
        meta = await asyncio.to_thread(healthy.meta_leader)
        node = leader if client_on == "leader" else survivor(leader, meta)
        store = await (await clients(node)).object_store(r3_bucket.name)

        async def kill() -> None:
            await asyncio.to_thread(healthy.kill, leader)

        started = time.monotonic()
        data, stall = await timed_read(store, "big", BIG, kill)
        elapsed = time.monotonic() - started
        print(f"\n{fault}: read in {elapsed:.2f} s, worst stall {stall:.2f} s")
        assert sha(data) == big.sha256
        row.gets_completed += 1
        row.worst_get_stall = max(row.worst_get_stall, stall)
        assert stall < MAX_GET_STALL, f"stalled {stall:.2f} s (nats-py: {NATS_PY_GET_STALL} s)"

    await within(CAP, body())


@runs
async def test_get_right_after_meta_leader_dies(
    run: int,
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    fault_log: FaultLog,
) -> None:
    """Direct get needs no meta leader: info, list and get all work while one is elected."""
    fault = "get 16 MiB: meta leader killed right before"

    async def body() -> None:
        row = fault_log.row(fault)
        row.runs += 1
        data = os.urandom(16 * MiB)
        writer = await clients()
        await (await writer.object_store(r3_bucket.name)).put("obj", data)
        meta = await asyncio.to_thread(healthy.wait_meta_leader)
        stream_leader = await asyncio.to_thread(healthy.stream_leader, r3_bucket.stream)
        store = await (await clients(other_than(meta))).object_store(r3_bucket.name)

        await asyncio.to_thread(healthy.kill, meta)
        timings: dict[str, float] = {}

        async def timed(what: str, call: Awaitable[T]) -> T:
            started = time.monotonic()
            try:
                return await call
            finally:
                timings[what] = time.monotonic() - started

        info = await timed("info", store.get_info("obj"))
        names = [i.name for i in await timed("list", store.list())]
        got = await timed("get", store.get("obj"))
        print(
            f"\n{fault}: "
            + ", ".join(f"{what} {seconds:.2f} s" for what, seconds in timings.items())
            + f" (the meta leader n{meta} was the stream leader: {meta == stream_leader})"
        )
        assert info.size == len(data)
        assert names == ["obj"]
        assert sha(got) == sha(data)
        row.gets_completed += 1
        worst = max(timings.values())
        row.worst_get_stall = max(row.worst_get_stall, worst)
        assert worst < MAX_GET_STALL, timings

    await within(CAP, body())


async def chunk_sequences(client: natsobj.Client, bucket: str, nuid: str) -> list[int]:
    """Stream sequences of an object's chunks, in order."""
    subject = wire.chunk_subject(bucket, nuid)
    seqs: list[int] = []
    seq = 1
    while True:
        stored = await client.js.direct_get(
            wire.stream_name(bucket), {"seq": seq, "next_by_subj": subject}
        )
        if stored is None:
            return seqs
        seqs.append(stored.seq)
        seq = stored.seq + 1


async def test_get_of_object_with_missing_chunk_fails_within_idle_timeout(
    healthy: Cluster,
    r3_bucket: R3Bucket,
    clients: Clients,
    tmp_path: Path,
    fault_log: FaultLog,
) -> None:
    fault = "get 2 MiB: one chunk deleted from the stream"
    idle = 5.0

    async def body() -> None:
        row = fault_log.row(fault)
        row.runs += 1
        client = await clients(None, natsobj.TransferSettings(chunk_timeout=idle))
        store = await client.object_store(r3_bucket.name)
        info = await store.put("holey", os.urandom(2 * MiB))
        seqs = await chunk_sequences(client, r3_bucket.name, info.nuid)
        assert len(seqs) == info.chunks == 16
        reply = await client.js.api(f"STREAM.MSG.DELETE.{r3_bucket.stream}", {"seq": seqs[5]})
        assert reply.get("success") is True

        started = time.monotonic()
        with pytest.raises(natsobj.MissingChunksError) as caught:
            await store.get("holey")
        elapsed = time.monotonic() - started
        print(f"\n{fault}: get failed in {elapsed:.2f} s: {caught.value}")
        assert elapsed < idle
        assert "15 of 16 chunks" in str(caught.value)

        target = tmp_path / "out" / "holey.bin"
        target.parent.mkdir()
        started = time.monotonic()
        with pytest.raises(natsobj.MissingChunksError):
            await store.get_file("holey", target)
        assert time.monotonic() - started < idle
        assert list(target.parent.iterdir()) == []

        # A file already at the target keeps its bytes: nothing unverified replaces it.
        target.write_bytes(b"precious")
        with pytest.raises(natsobj.MissingChunksError):
            await store.get_file("holey", target)
        assert target.read_bytes() == b"precious"
        assert list(target.parent.iterdir()) == [target]
        row.orphans_left += sum((await store.orphan_chunk_subjects()).values())

    await within(CAP, body())


# ---------------------------------------------------------------------------------------------
# soak


def load_soak() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "soak.py"
    spec = importlib.util.spec_from_file_location("natsobj_soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


async def test_small_puts_from_several_clients_keep_every_replica_applying(
    healthy: Cluster, r3_bucket: R3Bucket, clients: Clients
) -> None:
    """Concurrent small puts on an R3 bucket leave every replica current.

    nats-server re-checks a Nats-Expected-Last-Msg-Id on each replica when it applies the
    message, against the last msg id that replica applied. Another client's chunk, proposed
    between a chunk and its guarded meta, made a follower refuse the meta there ("last msgid
    mismatch"), and it stopped applying the stream ("critical write error"). On a cluster,
    natsobj's small puts do not send that header.
    """
    writers = [await clients() for _ in range(3)]
    stores = [await w.object_store(r3_bucket.name) for w in writers]

    async def write(index: int, store: natsobj.ObjectStore, names: list[str]) -> None:
        for i, name in enumerate(names):
            await store.put(name, os.urandom(200 + i + index))

    names = [[f"w{w}/{i}" for i in range(40)] for w in range(3)]
    await within(CAP, asyncio.gather(*(write(i, s, names[i]) for i, s in enumerate(stores))))
    # then all three at once over the same names: new-name guards meet existing names
    shared = [f"shared/{i}" for i in range(20)]
    await within(CAP, asyncio.gather(*(write(i, s, shared) for i, s in enumerate(stores))))
    # and put_many's pipeline, two clients over the same new names
    many = [[(f"many/{i}", os.urandom(300 + w)) for i in range(150)] for w in range(2)]
    batches = (stores[w].put_many(many[w], concurrency=32) for w in (0, 1))
    await within(CAP, asyncio.gather(*batches))
    await asyncio.to_thread(healthy.wait_stream_synced, r3_bucket.stream, 30.0)
    broken = [
        line
        for i in range(3)
        for line in healthy.log_path(i).read_text(errors="replace").splitlines()
        if r3_bucket.stream in line and ("critical write error" in line or "mismatch" in line)
    ]
    assert broken == []
    listed = await r3_bucket.admin.object_store(r3_bucket.name)
    assert len(await listed.list()) == 3 * 40 + 20 + 150
    assert await listed.orphan_chunk_subjects() == {}


@pytest.mark.slow
@pytest.mark.timeout(420)
async def test_short_soak_loses_nothing(healthy: Cluster, fault_log: FaultLog) -> None:
    soak = load_soak()
    # 20 s of faults, a heal, up to 60 s for the replicas to sync (then a rolling restart and
    # 60 s more, then a rebuild of the replicas from the leader and 60 s more: soak.resync),
    # and the final reads
    report = await within(380.0, soak.run_soak(healthy, seconds=20.0, writers=3, readers=2, seed=7))
    print("\n" + report.render())
    row = fault_log.row("soak 20 s (kill / SIGTERM / pause random nodes)")
    row.runs += 1
    row.puts_completed += report.puts_ok
    row.puts_failed_cleanly += report.puts_failed
    row.orphans_left += report.orphans_left
    row.gets_completed += report.gets_ok
    row.worst_get_stall = max(row.worst_get_stall, report.worst_get_stall)
    assert report.faults_injected > 0
    assert report.puts_ok > 0 and report.gets_ok > 0
    assert report.problems == [], report.problems
    # orphans are failures, except purges the server measurably lost in a run where it also
    # measurably left its replicas apart (soak.judge_orphans); one rebuild at most
    assert report.replicas_rebuilt <= 1
    assert len(report.replica_divergences) <= report.replicas_rebuilt
    assert not report.lost_purges or report.replica_divergences
