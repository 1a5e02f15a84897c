"""The hub restarts while the edge writes (shared/spec/mirrors.md §7.8 test 6): the mirror
resyncs, lists and reads like the edge, and its status says stale until the hub has heard
from the edge again, then fresh. Three restarts of one mirror: SIGTERM, kill -9, and kill -9
with the leaf paused for 3 s after it (so the hub surely comes back with no link). A watch on
the mirror stays open across all three, and `natsobj verify` fails naming the lost contact.

Its own hub + leaf pair: restarting the session's hub would pull it from under other tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import natsobj
from natsobj import Origin
from natsobj.testing.leaf import LeafPair

from ..test_cli import clean_env, error_lines, run
from .conftest import unique

WRITES = 300  # edge operations per phase: puts, overwrites and deletes
RESYNC = 150.0  # seconds: the server's reconnect backoff reaches 2 min (spec §7.8 markers)
POLL = 0.1  # seconds between status reads after the restart
WATCH_CATCHUP = 30.0  # seconds a watch open across the restart may take once the mirror resynced
BEFORE = b"put before any restart"
UNREACHABLE = 3.0  # seconds the restarted hub runs with the leaf paused (kill -9 phase)


@pytest.fixture(scope="module")
def own_pair() -> Iterator[LeafPair]:
    p = LeafPair(hub_domain="hub", leaf_domain="leaf")
    p.start()
    try:
        yield p
    finally:
        p.shutdown()
        p.remove_data()


@dataclass
class Edge:
    """The edge's writes and what they leave: name -> bytes of every live object."""

    store: natsobj.ObjectStore
    rng: random.Random
    live: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("put", "over", "del", "multi"), 0)
    )

    async def write_one(self, i: int) -> None:
        roll = self.rng.random()
        names = sorted(n for n in self.live if n.startswith("obj-"))  # "before" stays put
        if names and roll < 0.1:
            name = self.rng.choice(names)
            await self.store.delete(name)
            del self.live[name]
            self.counts["del"] += 1
            return
        if names and roll < 0.3:
            name, kind = self.rng.choice(names), "over"
        else:
            name, kind = f"obj-{i:04d}/{self.rng.randrange(1 << 30):x}", "put"
        if roll > 0.95:  # a few multi-chunk ones
            data, chunk = self.rng.randbytes(self.rng.randrange(2049, 9000)), 1024
            kind = "multi"
        else:
            data, chunk = self.rng.randbytes(self.rng.choice((0, 1, 17, 500, 1024, 4000))), None
        await self.store.put(name, data, chunk_size=chunk)
        self.live[name] = data
        self.counts[kind] += 1


@dataclass
class Seen:
    """One status read on the hub after its restart, and whether the link was up after it."""

    at: float
    stale: bool
    last_contact: float | None
    lag: int
    error: str | None
    linked: bool | None  # None: the hub's monitor did not answer

    def unreachable(self) -> bool:
        """The hub could not have heard from the edge: no link even after this read."""
        return self.linked is False


async def read_status(pair: LeafPair, mirror: natsobj.ObjectStore, since: float) -> Seen | None:
    """The mirror's status, or None while the restarting hub cannot answer yet."""
    try:
        rep = (await mirror.status()).replication
    except natsobj.ObjectStoreError:
        return None
    linked = await asyncio.to_thread(pair.leaf_linked)
    assert rep is not None
    (state,) = rep.origins
    contact = state.last_contact
    return Seen(
        time.monotonic() - since,
        rep.stale,
        None if contact is None else contact.total_seconds(),
        state.lag,
        state.error,
        linked,
    )


async def statuses(
    pair: LeafPair, mirror: natsobj.ObjectStore, since: float, window: float | None = None
) -> list[Seen]:
    """Status reads every POLL s: until one says fresh, or with `window`, for that many
    seconds after the restarted hub first answers (its clients take a moment to reconnect)."""
    seen: list[Seen] = []
    end = RESYNC
    while (now := time.monotonic() - since) < end:
        got = await read_status(pair, mirror, since)
        if got is not None:
            if window is not None and not seen:
                end = got.at + window
            seen.append(got)
            if window is None and not got.stale:
                return seen
        await asyncio.sleep(POLL)
    assert window is not None and seen, f"still stale {now:.0f}s after the restart: {seen[-3:]}"
    return seen


@dataclass(frozen=True)
class Phase:
    how: str
    kill: bool  # kill -9, else SIGTERM
    pause: bool  # the leaf paused for UNREACHABLE s as the hub comes back


PHASES = (
    Phase("SIGTERM", kill=False, pause=False),
    Phase("kill -9", kill=True, pause=False),
    Phase("kill -9, leaf paused", kill=True, pause=True),
)


def verify_fails_naming_no_contact(pair: LeafPair, mirror: natsobj.ObjectStore, tmp: Path) -> str:
    """`natsobj verify` on the restarted hub, before any contact: exit 1, and its error says
    there was none since the restart (not "for over 10s"). Returns the error line."""
    out = run("verify", mirror.bucket, "--no-progress", env=clean_env(tmp, NATS_URL=pair.hub_url))
    assert out.returncode == 1, out
    (line,) = [line for line in error_lines(out) if "is stale" in line]
    assert "@leaf none since the server started" in line, line
    return line


async def restart_while_writing(
    pair: LeafPair,
    mirror: natsobj.ObjectStore,
    edge: Edge,
    first: int,
    phase: Phase,
    tmp: Path,
) -> tuple[float, list[Seen]]:
    """WRITES ops at the edge: a third with the hub up, a third with it down, a third while
    it restarts, as the hub's status is read. With `pause` the leaf is also paused for
    UNREACHABLE s once the hub is up: it cannot relink, so the hub surely has no contact.
    Returns when the restart began and the status reads until the first fresh one."""
    third = WRITES // 3
    for i in range(first, first + third):
        await edge.write_one(i)
    await asyncio.to_thread(pair.kill_hub if phase.kill else pair.stop_hub)
    assert pair.pid("hub") is None
    for i in range(first + third, first + 2 * third):
        await edge.write_one(i)
    seen: list[Seen] = []
    restarted = time.monotonic()
    starting = None
    if phase.pause:
        pair.pause_leaf()
        try:
            await asyncio.to_thread(pair.start_hub, linked=False)
            seen = await statuses(pair, mirror, restarted, UNREACHABLE)
            assert await mirror.get("before") == BEFORE  # reads go on while it is stale
            print(await asyncio.to_thread(verify_fails_naming_no_contact, pair, mirror, tmp))
        finally:
            pair.resume_leaf()
    else:
        starting = asyncio.create_task(asyncio.to_thread(pair.start_hub, linked=False))

    async def write_rest() -> None:
        for i in range(first + 2 * third, first + WRITES):
            await edge.write_one(i)

    writing = asyncio.create_task(write_rest())
    seen += await statuses(pair, mirror, restarted)
    await writing
    if starting is not None:
        await starting
    return restarted, seen


def check_statuses(phase: Phase, seen: list[Seen]) -> None:
    """Stale from the restart until the first fresh read, for the right reason, and never
    fresh while the hub had no link to the edge."""
    stale = [s for s in seen if s.stale]
    blind = [s for s in seen if s.unreachable()]
    print(f"{phase.how}: first status {seen[0]}\n{phase.how}: first fresh {seen[-1]}")
    print(
        f"{phase.how}: {len(seen)} reads, {len(stale)} stale ({len(blind)} with no link), "
        f"stale until {seen[-1].at:.1f}s after the restart began"
    )
    assert seen[:-1] == stale  # stale until the first fresh read
    for s in stale:  # why: no contact yet (never since the restart), or none for over 10 s
        assert s.last_contact is None or s.last_contact > 10, s
    for s in blind:  # the hub could not reach the edge: it must not say fresh
        assert s.stale and s.last_contact is None, s
    if phase.pause:  # the paused leaf could not relink: those reads had no link
        assert len(blind) >= 3, seen
    fresh = seen[-1]
    assert fresh.linked is not False and not fresh.error
    assert fresh.last_contact is not None and fresh.last_contact <= 10


@dataclass
class Watched:
    """The last info of each name a watch on the mirror gave, the watch open across every
    restart (nats-py's ordered consumer re-creates itself once heartbeats stop)."""

    last: dict[str, natsobj.ObjectInfo] = field(default_factory=dict)
    markers: int = 0

    async def follow(self, watcher: natsobj.ObjectWatcher) -> None:
        async for info in watcher:
            if info is None:
                self.markers += 1
            else:
                self.last[info.name] = info

    def live(self) -> dict[str, tuple[int, str | None]]:
        return {n: (i.size, i.digest) for n, i in self.last.items() if not i.deleted}


async def watch_catches_up(watched: Watched, task: asyncio.Task[None], edge: Edge) -> float:
    """Seconds until the watch shows the edge's objects (fails after WATCH_CATCHUP)."""
    want = {i.name: (i.size, i.digest) for i in await edge.store.list()}
    start = time.monotonic()
    while watched.live() != want:
        assert not task.done(), task  # the watch must not end, nor raise, over a restart
        assert time.monotonic() - start < WATCH_CATCHUP, (len(watched.live()), len(want))
        await asyncio.sleep(POLL)
    assert watched.markers == 1
    return time.monotonic() - start


async def assert_hub_like_edge(mirror: natsobj.ObjectStore, edge: Edge) -> None:
    here = {i.name: (i.size, i.digest) for i in await mirror.list()}
    there = {i.name: (i.size, i.digest) for i in await edge.store.list()}
    assert here == there
    assert sorted(here) == sorted(edge.live)  # deleted ones absent on both
    for name, data in edge.live.items():
        got = await mirror.get(name)  # the reader checks size, chunks and digest
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), name
        assert here[name][0] == len(data)


@pytest.fixture
async def clients(own_pair: LeafPair) -> AsyncIterator[tuple[natsobj.Client, natsobj.Client]]:
    hub = await natsobj.connect(own_pair.hub_url)
    leaf = await natsobj.connect(own_pair.leaf_url)
    try:
        yield hub, leaf
    finally:
        await hub.close()
        await leaf.close()


@pytest.mark.slow
@pytest.mark.timeout(len(PHASES) * RESYNC + 120)  # each restart may wait out the backoff
async def test_hub_restarts_while_the_edge_writes_and_the_mirror_resyncs(
    own_pair: LeafPair, clients: tuple[natsobj.Client, natsobj.Client], tmp_path: Path
) -> None:
    hub, leaf = clients
    pair = own_pair
    origin = await leaf.create_object_store(unique("o"))
    edge = Edge(origin, random.Random(20261206))
    name = unique("m")
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    await origin.put("before", BEFORE)
    edge.live["before"] = BEFORE
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream)
    watched = Watched()
    async with mirror.watch() as watcher:
        following = asyncio.create_task(watched.follow(watcher))
        try:
            await edge_writes_through_restarts(
                pair, mirror, edge, name, (watched, following), tmp_path
            )
        finally:
            following.cancel()


async def edge_writes_through_restarts(
    pair: LeafPair,
    mirror: natsobj.ObjectStore,
    edge: Edge,
    name: str,
    watch: tuple[Watched, asyncio.Task[None]],
    tmp: Path,
) -> None:
    origin = edge.store
    for n, phase in enumerate(PHASES):
        restarted, seen = await restart_while_writing(pair, mirror, edge, n * WRITES, phase, tmp)
        check_statuses(phase, seen)
        await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream, RESYNC)
        took = time.monotonic() - restarted
        print(f"{phase.how}: resynced {took:.1f}s after the restart began; edge {edge.counts}")
        await assert_hub_like_edge(mirror, edge)
        rep = (await mirror.status()).replication
        assert rep is not None and not rep.stale
        assert rep.origins[0].lag == 0 and rep.origins[0].error is None
        late = await watch_catches_up(*watch, edge)
        print(f"{phase.how}: the watch showed the edge's objects {late:.1f}s after the resync")
