"""Public API that had no test of its own: create_or_update_object_store, rename, connect()
over a nats-py connection the user opened, `async with client`, the watcher's include_history
and initial_marker, and the JetStream domain / API prefix connect options.

Everything runs against real nats-server processes: the session's server, and one started
here with a JetStream domain in its config file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

import natsobj
from natsobj import _wire as wire
from natsobj.server import EmbeddedServer

from .conftest import unique_bucket

STEP = 10.0
"""Cap on any one await here: a hang fails the test instead of stalling the suite."""


async def raw_subjects(client: natsobj.Client, store: natsobj.ObjectStore) -> dict[str, int]:
    """Every subject of the bucket's stream with its message count, straight from the server."""
    info = await client.js.stream_info(store.stream, bucket=store.bucket, subjects_filter=">")
    return dict(info.get("state", {}).get("subjects") or {})


class Events:
    """A watcher's events, each awaited with a cap; `none_within` checks that nothing comes.

    One pending `__anext__` is kept across calls, so no event is lost to a timed-out wait."""

    def __init__(self, watcher: natsobj.ObjectWatcher) -> None:
        self.watcher = watcher
        self.pending: asyncio.Future[natsobj.ObjectInfo | None] | None = None

    def _pending(self) -> asyncio.Future[natsobj.ObjectInfo | None]:
        if self.pending is None:
            self.pending = asyncio.ensure_future(self.watcher.__anext__())
        return self.pending

    async def next(self) -> natsobj.ObjectInfo | None:
        pending = self._pending()
        done, _ = await asyncio.wait({pending}, timeout=STEP)
        assert done, f"no event within {STEP:g} s"
        self.pending = None
        return pending.result()

    async def none_within(self, seconds: float = 0.5) -> None:
        pending = self._pending()
        done, _ = await asyncio.wait({pending}, timeout=seconds)
        assert not done, f"unexpected event: {pending.result()!r}"

    async def __aenter__(self) -> Events:
        await self.watcher.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.pending is not None:
            self.pending.cancel()
            with contextlib.suppress(BaseException):
                await self.pending
        await self.watcher.__aexit__(*exc)


# ---------------------------------------------------------------------------------------------
# create_or_update_object_store


async def test_create_or_update_creates_then_updates_a_changed_config(
    client: natsobj.Client, bucket_name: str
) -> None:
    try:
        store = await client.create_or_update_object_store(
            bucket_name, description="first", max_bytes=1 << 20
        )
        status = await store.status()
        assert (status.description, status.max_bytes) == ("first", 1 << 20)
        assert bucket_name in await client.object_store_names()
        await store.put("kept", b"kept across the update")

        # the same name with a changed config: updated in place, not refused, not recreated
        again = await client.create_or_update_object_store(
            bucket_name, description="second", max_bytes=2 << 20
        )
        status = await again.status()
        assert (status.description, status.max_bytes) == ("second", 2 << 20)
        stream = (await client.js.stream_info(again.stream, bucket=bucket_name))["config"]
        assert (stream["description"], stream["max_bytes"]) == ("second", 2 << 20)
        assert status.objects == 1
        # the store still reads, through the returned store and through a fresh bind
        assert await again.get("kept") == b"kept across the update"
        bound = await client.object_store(bucket_name)
        assert await bound.get("kept") == b"kept across the update"
        assert (await bound.status()).description == "second"

        # and the same config once more is a no-op, not an error
        same = await client.create_or_update_object_store(
            bucket_name, description="second", max_bytes=2 << 20
        )
        assert (await same.status()).max_bytes == 2 << 20
        assert [i.name for i in await same.list()] == ["kept"]
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            await client.delete_object_store(bucket_name)


# ---------------------------------------------------------------------------------------------
# rename


async def test_rename_moves_the_object_and_keeps_its_data_and_meta(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    data = os.urandom(5000)
    before = await store.put(
        "old/name", data, chunk_size=1024, description="d", metadata={"owner": "ops"}
    )
    renamed = await store.rename("old/name", "new/name")
    assert renamed.name == "new/name"
    assert (renamed.nuid, renamed.digest, renamed.size) == (before.nuid, before.digest, 5000)
    assert await store.get("new/name") == data
    info = await store.get_info("new/name")
    assert (info.description, dict(info.metadata)) == ("d", {"owner": "ops"})
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("old/name")
    assert [i.name for i in await store.list()] == ["new/name"]
    # no tombstone under the old name either: its meta subject is purged
    assert [i.name for i in await store.list(show_deleted=True)] == ["new/name"]
    assert await store.orphan_chunk_subjects() == {}
    assert set(await raw_subjects(client, store)) == {
        wire.meta_subject(store.bucket, "new/name"),
        wire.chunk_subject(store.bucket, before.nuid),
    }


async def test_rename_refuses_to_overwrite_by_default_with_a_clear_error(
    store: natsobj.ObjectStore,
) -> None:
    await store.put("a", b"AAAA")
    await store.put("b", b"BBBB")
    with pytest.raises(natsobj.ObjectAlreadyExistsError) as caught:
        await store.rename("a", "b")
    message = str(caught.value)
    assert "'b'" in message and store.bucket in message and "exists" in message
    assert caught.value.name == "b"
    # nothing changed
    assert await store.get("a") == b"AAAA"
    assert await store.get("b") == b"BBBB"
    # a deleted name is free to take without overwrite
    await store.delete("b")
    await store.rename("a", "b")
    assert await store.get("b") == b"AAAA"
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get("a")


async def test_rename_with_overwrite_replaces_the_destination_and_leaves_no_orphans(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    source = await store.put("src", os.urandom(4000), chunk_size=1024)
    target = await store.put("dst", os.urandom(6000), chunk_size=1024)
    source_data = await store.get("src")
    assert source.nuid != target.nuid

    replaced = await store.rename("src", "dst", overwrite=True)
    assert (replaced.name, replaced.nuid, replaced.digest) == ("dst", source.nuid, source.digest)
    assert await store.get("dst") == source_data
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("src")
    assert [i.name for i in await store.list(show_deleted=True)] == ["dst"]
    # the destination's old chunks are gone: no orphan, and not in the stream at all
    assert await store.orphan_chunk_subjects() == {}
    subjects = await raw_subjects(client, store)
    assert subjects == {
        wire.meta_subject(store.bucket, "dst"): 1,
        wire.chunk_subject(store.bucket, source.nuid): 4,
    }
    assert wire.chunk_subject(store.bucket, target.nuid) not in subjects
    # seen by another client too
    other = await client.object_store(store.bucket)
    assert await other.get("dst") == source_data


# ---------------------------------------------------------------------------------------------
# connect(existing nats-py client), async with


async def test_connect_over_the_users_nats_py_connection_leaves_it_open(
    server: EmbeddedServer, bucket_name: str
) -> None:
    nc = await nats.connect(server.url)
    try:
        seen: list[bytes] = []

        async def keep(msg: Any) -> None:
            seen.append(msg.data)

        mine = await nc.subscribe("user.subject", cb=keep)

        async def echo(msg: Any) -> None:
            await msg.respond(b"pong:" + msg.data)

        await nc.subscribe("user.echo", cb=echo)

        client = await natsobj.connect(nc)
        assert client.nc is nc
        store = await client.create_object_store(bucket_name)
        data = os.urandom(300_000)
        await store.put("big", data, chunk_size=64 * 1024)
        await store.put("big", data[::-1], chunk_size=64 * 1024)  # a replace: a purge to settle
        await nc.publish("user.subject", b"during")
        assert await store.get("big") == data[::-1]
        await client.close()

        # the user's connection is still open, and everything on it still works
        assert nc.is_connected and not nc.is_closed
        await nc.publish("user.subject", b"after")
        await nc.flush()
        reply = await nc.request("user.echo", b"ping", timeout=STEP)
        assert reply.data == b"pong:ping"
        for _ in range(100):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.05)
        assert seen == [b"during", b"after"]
        await mine.unsubscribe()
        # nats-py's own JetStream sees what natsobj wrote, the replace fully settled
        info = await nc.jetstream().stream_info(wire.stream_name(bucket_name), subjects_filter=">")
        assert len(info.state.subjects or {}) == 2  # one meta, one chunk subject
        # and a new natsobj client on the same connection reads it
        again = await natsobj.connect(nc)
        assert await (await again.object_store(bucket_name)).get("big") == data[::-1]
        await again.delete_object_store(bucket_name)
        await again.close()
        assert nc.is_connected
    finally:
        await nc.close()


async def test_async_with_client_as_in_the_readme(
    server: EmbeddedServer, client: natsobj.Client, bucket_name: str
) -> None:
    async with await natsobj.connect(server.url) as mine:
        assert isinstance(mine, natsobj.Client)
        store = await mine.create_object_store(bucket_name)
        await store.put("docs/report.pdf", b"v1" * 3000, chunk_size=1024)
        # replaced right before the close: its old chunks are purged in the background
        await store.put("docs/report.pdf", b"v2" * 3000, chunk_size=1024)
        assert await store.get("docs/report.pdf") == b"v2" * 3000
    assert mine.nc.is_closed
    try:
        # the exit waited for the purge: another client sees no orphan, the raw stream neither
        seen = await client.object_store(bucket_name)
        assert await seen.get("docs/report.pdf") == b"v2" * 3000
        subjects = await raw_subjects(client, seen)
        assert len(subjects) == 2, subjects
        assert await seen.orphan_chunk_subjects() == {}
    finally:
        await client.delete_object_store(bucket_name)


async def test_async_with_client_closes_on_an_exception(server: EmbeddedServer) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with await natsobj.connect(server.url) as mine:
            assert await mine.object_store_names() is not None
            raise RuntimeError("boom")
    assert mine.nc.is_closed


# ---------------------------------------------------------------------------------------------
# watch: include_history, initial_marker


async def test_watch_include_history_shows_what_the_stream_still_holds(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    """natsobj's metas carry Nats-Rollup: sub (as every client's do), so a name's older metas
    are gone from the stream and include_history shows only the last one, like the default
    watch. Metas written without a rollup (a foreign writer) stay, and include_history shows
    every one of them, in stream order, where the default watch shows the last."""
    await store.put("a", b"1")
    await store.put("a", b"22")
    await store.put("b", b"3")
    await store.put("gone", b"4")
    await store.delete("gone")

    async with Events(store.watch(include_history=True)) as history:
        got = [await history.next() for _ in range(3)]
        assert await history.next() is None
        await history.none_within()
    assert [(i.name, i.size, i.deleted) for i in got] == [
        ("a", 2, False),
        ("b", 1, False),
        ("gone", 0, True),
    ]
    async with Events(store.watch()) as latest:
        assert [await latest.next() for _ in range(4)] == [*got, None]

    # two more metas for "b" without the rollup header, as a writer that sends none would
    subject = wire.meta_subject(store.bucket, "b")
    stored = await client.js.direct_get_last(store.stream, subject)
    assert stored is not None
    js = client.nc.jetstream()
    for description in ("r1", "r2"):
        meta = json.loads(stored.data)
        meta["description"] = description
        await js.publish(subject, json.dumps(meta).encode(), stream=store.stream)

    async with Events(store.watch(include_history=True)) as history:
        events = [await history.next() for _ in range(5)]
        assert await history.next() is None
    b_events = [(e.name, e.description) for e in events if e.name == "b"]
    assert b_events == [("b", None), ("b", "r1"), ("b", "r2")]
    revisions = [e.revision for e in events]
    assert revisions == sorted(revisions) and len(set(revisions)) == 5
    async with Events(store.watch()) as latest:
        events = [await latest.next() for _ in range(3)]
        assert await latest.next() is None
    assert [(e.name, e.description) for e in events if e.name == "b"] == [("b", "r2")]


async def test_watch_without_initial_marker_goes_straight_on_to_updates(
    store: natsobj.ObjectStore,
) -> None:
    await store.put("one", b"1")
    await store.put("two", b"2")
    async with Events(store.watch(initial_marker=False)) as watcher:
        first = [await watcher.next() for _ in range(2)]
        assert [i.name for i in first if i is not None] == ["one", "two"]
        await watcher.none_within()  # no None marker, nothing else
        await store.put("three", b"3")
        live = await watcher.next()
        assert live is not None and live.name == "three"
        await store.delete("one")
        gone = await watcher.next()
        assert gone is not None and (gone.name, gone.deleted) == ("one", True)
        await watcher.none_within()


async def test_watch_of_an_empty_bucket_without_marker_yields_only_updates(
    store: natsobj.ObjectStore,
) -> None:
    async with Events(store.watch()) as with_marker:
        assert await with_marker.next() is None  # the contrast: a marker at once
    async with Events(store.watch(initial_marker=False)) as watcher:
        await watcher.none_within()
        await store.put("first", b"1")
        live = await watcher.next()
        assert live is not None and live.name == "first"


# ---------------------------------------------------------------------------------------------
# JetStream domain and API prefix


DOMAIN = "hub"


@pytest.fixture(scope="module")
def domain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A nats-server whose config file gives its JetStream the domain "hub".

    The later `jetstream` block of the config replaces the one natsobj renders."""
    store_dir = Path(tmp_path_factory.mktemp("domain")) / "js"
    srv = EmbeddedServer(
        extra_config=f"jetstream {{\n  store_dir: {json.dumps(str(store_dir))}\n"
        f"  domain: {DOMAIN}\n}}"
    )
    srv.start_sync()
    try:
        yield srv
    finally:
        srv.stop_sync()


@pytest.fixture
async def hub(domain_server: EmbeddedServer) -> AsyncIterator[natsobj.Client]:
    c = await natsobj.connect(domain_server.url, jetstream_domain=DOMAIN, timeout=2.0)
    try:
        yield c
    finally:
        await c.close()


async def test_a_store_created_and_read_through_a_jetstream_domain(
    domain_server: EmbeddedServer, hub: natsobj.Client
) -> None:
    assert hub.js.prefix == f"$JS.{DOMAIN}.API"
    assert (await hub.js.api("INFO", {})).get("domain") == DOMAIN  # the server has the domain
    bucket = unique_bucket("dom")
    store = await hub.create_object_store(bucket, description="through the domain")
    try:
        data = os.urandom(200_000)
        await store.put("x", data, chunk_size=32 * 1024)
        assert await store.get("x") == data
        assert bucket in await hub.object_store_names()
        # the same bucket through the API prefix of that domain (with or without the dot)
        for prefix in (f"$JS.{DOMAIN}.API", f"$JS.{DOMAIN}.API."):
            async with await natsobj.connect(
                domain_server.url, jetstream_api_prefix=prefix, timeout=2.0
            ) as via_prefix:
                assert via_prefix.js.prefix == f"$JS.{DOMAIN}.API"
                seen = await via_prefix.object_store(bucket)
                assert await seen.get("x") == data
                assert (await seen.status()).description == "through the domain"
        # and the domain client's other operations go there too
        await store.put("y", b"y")
        assert sorted(i.name for i in await store.list()) == ["x", "y"]
        await store.rename("y", "z")
        assert await store.get("z") == b"y"
        assert await store.orphan_chunk_subjects() == {}
    finally:
        await hub.delete_object_store(bucket)


@pytest.mark.parametrize("option", ["jetstream_domain", "jetstream_api_prefix"])
async def test_a_wrong_domain_or_prefix_fails_fast_with_a_natsobj_error(
    domain_server: EmbeddedServer, option: str
) -> None:
    value = "nowhere" if option == "jetstream_domain" else "$JS.nowhere.API"
    timeout = 1.0
    async with await natsobj.connect(domain_server.url, timeout=timeout, **{option: value}) as c:
        for call in (
            lambda: c.create_object_store(unique_bucket("dom")),
            lambda: c.object_store("anything"),
            lambda: c.object_store_names(),
        ):
            started = time.monotonic()
            with pytest.raises(natsobj.ObjectStoreError) as caught:
                await asyncio.wait_for(call(), 5 * timeout)  # a hang fails here, typed apart
            assert time.monotonic() - started < 3 * timeout
            assert isinstance(caught.value, natsobj.StoreTimeoutError)
            assert "no responders" in str(caught.value)
    # nothing was created anywhere
    async with await natsobj.connect(domain_server.url, jetstream_domain=DOMAIN) as right:
        assert not [n for n in await right.object_store_names() if n.startswith("dom")]


async def test_a_wrong_domain_error_names_the_domain(domain_server: EmbeddedServer) -> None:
    async with await natsobj.connect(
        domain_server.url, jetstream_domain="nowhere", timeout=1.0
    ) as c:
        with pytest.raises(natsobj.ObjectStoreError, match="nowhere"):
            await asyncio.wait_for(c.object_store("anything"), 5.0)


async def test_the_domain_wins_over_an_api_prefix_as_documented(
    domain_server: EmbeddedServer,
) -> None:
    async with await natsobj.connect(
        domain_server.url,
        jetstream_domain=DOMAIN,
        jetstream_api_prefix="$JS.nowhere.API",
        timeout=1.0,
    ) as c:
        assert c.js.prefix == f"$JS.{DOMAIN}.API"
        assert isinstance(await asyncio.wait_for(c.object_store_names(), 5.0), list)


async def test_connect_over_a_users_connection_honours_the_domain(
    domain_server: EmbeddedServer,
) -> None:
    nc = await nats.connect(domain_server.url)
    try:
        c = await natsobj.connect(nc, jetstream_domain="nowhere", timeout=1.0)
        # a wrong domain must not silently reach the local JetStream
        with pytest.raises(natsobj.ObjectStoreError):
            await asyncio.wait_for(c.object_store_names(), 5.0)
        await c.close()
    finally:
        await nc.close()


async def test_orphan_chunks_of_a_plain_bucket_are_sorted_by_age_and_ask_no_origin(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    subject = wire.chunk_subject(store.bucket, "orphanNUIDofAplainBucket0")
    await client.nc.jetstream().publish(subject, b"left by a failed put")
    young = await store.orphan_chunks(min_age=timedelta(minutes=10))
    assert (dict(young.removable), dict(young.recent)) == ({}, {subject: 1})
    assert (dict(young.at_origin), dict(young.unknown), young.unreachable) == ({}, {}, ())
    assert await store.purge_orphans() == 0  # the default 10 minutes spare a running put
    assert dict((await store.orphan_chunks()).removable) == {subject: 1}
    assert await store.purge_orphans(min_age=timedelta(0)) == 1
    assert (await store.orphan_chunks()).subjects == {}
