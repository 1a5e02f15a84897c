#!/usr/bin/env python3
"""A bounded soak of natsobj on its own 3-node cluster while nodes crash, stop and hang.

Writers put, overwrite and delete objects (1 KiB - 8 MiB) in an R3 bucket and readers get
them, while a controller kills (-9), stops (SIGTERM) or pauses (SIGSTOP) a random node, the
stream leader or the meta leader every few seconds and then heals the cluster. Afterwards every
object whose last put returned must read back with that put's digest, no failed put may be
visible, the bucket must hold no orphan chunks, and every replica must hold the same
messages.

    python scripts/soak.py [--seconds 120] [--writers 4] [--readers 2] [--seed N]

Exits 1 on any lost, corrupt or wrongly visible object, a hung operation, any orphan chunk
subject natsobj left behind, or replicas that do not sync. Two things nats-server itself does
are counted, not failed, and only when measured as such (see `Soak.server_divergence` and
`Soak.judge_orphans`): replicas that all applied the same log to the same last sequence yet
hold different messages, and, in a run where that was measured, chunks that survived a purge
the server acknowledged after they were stored.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import logging
import math
import os
import random
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import natsobj
from natsobj import _jetstream, _transfer, _wire
from natsobj.testing.cluster import NODES, Cluster, ClusterError

T = TypeVar("T")

KiB = 1 << 10
MiB = 1 << 20
MIN_SIZE = KiB
MAX_SIZE = 8 * MiB
NAMES_PER_WRITER = 4
DELETE_SHARE = 0.15
FAULT_EVERY = (2.0, 5.0)
"""Seconds between the end of one fault and the next."""
FAULT_HOLD = (1.0, 4.0)
"""Seconds a node stays down or paused before the cluster is healed."""
OP_CAP = 150.0
"""An operation running longer than this counts as hung (a put may wait out an election,
its stall_timeout of 30 s and a purge retried for 30 s)."""
DRAIN_CAP = 200.0
SYNC_TIMEOUT = 60.0
HEAL_TIMEOUT = 60.0
CLIENT_APPLY_FAILURES = ("critical write error", "last msgid mismatch", "wrong last sequence")
"""What a node logs when a replica refuses, as it applies it, a message a client guarded
(natsobj once caused the first two, see `Soak.replica_errors`)."""

Absent = None


def digest_of(data: bytes) -> str:
    """natsobj's digest string for `data`, computed here independently."""
    return "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class NameState:
    """What the final state of one object name may be, from what its writer saw."""

    allowed: set[str | None] = field(default_factory=lambda: {Absent})
    """Digests (None: absent or deleted) the object may show at the end."""
    failed: set[str] = field(default_factory=set)
    """Digests of puts that failed: they must never be visible."""


@dataclass
class SoakReport:
    """Counts of one soak run, and every problem found."""

    seconds: float = 0.0
    puts_ok: int = 0
    puts_failed: int = 0
    deletes_ok: int = 0
    deletes_failed: int = 0
    gets_ok: int = 0
    gets_missing: int = 0
    """Gets of a name that was absent (never written or deleted): expected."""
    gets_raced: int = 0
    """Gets that failed because a writer replaced or deleted the object mid-read: expected."""
    gets_failed: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    failure_examples: dict[str, str] = field(default_factory=dict)
    """The first message seen for each kind of failure."""
    chunks_published: int = 0
    chunks_resent: int = 0
    cleanup_warnings: int = 0
    bytes_written: int = 0
    bytes_verified: int = 0
    worst_get_stall: float = 0.0
    objects_checked: int = 0
    orphans_left: int = 0
    orphan_messages: int = 0
    orphans_purged: int = 0
    orphan_subjects: dict[str, int] = field(default_factory=dict)
    """Every chunk subject no meta pointed to after the final reads, with its message count."""
    replica_divergences: list[str] = field(default_factory=list)
    """Replicas nats-server left apart, each with what was measured (a counted exception)."""
    replicas_rebuilt: int = 0
    lost_purges: list[str] = field(default_factory=list)
    """Orphans whose purge the server acknowledged after they were stored (counted only in a
    run with a measured replica divergence; else each is a problem)."""
    problems: list[str] = field(default_factory=list)

    def surfaced(self, kind: str, exc: BaseException) -> None:
        self.failures[kind] += 1
        self.failure_examples.setdefault(kind, str(exc)[:160])

    @property
    def operations(self) -> int:
        return (
            self.puts_ok
            + self.puts_failed
            + self.deletes_ok
            + self.deletes_failed
            + self.gets_ok
            + self.gets_missing
            + self.gets_raced
            + self.gets_failed
        )

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        failures = ", ".join(f"{k} {v}" for k, v in self.failures.most_common()) or "none"
        lines = [
            f"soak: {self.seconds:.0f} s, {self.operations} operations",
            f"  puts:    {self.puts_ok} ok, {self.puts_failed} failed "
            f"({self.bytes_written / MiB:.1f} MiB written)",
            f"  deletes: {self.deletes_ok} ok, {self.deletes_failed} failed",
            f"  gets:    {self.gets_ok} ok, {self.gets_missing} absent, "
            f"{self.gets_raced} raced a writer, {self.gets_failed} failed",
            f"  faults injected: {self.faults_injected} ({faults})",
            f"  chunk publishes: {self.chunks_published}, re-sent: {self.chunks_resent}",
            f"  failures surfaced: {failures}",
            *(f"    {kind}: {text}" for kind, text in sorted(self.failure_examples.items())),
            f"  failed-put cleanups that logged a warning: {self.cleanup_warnings}",
            f"  bytes verified: {self.bytes_verified / MiB:.1f} MiB "
            f"(final check: {self.objects_checked} objects)",
            f"  worst get stall: {self.worst_get_stall:.2f} s",
            f"  orphan chunk subjects after heal: {self.orphans_left} "
            f"({self.orphan_messages} messages), purged: {self.orphans_purged}",
            *(f"    {subject}: {count}" for subject, count in sorted(self.orphan_subjects.items())),
            f"  replicas rebuilt from the leader: {self.replicas_rebuilt}",
            f"  nats-server divergences (counted, not failed): {len(self.replica_divergences)}",
            *(f"    - {text}" for text in self.replica_divergences),
            f"  purges the server acknowledged but lost (counted): {len(self.lost_purges)}",
            *(f"    - {text}" for text in self.lost_purges),
            f"  problems: {len(self.problems)}",
        ]
        lines.extend(f"    - {p}" for p in self.problems)
        return "\n".join(lines)


class _CountResends:
    """Adds every ChunkPublisher's stats to the report (they are not exposed per put)."""

    def __init__(self, report: SoakReport) -> None:
        self.report = report
        self.original: Any = None

    def __enter__(self) -> None:
        publisher = _transfer.ChunkPublisher
        self.original = original = publisher.__aexit__
        report = self.report

        async def counting(self: Any, *exc: object) -> None:
            report.chunks_published += self.stats.published
            report.chunks_resent += self.stats.resent
            await original(self, *exc)

        publisher.__aexit__ = counting  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        _transfer.ChunkPublisher.__aexit__ = self.original  # type: ignore[method-assign]


class _RecordPurges:
    """Records, per subject, when natsobj last sent a purge that the server acknowledged.

    The time is taken before the request goes out (wall clock: the servers run on this host
    and stamp messages with the same clock), so a message stamped earlier was stored before
    the server even received that purge.
    """

    def __init__(self) -> None:
        self.acked: dict[str, float] = {}
        self.original: Any = None

    def __enter__(self) -> _RecordPurges:
        api = _jetstream.JetStream
        self.original = original = api.stream_purge
        acked = self.acked

        async def recording(self: Any, stream: str, subject: str, **kwargs: Any) -> int:
            sent = time.time()
            purged = await original(self, stream, subject, **kwargs)
            acked[subject] = max(acked.get(subject, 0.0), sent)
            return int(purged)

        api.stream_purge = recording  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        _jetstream.JetStream.stream_purge = self.original  # type: ignore[method-assign]


class _CleanupWarnings(logging.Handler):
    """Counts natsobj's warnings about chunks it could not purge."""

    def __init__(self, report: SoakReport) -> None:
        super().__init__(logging.WARNING)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        if "could not purge" in record.getMessage():
            self.report.cleanup_warnings += 1


async def capped(seconds: float, call: Awaitable[T]) -> T:
    """Await `call`, raising TimeoutError (ours, not nats-py's) if it runs past `seconds`."""
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task not in done:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise _Hung(f"no result after {seconds:g} s")
    return task.result()


class _Hung(Exception):
    """An operation outlived OP_CAP."""


class Soak:
    def __init__(
        self, cluster: Cluster, *, seconds: float, writers: int, readers: int, seed: int
    ) -> None:
        self.cluster = cluster
        self.seconds = seconds
        self.writers = writers
        self.readers = readers
        self.rng = random.Random(seed)
        self.bucket = "soak" + uuid.uuid4().hex[:10]
        self.report = SoakReport()
        self.names = {
            f"w{w}/obj-{j}": NameState() for w in range(writers) for j in range(NAMES_PER_WRITER)
        }
        self.stop = asyncio.Event()
        self.clients: list[natsobj.Client] = []
        self.purges = _RecordPurges()

    async def client(self) -> natsobj.Client:
        client = await natsobj.connect(self.cluster.urls)
        self.clients.append(client)
        return client

    # -- workers

    async def writer(self, index: int) -> None:
        rng = random.Random(self.rng.random())
        store = await (await self.client()).object_store(self.bucket)
        mine = [n for n in self.names if n.startswith(f"w{index}/")]
        while not self.stop.is_set():
            name = rng.choice(mine)
            state = self.names[name]
            if rng.random() < DELETE_SHARE and state.allowed != {Absent}:
                await self.delete(store, name, state)
            else:
                size = int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))
                await self.put(store, name, state, os.urandom(size))

    async def put(
        self, store: natsobj.ObjectStore, name: str, state: NameState, data: bytes
    ) -> None:
        digest = digest_of(data)
        try:
            info = await capped(OP_CAP, store.put(name, data))
        except Exception as exc:
            self.report.puts_failed += 1
            self.report.surfaced(f"put: {type(exc).__name__}", exc)
            if isinstance(exc, _Hung):
                self.report.problems.append(f"put of {name!r} hung for {OP_CAP:g} s")
            state.failed.add(digest)  # the old state stays allowed
            return
        if info.digest != digest:
            self.report.problems.append(f"put of {name!r} returned digest {info.digest}")
        self.report.puts_ok += 1
        self.report.bytes_written += len(data)
        state.allowed = {digest}

    async def delete(self, store: natsobj.ObjectStore, name: str, state: NameState) -> None:
        try:
            await capped(OP_CAP, store.delete(name))
        except natsobj.ObjectNotFoundError:
            state.allowed = {Absent}
            self.report.deletes_ok += 1
        except Exception as exc:
            self.report.deletes_failed += 1
            self.report.surfaced(f"delete: {type(exc).__name__}", exc)
            if isinstance(exc, _Hung):
                self.report.problems.append(f"delete of {name!r} hung for {OP_CAP:g} s")
            state.allowed.add(Absent)  # the tombstone may have landed before the error
        else:
            self.report.deletes_ok += 1
            state.allowed = {Absent}

    async def reader(self) -> None:
        rng = random.Random(self.rng.random())
        store = await (await self.client()).object_store(self.bucket)
        names = sorted(self.names)
        while not self.stop.is_set():
            name = rng.choice(names)
            opened: list[natsobj.ObjectInfo] = []
            try:
                size, stall = await capped(OP_CAP, self.read(store, name, opened))
            except natsobj.ObjectNotFoundError:
                self.report.gets_missing += 1
            except Exception as exc:
                if isinstance(exc, natsobj.IntegrityError) and await self.replaced(
                    store, name, opened
                ):
                    self.report.gets_raced += 1
                    continue
                self.report.gets_failed += 1
                self.report.surfaced(f"get: {type(exc).__name__}", exc)
                if isinstance(exc, _Hung):
                    self.report.problems.append(f"get of {name!r} hung for {OP_CAP:g} s")
                elif isinstance(exc, natsobj.IntegrityError):
                    self.report.problems.append(f"get of {name!r}: {exc}")
            else:
                self.report.gets_ok += 1
                self.report.bytes_verified += size
                self.report.worst_get_stall = max(self.report.worst_get_stall, stall)
            await asyncio.sleep(0)

    async def read(
        self, store: natsobj.ObjectStore, name: str, opened: list[natsobj.ObjectInfo]
    ) -> tuple[int, float]:
        """Stream one object, check it against its meta; return its size and worst stall.

        The version read is appended to `opened` as soon as it is known.
        """
        hasher = hashlib.sha256()
        worst = 0.0
        async with store.open(name) as reader:
            assert reader.info is not None
            opened.append(reader.info)
            last = time.monotonic()
            async for chunk in reader:
                now = time.monotonic()
                worst = max(worst, now - last)
                last = now
                hasher.update(chunk)
        info = reader.info
        got = "SHA-256=" + base64.urlsafe_b64encode(hasher.digest()).decode()
        if info.digest != got:
            raise natsobj.DigestMismatchError(f"{name!r} read back as {got}, meta {info.digest}")
        return info.size, worst

    async def replaced(
        self, store: natsobj.ObjectStore, name: str, opened: list[natsobj.ObjectInfo]
    ) -> bool:
        """True if the version a failed read started on is no longer the current one."""
        try:
            now = await capped(30.0, store.get_info(name))
        except Exception:
            return True  # deleted meanwhile (or unreachable: the next read will tell)
        return not opened or now.nuid != opened[0].nuid

    # -- faults

    async def controller(self) -> None:
        rng = random.Random(self.rng.random())
        stream = "OBJ_" + self.bucket
        while not self.stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop.wait(), rng.uniform(*FAULT_EVERY))
            if self.stop.is_set():
                return
            target = rng.choice(["stream leader", "meta leader", "random node", "random node"])
            node: int | None = None
            if target == "stream leader":
                node = await asyncio.to_thread(self.cluster.stream_leader, stream)
            elif target == "meta leader":
                node = await asyncio.to_thread(self.cluster.meta_leader)
            if node is None:
                target, node = "random node", rng.randrange(3)
            action = rng.choice(["kill", "kill", "stop", "pause"])
            await asyncio.to_thread(getattr(self.cluster, action), node)
            self.report.faults[f"{action} {target}"] += 1
            await asyncio.sleep(rng.uniform(*FAULT_HOLD))
            await asyncio.to_thread(self.cluster.heal, HEAL_TIMEOUT)

    # -- the run

    async def run(self) -> SoakReport:
        started = time.monotonic()
        admin = await self.client()
        for attempt in range(5):
            try:
                await admin.create_object_store(self.bucket, replicas=3)
                break
            except (natsobj.StoreTimeoutError, natsobj.ConnectionLostError):
                if attempt == 4:
                    raise
                await asyncio.sleep(0.5)
        await asyncio.to_thread(self.cluster.wait_stream_synced, "OBJ_" + self.bucket)
        workers = [asyncio.ensure_future(self.writer(i)) for i in range(self.writers)]
        workers += [asyncio.ensure_future(self.reader()) for _ in range(self.readers)]
        workers.append(asyncio.ensure_future(self.controller()))
        await asyncio.wait(workers, timeout=self.seconds)
        self.stop.set()
        done, pending = await asyncio.wait(workers, timeout=DRAIN_CAP)
        for task in pending:
            task.cancel()
            self.report.problems.append(f"a worker did not stop within {DRAIN_CAP:g} s")
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                self.report.problems.append(f"a worker crashed: {task.exception()!r}")
        self.report.seconds = time.monotonic() - started
        await asyncio.to_thread(self.cluster.heal, HEAL_TIMEOUT)
        await self.resync(admin, "OBJ_" + self.bucket)
        await self.close_workers(admin)
        await self.verify(await admin.object_store(self.bucket))
        self.report.problems += [
            f"a replica stopped applying the stream: {line}"
            for line in self.replica_errors("OBJ_" + self.bucket)
        ]
        with contextlib.suppress(natsobj.ObjectStoreError):
            await admin.delete_object_store(self.bucket)
        return self.report

    async def resync(self, admin: natsobj.Client, stream: str) -> None:
        """Wait until every replica of `stream` is current, before the final reads.

        After the last restart the cluster may need a new meta leader, then a new stream
        leader and a catch-up: seen taking over 30 s on 2 loaded cores. If the replicas are
        not in sync within SYNC_TIMEOUT, the nodes are restarted one at a time (what an
        operator would do). Replicas still apart then fail the soak, except the one case
        `server_divergence` measures as nats-server's own (seen once after SIGKILLs: the
        leader held 118 messages, both followers 117, with the same last sequence, all
        "current"; nats-server does not repair that), which is counted with its numbers. Either
        way the replicas are rebuilt from the leader, once, so the final checks can judge what
        the leader holds, which is what every client reads; replicas still apart after that
        fail the soak. Bounded: at most 3 waits of SYNC_TIMEOUT, 3 restarts and one rebuild.
        """
        try:
            await asyncio.to_thread(self.cluster.wait_stream_synced, stream, SYNC_TIMEOUT)
            return
        except ClusterError as exc:
            self.report.surfaced("cluster: no resync, nodes restarted one by one", exc)
        for node in range(NODES):
            await asyncio.to_thread(self.cluster.restart, node, HEAL_TIMEOUT)
        try:
            await asyncio.to_thread(self.cluster.wait_stream_synced, stream, SYNC_TIMEOUT)
            return
        except ClusterError:
            summary = await asyncio.to_thread(self.cluster.stream_summary, stream)
            explained = await asyncio.to_thread(self.server_divergence, stream)
            if explained is None:
                self.report.problems.append(
                    f"the replicas of {stream} did not sync after a rolling restart, and not in "
                    f"the way nats-server's own divergence looks: {summary!r}"
                )
            else:
                self.report.replica_divergences.append(explained)
        await self.rebuild_replicas(admin, stream)
        self.report.replicas_rebuilt += 1
        try:
            await asyncio.to_thread(self.cluster.wait_stream_synced, stream, SYNC_TIMEOUT)
        except ClusterError:
            summary = await asyncio.to_thread(self.cluster.stream_summary, stream)
            self.report.problems.append(
                f"the replicas of {stream} are still apart after a rebuild from the leader: "
                f"{summary!r}"
            )

    def server_divergence(self, stream: str) -> str | None:
        """What was measured, if the replicas of `stream` are apart the way only nats-server
        makes them; None if they are apart in any other way (which fails the soak).

        Every replica applies the same Raft log, in order. When all three nodes hold the
        stream, one leads, both followers are current with no lag, and all three stand at the
        same last sequence, every replica has applied the same entries, up to the same one:
        whatever a client proposed, each of them received it. A client can make a replica
        apply an entry differently only through a guard that the replica checks again as it
        applies it; a refused guard there makes nats-server log one of CLIENT_APPLY_FAILURES
        for the stream, and none may be logged. Different message counts left then come from
        nats-server's own storage (its recovery after a SIGKILL, typically: a delete or purge
        that one replica's store lost), not from anything natsobj sent.
        """
        views: dict[int, dict[str, Any]] = {}
        for node in range(NODES):
            body = self.cluster.jsz(node, "accounts=true&streams=true&config=true") or {}
            for account in body.get("account_details") or []:
                for detail in account.get("stream_detail") or []:
                    if detail.get("name") == stream:
                        views[node] = detail
        if len(views) != NODES:
            return None
        leaders = {(d.get("cluster") or {}).get("leader") for d in views.values()}
        if len(leaders) != 1 or None in leaders:
            return None
        (leader,) = leaders
        lead = next((d for n, d in views.items() if f"n{n}" == leader), None)
        if lead is None:
            return None
        # the leader's view of its followers, as Cluster.wait_stream_synced judges them (a
        # follower's view of the other follower is not kept up to date)
        peers = (lead.get("cluster") or {}).get("replicas") or []
        if len(peers) != NODES - 1:
            return None
        for peer in peers:
            if not peer.get("current") or peer.get("offline") or peer.get("lag"):
                return None
        states = {n: d.get("state") or {} for n, d in views.items()}
        if len({st.get("last_seq") for st in states.values()}) != 1:
            return None
        if len({st.get("messages") for st in states.values()}) == 1:
            return None  # apart in some other way (first sequence, leader's view)
        if self.replica_errors(stream):
            return None
        numbers = "; ".join(
            f"n{n}{' (leader)' if f'n{n}' in leaders else ''}: messages={st.get('messages')} "
            f"deleted={st.get('num_deleted', 0)} subjects={st.get('num_subjects')} "
            f"first_seq={st.get('first_seq')} last_seq={st.get('last_seq')}"
            for n, st in sorted(states.items())
        )
        kills = sum(v for k, v in self.report.faults.items() if k.startswith("kill"))
        return (
            f"{stream} after {kills} SIGKILLs and a rolling restart: {numbers}; all current, "
            "no lag, one leader, the same last sequence on every replica, and no node logged "
            f"{' / '.join(CLIENT_APPLY_FAILURES)} for it: the same log applied to the same "
            "point left different messages, which only nats-server's storage does"
        )

    async def rebuild_replicas(self, admin: natsobj.Client, stream: str) -> None:
        """Scale `stream` to one replica and back, so that its followers are copied afresh from
        the leader (a peer remove would need a spare node)."""
        deadline = time.monotonic() + 2 * SYNC_TIMEOUT
        info = await self.api_retrying(admin, f"STREAM.INFO.{stream}", {}, deadline)
        config = info["config"]
        for replicas in (1, int(config.get("num_replicas") or 3)):
            await self.api_retrying(
                admin, f"STREAM.UPDATE.{stream}", {**config, "num_replicas": replicas}, deadline
            )
            await asyncio.sleep(1.0)

    @staticmethod
    async def api_retrying(
        admin: natsobj.Client, subject: str, body: dict[str, Any], deadline: float
    ) -> dict[str, Any]:
        """A JetStream API call, re-tried while the cluster is still electing leaders."""
        while True:
            try:
                return await admin.js.api(subject, body)
            except natsobj.ObjectStoreError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)

    def replica_errors(self, stream: str) -> list[str]:
        """Lines of the node logs where a replica failed to apply `stream`.

        A meta guarded by Nats-Expected-Last-Msg-Id, with another client's chunk in between,
        was refused by a follower as it applied it ("last msgid mismatch"), and that replica
        stopped applying the stream ("critical write error"): natsobj no longer sends that
        header to a cluster, and this check keeps it so. A replica refusing a
        Nats-Expected-Last-Subject-Sequence as it applies it would log "wrong last sequence".
        """
        found = []
        for node in range(NODES):
            with contextlib.suppress(OSError):
                text = self.cluster.log_path(node).read_text(errors="replace")
                found += [
                    f"n{node}: {line.strip()}"
                    for line in text.splitlines()
                    if stream in line and any(sign in line for sign in CLIENT_APPLY_FAILURES)
                ]
        return found

    async def verify(self, store: natsobj.ObjectStore) -> None:
        """Every name is in a state its writer allows; then no orphan chunks remain."""
        for name, state in sorted(self.names.items()):
            try:
                info = await capped(60.0, store.get_info(name))
                data = await capped(60.0, store.get(name))
            except natsobj.ObjectNotFoundError:
                found: str | None = Absent
            except Exception as exc:
                self.report.problems.append(f"final read of {name!r} failed: {exc!r}")
                continue
            else:
                found = digest_of(data)
                if found != info.digest:
                    self.report.problems.append(f"{name!r} is corrupt: {found} != {info.digest}")
                    continue
                self.report.bytes_verified += len(data)
            self.report.objects_checked += 1
            if found in state.allowed:
                continue
            if found in state.failed:
                self.report.problems.append(f"{name!r} shows the digest of a put that failed")
            elif found is Absent:
                self.report.problems.append(f"{name!r} is lost: expected one of {state.allowed}")
            else:
                self.report.problems.append(f"{name!r} shows an unknown version {found}")
        orphans = await capped(60.0, store.orphan_chunk_subjects())
        self.report.orphans_left = len(orphans)
        self.report.orphan_messages = sum(orphans.values())
        self.report.orphan_subjects = dict(orphans)
        if orphans:
            await self.judge_orphans(store, orphans)
            # min_age=0: nothing is in progress now, so every orphan is fair game
            self.report.orphans_purged = await capped(
                60.0, store.purge_orphans(min_age=timedelta(0))
            )
            still = await capped(60.0, store.orphan_chunk_subjects())
            if still:
                self.report.problems.append(f"purge_orphans() left {still}")

    async def judge_orphans(self, store: natsobj.ObjectStore, orphans: dict[str, int]) -> None:
        """Every orphan chunk subject fails the soak, named with its message count, except one
        that nats-server measurably lost: natsobj sent a purge of the subject, the server
        acknowledged it, and the subject's newest message is stamped before that purge was
        even sent, so the acknowledged purge should have removed every message there. Even
        that is counted, not failed, only in a run where `server_divergence` measured the
        replicas apart (the rebuild copies the leader's messages, lost deletes included);
        otherwise it fails too.

        Orphans are only judged after every client closed (Client.close() waits for the
        purges of replaced versions), so none belongs to a put in progress.
        """
        for subject, count in sorted(orphans.items()):
            sent = self.purges.acked.get(subject)
            newest = await capped(30.0, store._js.direct_get_last(store.stream, subject))
            stamped = _wire.parse_time(newest.time) if newest is not None else None
            if sent is not None and stamped is not None and stamped.timestamp() < sent:
                lost = (
                    f"{subject}: {count} messages, the newest stamped {stamped.isoformat()}, "
                    f"{sent - stamped.timestamp():.3f} s before natsobj sent the purge the "
                    "server acknowledged"
                )
                if self.report.replica_divergences:
                    self.report.lost_purges.append(lost)
                else:
                    self.report.problems.append(
                        f"orphan chunks left although their purge was acknowledged, with no "
                        f"replica divergence measured: {lost}"
                    )
                continue
            why = (
                "natsobj never purged it"
                if sent is None
                else "chunks were stored after natsobj's last acknowledged purge of it"
            )
            self.report.problems.append(
                f"orphan chunks left by natsobj: {subject} ({count} messages; {why})"
            )

    async def close_workers(self, admin: natsobj.Client) -> None:
        """Close every worker's client: close() waits for the purges of the versions they
        replaced, so what is orphaned afterwards stays orphaned. Bounded by DRAIN_CAP."""
        workers = [c for c in self.clients if c is not admin]
        try:
            await capped(DRAIN_CAP, asyncio.gather(*(c.close() for c in workers)))
        except _Hung:
            self.report.problems.append(
                f"the workers' clients did not close within {DRAIN_CAP:g} s"
            )

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.nc.close()


async def run_soak(
    cluster: Cluster, *, seconds: float = 120.0, writers: int = 4, readers: int = 2, seed: int = 0
) -> SoakReport:
    """Soak `cluster` (started, all nodes up) and return the report; the cluster is healed."""
    soak = Soak(cluster, seconds=seconds, writers=writers, readers=readers, seed=seed)
    handler = _CleanupWarnings(soak.report)
    log = logging.getLogger("natsobj")
    log.addHandler(handler)
    try:
        with _CountResends(soak.report), soak.purges:
            return await soak.run()
    finally:
        log.removeHandler(handler)
        await soak.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="how long to soak")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers")
    parser.add_argument("--readers", type=int, default=2, help="concurrent readers")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    logging.basicConfig(level=logging.ERROR)
    cluster = Cluster()
    print(f"soak: seed {seed}, cluster on 127.0.0.1:{cluster.base_port}.., data {cluster.data_dir}")
    cluster.start()
    try:
        report = asyncio.run(
            run_soak(
                cluster,
                seconds=args.seconds,
                writers=args.writers,
                readers=args.readers,
                seed=seed,
            )
        )
    finally:
        cluster.shutdown()
    print(report.render())
    if report.ok:
        shutil.rmtree(cluster.data_dir, ignore_errors=True)
        return 0
    print(f"cluster data and node logs kept in {cluster.data_dir}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
