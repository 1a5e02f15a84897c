"""Mirrors, replicas and aggregates on a real hub + leaf pair (shared/spec/mirrors.md §7.8):
read parity through a mirror, read-only refusals at once with nothing sent, listing, the
message-get fallback, and source edits."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import natsobj
from natsobj import ObjectMeta, Origin
from natsobj.testing.leaf import LeafPair

from .conftest import unique

FAST = 0.5  # seconds: acceptance criterion 3 of the spec's §7.10


async def synced(pair: LeafPair, hub_bucket: str, leaf_bucket: str) -> None:
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{hub_bucket}", f"OBJ_{leaf_bucket}")


async def arrives(store: natsobj.ObjectStore, name: str, timeout: float = 10.0) -> bytes:
    """The object once it has arrived in a copy (an aggregate's sequences are its own, so
    comparing last sequences with one origin says nothing)."""
    stop = time.monotonic() + timeout
    while True:
        try:
            return await store.get(name)
        except natsobj.ObjectNotFoundError:
            if time.monotonic() > stop:
                raise
            await asyncio.sleep(0.05)


async def fill(origin: natsobj.ObjectStore) -> dict[str, bytes]:
    """The corpus: empty, small with headers and metadata, multi-chunk, exactly one chunk,
    and an in-bucket link."""
    blobs = {
        "empty": b"",
        "small.txt": b"hello mirror",
        "multi.bin": os.urandom(300 * 1024 + 17),
        "one-chunk": os.urandom(1024),
        "dir/nested name ü": os.urandom(5000),
    }
    await origin.put(
        "small.txt",
        blobs["small.txt"],
        description="a small one",
        headers={"Content-Type": "text/plain", "X-Many": ["a", "b"]},
        metadata={"owner": "edge"},
    )
    for name, data in blobs.items():
        if name != "small.txt":
            await origin.put(name, data, chunk_size=1024 if name == "one-chunk" else None)
    await origin.add_link("link-to-small", await origin.get_info("small.txt"))
    return blobs


async def assert_reads_alike(
    mirror: natsobj.ObjectStore, origin: natsobj.ObjectStore, blobs: dict[str, bytes]
) -> None:
    for name, data in blobs.items():
        a, b = await mirror.get_info(name), await origin.get_info(name)
        assert (a.size, a.chunks, a.digest, a.nuid) == (b.size, b.chunks, b.digest, b.nuid)
        assert (a.description, dict(a.headers), dict(a.metadata)) == (
            b.description,
            dict(b.headers),
            dict(b.metadata),
        )
        got = await mirror.get(name)
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert (
        await mirror.get("multi.bin", offset=200_000, length=1000)
        == blobs["multi.bin"][200_000:201_000]
    )
    assert sorted(i.name for i in await mirror.list()) == sorted(
        i.name for i in await origin.list()
    )


async def test_same_name_mirror_across_a_domain_reads_like_the_origin(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    blobs = await fill(origin)
    hub_buckets.append(origin.bucket)
    mirror = await hub.create_object_store(
        origin.bucket, mirror=Origin(origin.bucket, domain=pair.leaf_domain)
    )
    await synced(pair, origin.bucket, origin.bucket)
    await assert_reads_alike(mirror, origin, blobs)
    status = await mirror.status()
    assert status.stream_info["config"]["mirror_direct"] is False
    assert mirror.read_only and mirror.kind == "mirror"
    assert status.replication is not None and status.replication.kind == "mirror"
    (state,) = status.replication.origins
    assert state.origin == Origin(origin.bucket, domain="leaf")
    assert not state.stale and state.error is None
    leaf_state = pair.stream_state("leaf", origin.stream)
    assert leaf_state is not None
    origin_seq = leaf_state["last_seq"]
    assert state.origin_last_seq == origin_seq  # asked through the leaf's domain
    assert status.stream_info["state"]["last_seq"] == origin_seq  # same name: same sequences


async def test_renamed_mirror_reads_like_the_origin_links_included(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    blobs = await fill(origin)
    name = unique("m")
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    await synced(pair, name, origin.bucket)
    await assert_reads_alike(mirror, origin, blobs)
    cfg = (await mirror.status()).stream_info["config"]
    assert cfg["mirror"]["subject_transforms"] == [
        {"src": f"$O.{origin.bucket}.>", "dest": f"$O.{name}.>"}
    ]
    # infos say where they were read from; their metas still name the origin
    assert {i.bucket for i in await mirror.list()} == {name}
    assert (await mirror.get_info("small.txt")).bucket == name
    # the link names the origin's bucket, which the hub does not have: it resolves in the mirror
    link = await mirror.get_info("link-to-small")
    assert link.link is not None and link.link.bucket == origin.bucket
    assert await mirror.get("link-to-small") == blobs["small.txt"]
    async with mirror.open("link-to-small") as reader:
        assert await reader.read() == blobs["small.txt"]
        assert reader.info is not None and reader.info.bucket == name
    with pytest.raises(natsobj.BucketNotFoundError):
        await hub.object_store(origin.bucket)


async def test_connect_domain_writes_from_the_hub_to_the_origin_at_the_edge(
    pair: LeafPair, origin: natsobj.ObjectStore
) -> None:
    async with await natsobj.connect(pair.hub_url, domain=pair.leaf_domain) as edge:
        assert edge.js.prefix == "$JS.leaf.API"
        there = await edge.object_store(origin.bucket)
        await there.put("from-the-hub", b"written through the leaf's domain")
    assert await origin.get("from-the-hub") == b"written through the leaf's domain"
    with pytest.raises(ValueError, match="disagree"):
        await natsobj.connect(pair.hub_url, domain="leaf", jetstream_domain="hub")


async def test_watch_on_a_mirror_gives_the_objects_then_the_marker(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    await origin.put("w1", b"one")
    name = unique("m")
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    await synced(pair, name, origin.bucket)
    seen: list[str | None] = []
    async with mirror.watch() as watcher:
        async for info in watcher:
            seen.append(info.name if info else None)
            assert info is None or info.bucket == name  # read here, whatever its meta says
            if info is None:
                await origin.put("w2", b"two")
            if len(seen) == 3:
                break
    assert seen == ["w1", None, "w2"]


def write_calls(store: natsobj.ObjectStore, path: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Every write API of an ObjectStore, as a call that would write if it could."""
    return {
        "put": lambda: store.put("new", b"x"),
        "put big": lambda: store.put("big", os.urandom(300_000)),
        "put_many": lambda: store.put_many({"a": b"1", "b": b"2"}),
        "put_file": lambda: store.put_file(path),
        "delete": lambda: store.delete("kept"),
        "update_meta": lambda: store.update_meta("kept", ObjectMeta(name="kept", description="d")),
        "rename": lambda: store.rename("kept", "renamed"),
        "add_link": lambda: store.add_link("l", natsobj.ObjectInfo("kept", store.bucket, "n")),
        "add_bucket_link": lambda: store.add_bucket_link("bl", "other"),
        "seal": store.seal,
    }


async def test_every_write_api_on_a_mirror_is_refused_at_once_sending_nothing(
    pair: LeafPair,
    hub: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
    tmp_path: Any,
) -> None:
    await origin.put("kept", b"keep me")
    name = unique("m")
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    await synced(pair, name, origin.bucket)
    path = tmp_path / "f.bin"
    path.write_bytes(b"file")
    before = (pair.stream_state("hub", f"OBJ_{name}"), pair.stream_state("leaf", origin.stream))
    took = {}
    for api, call in write_calls(mirror, str(path)).items():
        start = time.monotonic()
        with pytest.raises(natsobj.BucketReadOnlyError) as caught:
            await call()
        took[api] = time.monotonic() - start
        message = str(caught.value)
        assert f"mirror of bucket {origin.bucket!r}" in message and "--js-domain leaf" in message
    assert max(took.values()) < FAST, took
    after = (pair.stream_state("hub", f"OBJ_{name}"), pair.stream_state("leaf", origin.stream))
    assert after == before
    assert not (await mirror.status()).sealed
    assert await mirror.get("kept") == b"keep me"


async def test_read_only_aggregate_refuses_writes_and_a_writable_one_takes_them(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    await origin.put("from-edge", b"edge")
    ro, rw = unique("agg"), unique("agw")
    hub_buckets += [ro, rw]
    sources = [Origin(origin.bucket, domain="leaf")]
    agg = await hub.create_object_store(ro, sources=sources)
    writable = await hub.create_object_store(rw, sources=sources, writable=True)
    assert agg.kind == writable.kind == "aggregate"
    with pytest.raises(natsobj.BucketReadOnlyError, match="read-only aggregate"):
        await agg.put("x", b"x")
    await writable.put("hub-local", b"hub")
    assert await writable.get("hub-local") == b"hub"
    assert await arrives(writable, "from-edge") == await arrives(agg, "from-edge") == b"edge"


async def test_a_stale_handle_whose_bucket_became_a_mirror_fails_at_once(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    name = unique("s")
    hub_buckets.append(name)
    stale = [await hub.create_object_store(name), await hub.object_store(name)]
    await stale[0].put("a", b"a")
    await hub.delete_object_store(name)
    await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    # one handle per path: a one-chunk put, and a streamed one through the chunk publisher
    for handle, data in zip(stale, (b"one chunk", os.urandom(300_000)), strict=True):
        start = time.monotonic()
        with pytest.raises(natsobj.BucketReadOnlyError, match="read-only mirror"):
            await handle.put("b", data)
        assert time.monotonic() - start < 2 * FAST
        assert handle.read_only  # it learned: the next write is refused before sending
    assert pair.stream_state("hub", f"OBJ_{name}")["messages"] == 0  # type: ignore[index]


async def test_get_info_on_a_stream_without_allow_direct_falls_back_at_once(
    pair: LeafPair, hub: natsobj.Client, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    await origin.put("x", b"hello")
    await origin.put("big", os.urandom(200_000))
    hub_buckets.append(origin.bucket)
    hand_made = {  # as nats.go's own mirror test makes one: no allow_direct
        "name": origin.stream,
        "mirror": {"name": origin.stream, "external": {"api": "$JS.leaf.API"}},
        "allow_rollup_hdrs": True,
        "mirror_direct": False,
    }
    await hub.js.api(f"STREAM.CREATE.{origin.stream}", hand_made)
    await synced(pair, origin.bucket, origin.bucket)
    mirror = await hub.object_store(origin.bucket)
    start = time.monotonic()
    info = await mirror.get_info("x")
    assert time.monotonic() - start < FAST
    assert info.size == 5
    assert await mirror.get("x") == b"hello"
    assert await mirror.get("big") == await origin.get("big")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await mirror.get_info("missing")
    warnings = (await mirror.status()).replication.warnings  # type: ignore[union-attr]
    assert any("allow_direct" in w for w in warnings)


async def test_listing_includes_mirrors_replicas_and_aggregates_with_their_kind(
    pair: LeafPair,
    hub: natsobj.Client,
    leaf: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
) -> None:
    mirror, agg, plain, replica = unique("m"), unique("a"), unique("p"), unique("r")
    hub_buckets += [mirror, agg, plain]
    await hub.create_object_store(mirror, mirror=Origin(origin.bucket, domain="leaf"))
    await hub.create_object_store(agg, sources=[Origin(origin.bucket, domain="leaf")])
    await hub.create_object_store(plain)
    await leaf.create_object_store(replica, mirror=Origin(origin.bucket))
    try:
        names = await hub.object_store_names()
        assert {mirror, agg, plain} <= set(names)
        kinds = {
            s.bucket: s.replication.kind if s.replication else None
            for s in await hub.object_stores()
        }
        assert (kinds[mirror], kinds[agg], kinds[plain]) == ("mirror", "aggregate", None)
        assert replica in await leaf.object_store_names()
        kinds = {
            s.bucket: s.replication.kind if s.replication else None
            for s in await leaf.object_stores()
        }
        assert kinds[replica] == "replica" and kinds[origin.bucket] is None
    finally:
        await leaf.delete_object_store(replica)


async def test_same_domain_replica_leaves_every_origin_read_intact(
    leaf: natsobj.Client, origin: natsobj.ObjectStore
) -> None:
    await origin.put("x", b"x")
    name = unique("r")
    replica = await leaf.create_object_store(name, mirror=Origin(origin.bucket))
    try:
        cfg = (await replica.status()).stream_info["config"]
        assert "mirror" not in cfg and cfg["mirror_direct"] is False
        fresh = await leaf.object_store(origin.bucket)
        results = await asyncio.gather(
            *(fresh.get_info("x") for _ in range(200)), return_exceptions=True
        )
        assert sum(1 for r in results if isinstance(r, natsobj.ObjectInfo)) == 200
        assert await arrives(replica, "x") == b"x"  # under its own name
        with pytest.raises(natsobj.BucketReadOnlyError, match="replica of bucket"):
            await replica.put("y", b"y")
    finally:
        await leaf.delete_object_store(name)


async def test_update_adds_and_removes_sources_and_changes_a_mirrors_limits(
    pair: LeafPair,
    hub: natsobj.Client,
    leaf: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
) -> None:
    second = await leaf.create_object_store(unique("o"))
    try:
        await origin.put("first", b"1")
        await second.put("second", b"2")
        agg, mirror = unique("a"), unique("m")
        hub_buckets += [agg, mirror]
        one = Origin(origin.bucket, domain="leaf")
        two = Origin(second.bucket, domain="leaf")
        await hub.create_object_store(agg, sources=[one])
        store = await hub.update_object_store(agg, add_sources=[two])
        status = await store.status()
        assert [o.origin for o in status.replication.origins] == [one, two]  # type: ignore[union-attr]
        assert await arrives(store, "second") == b"2"
        store = await hub.update_object_store(agg, remove_sources=[Origin(origin.bucket)])
        status = await store.status()
        assert [o.origin for o in status.replication.origins] == [two]  # type: ignore[union-attr]
        assert store.read_only
        with pytest.raises(natsobj.InvalidReplicationError, match="has no source"):
            await hub.update_object_store(agg, remove_sources=[one])

        m = await hub.create_object_store(mirror, mirror=one)
        block = (await m.status()).stream_info["config"]["mirror"]
        m = await hub.update_object_store(mirror, max_bytes=10_000_000, description="hub copy")
        status = await m.status()
        assert status.max_bytes == 10_000_000 and status.description == "hub copy"
        assert status.stream_info["config"]["mirror"] == block
        assert "subjects" not in status.stream_info["config"]
        await origin.put("after-edit", b"still mirrored")
        await synced(pair, mirror, origin.bucket)
        assert await m.get("after-edit") == b"still mirrored"
        with pytest.raises(natsobj.InvalidReplicationError, match="is a mirror"):
            await hub.update_object_store(mirror, add_sources=[two])
    finally:
        await leaf.delete_object_store(second.bucket)
