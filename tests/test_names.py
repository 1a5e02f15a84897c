"""meta_names() and get_infos(): a big bucket paged without reading every meta."""

from __future__ import annotations

import pytest

import natsobj
from natsobj import _wire as wire
from natsobj.sync import connect as connect_sync


def test_decode_name_token_reads_utf8_then_latin1() -> None:
    assert wire.decode_name_token(wire.encode_name("dir/é日本.txt")) == "dir/é日本.txt"
    assert wire.decode_name_token(wire.encode_name("a").rstrip("=")) == "a"  # unpadded
    assert wire.decode_name_token("aOlsbG8=") == "héllo"  # nats.js's Latin-1 token
    assert wire.decode_name_token("not base64!") is None


async def test_meta_names_are_sorted_and_keep_delete_markers(store: natsobj.ObjectStore) -> None:
    assert await store.meta_names() == []
    for name in ("b", "a/x", "é", "a", "z 1"):
        await store.put(name, b"data")
    await store.delete("b")
    assert await store.meta_names() == ["a", "a/x", "b", "z 1", "é"]
    assert sorted(n.encode() for n in await store.meta_names()) == [
        n.encode() for n in await store.meta_names()
    ]


async def test_get_infos_leaves_out_missing_and_deleted(store: natsobj.ObjectStore) -> None:
    put = {name: await store.put(name, name.encode() * 3) for name in ("one", "two", "dir/三")}
    await store.delete("two")
    got = await store.get_infos(["one", "two", "dir/三", "never"])
    assert set(got) == {"one", "dir/三"}
    for name, info in got.items():
        assert info.nuid == put[name].nuid
        assert info.size == put[name].size
        assert info.digest == put[name].digest
        assert info.revision == put[name].revision
    with_deleted = await store.get_infos(["two", "never"], show_deleted=True)
    assert list(with_deleted) == ["two"] and with_deleted["two"].deleted
    assert await store.get_infos([]) == {}


async def test_get_infos_reads_more_than_one_batch(store: natsobj.ObjectStore) -> None:
    names = [f"k{i:05d}" for i in range(1500)]  # two multi_last requests
    await store.put_many({name: name.encode() for name in names}, concurrency=64)
    got = await store.get_infos([*names, "missing"])
    assert sorted(got) == names
    assert all(got[n].size == len(n) for n in names)
    assert await store.meta_names() == names


async def test_a_latin1_subject_written_by_nats_js_is_found(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    info = await store.put("héllo", b"bonjour")
    utf8 = wire.meta_subject(store.bucket, "héllo")
    latin1 = wire.meta_subject_token(store.bucket, "aOlsbG8=")
    await client.js.publish(latin1, wire.encode_meta(info))  # as nats.js stores it
    await client.js.stream_purge(store.stream, utf8, bucket=store.bucket)
    fresh = await client.object_store(store.bucket)
    assert await fresh.meta_names() == ["héllo"]
    got = await fresh.get_infos(["héllo"])
    assert got["héllo"].nuid == info.nuid


async def test_get_infos_without_direct_get_reads_one_by_one(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    await store.put_many({f"n{i}": b"x" * i for i in range(70)}, concurrency=16)
    config = (await client.js.stream_info(store.stream, bucket=store.bucket))["config"]
    await client.js.stream_update({**config, "allow_direct": False}, bucket=store.bucket)
    plain = await client.object_store(store.bucket)
    got = await plain.get_infos([*(f"n{i}" for i in range(70)), "nope"])
    assert sorted(got) == sorted(f"n{i}" for i in range(70))
    assert got["n69"].size == 69


@pytest.mark.timeout(60)
def test_sync_twins(server: natsobj.server.EmbeddedServer) -> None:
    bucket = "syncnames"
    with connect_sync(server.url) as client:
        store = client.create_object_store(bucket)
        try:
            store.put("a", b"1")
            store.put("b", b"2")
            store.delete("a")
            assert store.meta_names() == ["a", "b"]
            assert list(store.get_infos(["a", "b"])) == ["b"]
            assert store.get_infos(["a"], show_deleted=True)["a"].deleted
        finally:
            client.delete_object_store(bucket)
