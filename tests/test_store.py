"""Every object store operation and error, against a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import natsobj
from natsobj import ObjectMeta
from natsobj import _wire as wire
from natsobj._jetstream import JetStream
from natsobj._natspy import Connection
from tests.conftest import unique_bucket

pytestmark = pytest.mark.asyncio


async def raw_meta(client: natsobj.Client, bucket: str, name: str) -> dict:
    stored = await client.js.direct_get_last(
        wire.stream_name(bucket), wire.meta_subject(bucket, name)
    )
    assert stored is not None
    return json.loads(stored.data)


async def subject_counts(client: natsobj.Client, bucket: str, subject: str) -> dict[str, int]:
    """What the stream holds on `subject`, once this client's background purges of replaced
    versions are done (Client.close() and every orphan scan wait for them too)."""
    await client.store_context.janitor.settle()
    info = await client.js.stream_info(wire.stream_name(bucket), subjects_filter=subject)
    return dict(info["state"].get("subjects") or {})


# ---------------------------------------------------------------------------------------------
# buckets


async def test_create_bind_status_and_delete_bucket(client: natsobj.Client) -> None:
    name = unique_bucket()
    store = await client.create_object_store(
        name,
        description="media files",
        ttl=timedelta(days=30),
        max_bytes=64 << 20,
        compression=True,
        metadata={"team": "video"},
    )
    bound = await client.object_store(name)
    assert bound.bucket == name
    status = await store.status()
    assert status.bucket == name
    assert status.description == "media files"
    assert status.ttl == timedelta(days=30)
    assert status.max_bytes == 64 << 20
    assert status.compression and status.is_compressed
    assert status.metadata["team"] == "video"
    assert status.backing_store == "JetStream"
    assert status.replicas == 1 and status.storage == "file" and not status.sealed
    assert status.stream_info["config"]["name"] == f"OBJ_{name}"
    assert name in await client.object_store_names()
    assert name in [s.bucket for s in await client.object_stores()]
    await client.delete_object_store(name)
    with pytest.raises(natsobj.BucketNotFoundError, match=name):
        await client.object_store(name)
    assert name not in await client.object_store_names()


async def test_create_is_idempotent_and_conflict_is_bucket_exists(client: natsobj.Client) -> None:
    name = unique_bucket()
    await client.create_object_store(name, description="a")
    await client.create_object_store(name, description="a")  # same config: fine
    with pytest.raises(natsobj.BucketExistsError):
        await client.create_object_store(name, description="b")
    await client.delete_object_store(name)


async def test_update_object_store_changes_config(client: natsobj.Client) -> None:
    name = unique_bucket()
    await client.create_object_store(name, description="old")
    store = await client.update_object_store(name, description="new", max_bytes=1 << 20)
    status = await store.status()
    assert status.description == "new" and status.max_bytes == 1 << 20
    await client.delete_object_store(name)


async def test_missing_and_invalid_buckets(client: natsobj.Client) -> None:
    with pytest.raises(natsobj.BucketNotFoundError):
        await client.object_store("nosuchbucket" + unique_bucket())
    with pytest.raises(natsobj.BucketNotFoundError):
        await client.delete_object_store("nosuchbucket" + unique_bucket())
    with pytest.raises(natsobj.BucketNotFoundError):
        await client.update_object_store("nosuchbucket" + unique_bucket(), description="x")
    for bad in ["has.dot", "has space", "", "ü"]:
        with pytest.raises(natsobj.InvalidBucketNameError):
            await client.create_object_store(bad)
        with pytest.raises(natsobj.InvalidBucketNameError):
            await client.object_store(bad)


# ---------------------------------------------------------------------------------------------
# put / get


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 4096, 10_000])
async def test_put_get_round_trip_at_chunk_boundaries(
    store: natsobj.ObjectStore, size: int
) -> None:
    data = os.urandom(size)
    info = await store.put("obj", data, chunk_size=1024)
    assert info.size == size
    assert info.chunks == -(-size // 1024)
    assert info.digest == wire.format_digest(hashlib.sha256(data).digest())
    assert await store.get("obj") == data
    got = await store.get_info("obj")
    assert (got.size, got.chunks, got.digest, got.nuid) == (
        size,
        info.chunks,
        info.digest,
        info.nuid,
    )


async def test_put_writes_go_shaped_meta_and_rollup(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    await store.put(
        "a.txt", b"hello", description="greeting", headers={"X": "1"}, metadata={"k": "v"}
    )
    doc = await raw_meta(client, store.bucket, "a.txt")
    assert doc["digest"] == "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
    assert doc["options"] == {"max_chunk_size": 131072}
    assert doc["headers"] == {"X": ["1"]} and doc["metadata"] == {"k": "v"}
    assert doc["mtime"].endswith("Z") and wire.parse_time(doc["mtime"]) is not None
    assert "deleted" not in doc
    assert list(doc)[:2] == ["name", "description"]
    await store.put("a.txt", b"second")
    counts = await subject_counts(client, store.bucket, wire.meta_subject(store.bucket, "a.txt"))
    assert list(counts.values()) == [1]  # rollup kept only the last meta


async def test_empty_object_has_no_chunk_messages(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    info = await store.put("empty", b"")
    assert info.chunks == 0 and info.size == 0
    assert info.digest == "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
    assert await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket)) == {}
    assert await store.get("empty") == b""


async def test_put_accepts_every_source_kind(store: natsobj.ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(5000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)

    async def agen():
        for i in range(0, len(data), 777):
            yield data[i : i + 777]

    sources = {
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "file": io.BytesIO(data),
        "path": path,
        "iter": (data[i : i + 300] for i in range(0, len(data), 300)),
        "aiter": agen(),
    }
    for label, source in sources.items():
        info = await store.put(label, source, chunk_size=1024)
        assert info.chunks == 5, label  # always re-cut into full chunks
        assert await store.get(label) == data, label
    await store.put("text", "héllo")
    assert await store.get("text") == "héllo".encode()
    with pytest.raises(TypeError, match="cannot put"):
        await store.put("bad", 12345)  # type: ignore[arg-type]


async def test_put_file_and_get_file(store: natsobj.ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    data = os.urandom(300_000)
    src.write_bytes(data)
    info = await store.put_file(src)
    assert info.name == "in.bin"
    await store.put_file(src, name="docs/report.pdf")
    out = tmp_path / "out.bin"
    await store.get_file("docs/report.pdf", out)
    assert out.read_bytes() == data
    assert not list(tmp_path.glob(".*natsobj-part*"))
    with pytest.raises(FileNotFoundError):
        await store.put_file(tmp_path / "missing")


async def test_overwrite_purges_old_chunks(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    first = await store.put("x", os.urandom(5000), chunk_size=1024)
    second = await store.put("x", os.urandom(3000), chunk_size=1024)
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, second.nuid): 3}
    assert first.nuid != second.nuid


async def test_streaming_reader(store: natsobj.ObjectStore) -> None:
    data = os.urandom(10_000)
    await store.put("s", data, chunk_size=1024)
    async with store.open("s") as reader:
        assert reader.info is not None and reader.info.size == 10_000
        head = await reader.read(100)
        rest = b"".join([chunk async for chunk in reader])
    assert head + rest == data
    async with store.open("s") as reader:
        assert await reader.read() == data
        assert await reader.read(10) == b""


async def test_progress_callback_counts_bytes(store: natsobj.ObjectStore, tmp_path: Path) -> None:
    seen: list[int] = []
    await store.put("p", os.urandom(5000), chunk_size=1024, progress=seen.append)
    assert sum(seen) == 5000 and len(seen) == 5
    got: list[int] = []
    await store.get_file("p", tmp_path / "p", progress=got.append)
    assert sum(got) == 5000


# ---------------------------------------------------------------------------------------------
# range reads


async def test_range_reads_equal_slices_of_the_whole(store: natsobj.ObjectStore) -> None:
    data = os.urandom(10 * 1024 + 7)
    await store.put("r", data, chunk_size=1024)
    cases = [
        (0, 10),
        (1000, 100),
        (1023, 2),
        (1024, 1024),
        (5000, 4000),
        (10_000, 500),
        (len(data) - 1, 10),
        (len(data), 5),
        (len(data) + 100, 5),
        (3, 0),
        (0, len(data)),
    ]
    for offset, length in cases:
        assert await store.get("r", offset=offset, length=length) == data[offset : offset + length]
    assert await store.get("r", offset=4321) == data[4321:]
    assert await store.read_range("r", 2048, 1) == data[2048:2049]
    with pytest.raises(ValueError):
        await store.get("r", offset=-1)


# ---------------------------------------------------------------------------------------------
# info, delete, list


async def test_get_info_errors(store: natsobj.ObjectStore) -> None:
    with pytest.raises(natsobj.ObjectNotFoundError, match="object not found"):
        await store.get_info("missing")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get("missing")
    with pytest.raises(natsobj.InvalidObjectNameError):
        await store.put("", b"x")
    with pytest.raises(natsobj.InvalidObjectNameError):
        await store.get_info("")


async def test_delete_writes_a_go_parsable_tombstone_keeping_metadata(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    info = await store.put(
        "d",
        os.urandom(3000),
        chunk_size=1024,
        description="keep",
        metadata={"owner": "me"},
        headers={"H": ["v"]},
    )
    await store.delete("d")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("d")
    tomb = await store.get_info("d", show_deleted=True)
    assert tomb.deleted and tomb.size == 0 and tomb.chunks == 0 and tomb.digest is None
    assert tomb.metadata == {"owner": "me"} and tomb.description == "keep"
    doc = await raw_meta(client, store.bucket, "d")
    assert doc["deleted"] is True and "digest" not in doc
    assert doc["nuid"] == info.nuid
    assert wire.parse_time(doc["mtime"]) is not None  # never "" (Go could not parse it)
    assert await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket)) == {}
    await store.delete("d")  # deleting again is a no-op
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.delete("never-existed")
    await store.put("d", b"back")  # the name can be reused
    assert await store.get("d") == b"back"


async def test_list(store: natsobj.ObjectStore) -> None:
    assert await store.list() == []  # empty bucket: [] not an error
    for i in range(5):
        await store.put(f"o{i}", f"v{i}".encode())
    await store.delete("o2")
    names = [i.name for i in await store.list()]
    assert names == ["o0", "o1", "o3", "o4"]
    with_deleted = {i.name: i.deleted for i in await store.list(show_deleted=True)}
    assert with_deleted == {"o0": False, "o1": False, "o2": True, "o3": False, "o4": False}


# ---------------------------------------------------------------------------------------------
# update_meta / rename


async def test_update_meta_replaces_fields_and_keeps_data(store: natsobj.ObjectStore) -> None:
    data = os.urandom(2000)
    await store.put("m", data, metadata={"a": "1"}, description="old")
    info = await store.update_meta(
        "m", ObjectMeta(name="m", description="new", metadata={"b": "2"})
    )
    assert info.description == "new" and info.metadata == {"b": "2"}
    again = await store.get_info("m")
    assert again.description == "new" and again.metadata == {"b": "2"}
    assert await store.get("m") == data


async def test_rename_moves_object_and_purges_old_meta(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    data = os.urandom(5000)
    await store.put("old", data, chunk_size=1024, metadata={"k": "v"})
    renamed = await store.update_meta("old", ObjectMeta(name="new", metadata={"k": "v"}))
    assert renamed.name == "new"
    assert await store.get("new") == data
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("old", show_deleted=True)  # no tombstone left behind
    counts = await subject_counts(client, store.bucket, wire.meta_subject(store.bucket, "old"))
    assert counts == {}
    assert [i.name for i in await store.list()] == ["new"]


async def test_rename_errors(store: natsobj.ObjectStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    with pytest.raises(natsobj.ObjectAlreadyExistsError):
        await store.update_meta("a", ObjectMeta(name="b"))
    with pytest.raises(natsobj.UpdateMetaDeletedError):
        await store.update_meta("missing", ObjectMeta(name="x"))
    await store.delete("b")
    await store.update_meta("a", ObjectMeta(name="b"))  # onto a tombstone is allowed
    assert await store.get("b") == b"1"
    await store.delete("b")
    with pytest.raises(natsobj.UpdateMetaDeletedError):
        await store.update_meta("b", ObjectMeta(name="b", description="x"))


# ---------------------------------------------------------------------------------------------
# links


async def test_object_links_are_followed(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    target = await store.put("target", b"payload")
    link = await store.add_link("alias", target)
    assert link.is_link and link.link == natsobj.ObjectLink(store.bucket, "target")
    doc = await raw_meta(client, store.bucket, "alias")
    assert doc["options"] == {"link": {"bucket": store.bucket, "name": "target"}}
    assert doc["size"] == 0 and doc["chunks"] == 0 and len(doc["nuid"]) == 22
    assert await store.get("alias") == b"payload"
    other_name = unique_bucket()
    other = await client.create_object_store(other_name)
    try:
        await other.add_link("cross", target)
        assert await other.get("cross") == b"payload"
        blink = await store.add_bucket_link("to-other", other)
        assert blink.link is not None and blink.link.is_bucket_link
        assert (await raw_meta(client, store.bucket, "to-other"))["options"] == {
            "link": {"bucket": other_name}
        }
        with pytest.raises(natsobj.LinkIsABucketError):
            await store.get("to-other")
    finally:
        await client.delete_object_store(other_name)


async def test_resolve_follows_object_links_and_refuses_bucket_links(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    await store.put("target", b"payload")
    target = await store.get_info("target")
    assert await store.resolve("target") == target
    await store.add_link("alias", target)
    assert await store.resolve("alias") == target  # the target's size, digest, time
    other_name = unique_bucket()
    other = await client.create_object_store(other_name)
    try:
        await other.add_link("cross", target)
        assert await other.resolve("cross") == target
        await store.add_bucket_link("to-other", other)
        with pytest.raises(natsobj.LinkIsABucketError):
            await store.resolve("to-other")
    finally:
        await client.delete_object_store(other_name)
    await store.delete("target")
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.resolve("alias")  # a dangling link
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.resolve("never-there")


async def test_link_rules(store: natsobj.ObjectStore) -> None:
    target = await store.put("t", b"x")
    link = await store.add_link("l", target)
    with pytest.raises(natsobj.NoLinkToLinkError):
        await store.add_link("l2", link)
    await store.put("taken", b"y")
    with pytest.raises(natsobj.ObjectAlreadyExistsError):
        await store.add_link("taken", target)
    await store.add_link("l", target)  # an existing link is overwritten
    deleted = await store.delete("t")
    with pytest.raises(natsobj.NoLinkToDeletedError):
        await store.add_link("l3", deleted)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get("l")  # target gone
    with pytest.raises(natsobj.LinkNotAllowedError):
        await store.put(
            "p",
            b"z",
            meta=ObjectMeta(
                name="p",
                options=natsobj.ObjectMetaOptions(link=natsobj.ObjectLink(store.bucket, "t")),
            ),
        )


# ---------------------------------------------------------------------------------------------
# watch


async def test_watch_sends_initial_state_then_marker_then_updates(
    store: natsobj.ObjectStore,
) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    watcher = store.watch()
    try:
        first = [await asyncio.wait_for(watcher.__anext__(), 5) for _ in range(3)]
        assert [i.name if i else None for i in first] == ["a", "b", None]
        await store.put("c", b"3")
        update = await asyncio.wait_for(watcher.__anext__(), 5)
        assert update is not None and update.name == "c"
        await store.delete("a")
        gone = await asyncio.wait_for(watcher.__anext__(), 5)
        assert gone is not None and gone.name == "a" and gone.deleted
    finally:
        await watcher.stop()


async def test_watch_empty_bucket_marker_and_options(store: natsobj.ObjectStore) -> None:
    async with store.watch() as watcher:
        assert await asyncio.wait_for(watcher.__anext__(), 5) is None
    await store.put("x", b"1")
    await store.put("x", b"2")
    async with store.watch(updates_only=True) as watcher:
        await store.put("z", b"1")
        got = await asyncio.wait_for(watcher.__anext__(), 5)
        assert got is not None and got.name == "z"
    await store.delete("z")
    async with store.watch(ignore_deletes=True) as watcher:
        items = [await asyncio.wait_for(watcher.__anext__(), 5) for _ in range(2)]
        assert [i.name if i else None for i in items] == ["x", None]


# ---------------------------------------------------------------------------------------------
# bucket limits


async def test_sealed_bucket_refuses_writes(client: natsobj.Client) -> None:
    name = unique_bucket()
    store = await client.create_object_store(name)
    await store.put("kept", b"data")
    status = await store.seal()
    assert status.sealed
    with pytest.raises(natsobj.BucketSealedError, match="sealed"):
        await store.put("new", b"x")
    with pytest.raises(natsobj.BucketSealedError):
        await store.delete("kept")
    assert await store.get("kept") == b"data"
    await client.delete_object_store(name)


async def test_full_bucket_fails_put_cleanly(client: natsobj.Client) -> None:
    name = unique_bucket()
    store = await client.create_object_store(name, max_bytes=20_000)
    await store.put("small", b"ok")
    with pytest.raises(natsobj.BucketFullError, match="full"):
        await store.put("big", os.urandom(100_000), chunk_size=4096)
    counts = await subject_counts(client, name, wire.all_chunks_subject(name))
    assert list(counts.values()) == [1]  # only 'small' remains: no orphan chunks
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("big")
    assert await store.get("small") == b"ok"
    await client.delete_object_store(name)


async def test_chunk_size_above_max_payload_is_refused(
    store: natsobj.ObjectStore, client: natsobj.Client
) -> None:
    with pytest.raises(natsobj.ChunkTooLargeError, match="max_payload"):
        await store.put("x", b"data", chunk_size=client.max_payload + 1)


async def test_failed_source_leaves_old_version_and_no_orphans(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    await store.put("keep", b"version one")

    def broken():
        yield os.urandom(4096)
        yield os.urandom(4096)
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        await store.put("keep", broken(), chunk_size=1024)
    assert await store.get("keep") == b"version one"
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert len(counts) == 1
    assert await store.orphan_chunk_subjects() == {}


async def test_cancelled_put_leaves_no_orphans(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    async def slow():
        for _ in range(100):
            yield os.urandom(2048)
            await asyncio.sleep(0.01)

    task = asyncio.ensure_future(store.put("c", slow(), chunk_size=1024))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket)) == {}
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("c")


# ---------------------------------------------------------------------------------------------
# integrity: corruption injected at the protocol level


async def test_wrong_digest_is_caught_and_get_file_writes_nothing(
    client: natsobj.Client, store: natsobj.ObjectStore, tmp_path: Path
) -> None:
    info = await store.put("c", os.urandom(5000), chunk_size=1024)
    doc = await raw_meta(client, store.bucket, "c")
    doc["digest"] = wire.format_digest(hashlib.sha256(b"other").digest())
    await client.js.publish(
        wire.meta_subject(store.bucket, "c"),
        json.dumps(doc).encode(),
        headers={"Nats-Rollup": "sub"},
    )
    with pytest.raises(natsobj.DigestMismatchError, match="digests do not match"):
        await store.get("c")
    out = tmp_path / "c.bin"
    with pytest.raises(natsobj.DigestMismatchError):
        await store.get_file("c", out)
    assert not out.exists() and not list(tmp_path.iterdir())
    assert info.nuid == doc["nuid"]


async def test_extra_chunk_is_caught(client: natsobj.Client, store: natsobj.ObjectStore) -> None:
    info = await store.put("e", os.urandom(3000), chunk_size=1024)
    await client.js.publish(wire.chunk_subject(store.bucket, info.nuid), b"extra bytes")
    with pytest.raises(natsobj.SizeMismatchError):
        await store.get("e")


async def test_size_mismatch_is_caught(client: natsobj.Client, store: natsobj.ObjectStore) -> None:
    await store.put("s", os.urandom(3000), chunk_size=1024)
    doc = await raw_meta(client, store.bucket, "s")
    doc["size"] = 2000
    await client.js.publish(
        wire.meta_subject(store.bucket, "s"),
        json.dumps(doc).encode(),
        headers={"Nats-Rollup": "sub"},
    )
    with pytest.raises(natsobj.SizeMismatchError):
        await store.get("s")


async def test_missing_chunks_fail_fast_instead_of_hanging(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    """Chunks gone from the stream fail the get long before chunk_timeout would.

    The reader allows a lagging replica about 2 s and then fails (measured 2.3 s with
    chunk_timeout 10 s, and the same with 1 s): it does not wait for the idle timeout.
    """
    chunk_timeout = client.transfer.chunk_timeout
    assert chunk_timeout >= 8.0, "the bound below needs room under chunk_timeout"
    info = await store.put("m", os.urandom(5000), chunk_size=1024)
    await client.js.stream_purge(
        wire.stream_name(store.bucket),
        wire.chunk_subject(store.bucket, info.nuid),
        bucket=store.bucket,
    )
    started = asyncio.get_running_loop().time()
    # asyncio.wait, not wait_for: StoreTimeoutError is a TimeoutError, like wait_for's own
    get = asyncio.ensure_future(store.get("m"))
    done, _ = await asyncio.wait({get}, timeout=chunk_timeout + 5.0)
    elapsed = asyncio.get_running_loop().time() - started
    if not done:
        get.cancel()
        with contextlib.suppress(BaseException):
            await get
        pytest.fail(f"the get hung for {elapsed:.1f} s")
    with pytest.raises(natsobj.MissingChunksError, match="missing chunks"):
        get.result()
    assert elapsed < chunk_timeout / 2, f"failed after {elapsed:.2f} s: it waited for a timeout"


async def test_copy_within_and_across_buckets(client: natsobj.Client, store) -> None:
    data = os.urandom(5000)
    await store.put("src", data, chunk_size=1024, description="d", metadata={"k": "v"})
    copied = await store.copy("src", "dst")
    assert await store.get("dst") == data and copied.metadata == {"k": "v"}
    assert copied.chunk_size == 1024 and copied.nuid != (await store.get_info("src")).nuid
    other = await client.create_object_store(unique_bucket())
    try:
        await store.copy("src", "there", to=other)
        assert await other.get("there") == data
    finally:
        await client.delete_object_store(other.bucket)


async def test_list_and_get_info_report_the_same_server_time(store) -> None:
    for i in range(20):
        await store.put(f"t{i}", b"x")
    listed = {info.name: info.mtime for info in await store.list()}
    for i in range(20):
        info = await store.get_info(f"t{i}")
        assert info.mtime is not None and info.mtime == listed[f"t{i}"]


# ---------------------------------------------------------------------------------------------
# the one-chunk put path (bytes no larger than a chunk)


async def test_small_put_into_full_bucket_fails_cleanly(client: natsobj.Client) -> None:
    name = unique_bucket()
    store = await client.create_object_store(name, max_bytes=20_000)
    try:
        await store.put("small", b"ok")
        with pytest.raises(natsobj.BucketFullError, match="full"):
            await store.put("big", os.urandom(30_000))  # one chunk, larger than the room left
        counts = await subject_counts(client, name, wire.all_chunks_subject(name))
        assert list(counts.values()) == [1]
        with pytest.raises(natsobj.ObjectNotFoundError):
            await store.get_info("big")
        assert await store.get("small") == b"ok"
    finally:
        await client.delete_object_store(name)


async def test_small_overwrite_and_empty_put(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    first = await store.put("x", b"one")
    second = await store.put("x", "twö")  # str is stored as UTF-8
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, second.nuid): 1}
    assert first.nuid != second.nuid and await store.get("x") == "twö".encode()
    assert second.digest == wire.format_digest(hashlib.sha256("twö".encode()).digest())
    empty = await store.put("x", b"")
    assert (empty.size, empty.chunks) == (0, 0) and await store.get("x") == b""
    assert await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket)) == {}


def count_requests(store: natsobj.ObjectStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the subject of every request the store's connection sends from now on."""
    sent: list[str] = []
    original = store._js.expect_reply

    async def recording(subject: str, **kwargs: object) -> object:
        sent.append(subject)
        return await original(subject, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store._js, "expect_reply", recording)
    return sent


async def test_small_put_of_a_new_name_sends_chunk_and_meta_only(
    client: natsobj.Client, store: natsobj.ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = count_requests(store, monkeypatch)
    info = await store.put("a", b"first")
    assert sent == [
        wire.chunk_subject(store.bucket, info.nuid),
        wire.meta_subject(store.bucket, "a"),
    ]
    # Replacing it from another store object, which does not know the name: the meta guarded
    # to a new name is refused, so the old version is looked up, replaced and purged.
    other = await client.object_store(store.bucket)
    sent = count_requests(other, monkeypatch)
    second = await other.put("a", b"second")
    lookups = [s for s in sent if ".DIRECT.GET." in s]
    assert len(lookups) == 1 and sent.count(wire.meta_subject(store.bucket, "a")) == 2
    assert await store.get("a") == b"second"
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, second.nuid): 1}
    # After a replacement the next new name is looked up too; once it comes out new, no more.
    sent.clear()
    await other.put("b", b"b")
    assert len([s for s in sent if ".DIRECT.GET." in s]) == 1
    sent.clear()
    await other.put("c", b"c")
    assert not [s for s in sent if ".DIRECT.GET." in s]


async def test_an_overwrite_of_a_name_this_store_knows_costs_the_caller_chunk_and_meta_only(
    client: natsobj.Client, store: natsobj.ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The meta is guarded by the sequence of the version this store wrote: no lookup; the
    replaced chunks are purged by the janitor, off the caller's path, and none remain."""
    first = await store.put("a", b"first")
    sent = count_requests(store, monkeypatch)
    second = await store.put("a", b"second")
    assert sent[:2] == [
        wire.chunk_subject(store.bucket, second.nuid),
        wire.meta_subject(store.bucket, "a"),
    ]
    assert not [s for s in sent if ".DIRECT.GET." in s]
    await client.store_context.janitor.settle()
    assert sent[2:] == [f"$JS.API.STREAM.PURGE.{store.stream}"]
    assert second.revision > first.revision and await store.get("a") == b"second"
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, second.nuid): 1}
    assert await store.orphan_chunk_subjects() == {}


async def test_a_purge_handed_to_a_full_janitor_runs_even_if_its_caller_is_cancelled(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    """A caller that waits for room in the janitor and is cancelled meanwhile (a put over a
    name, cancelled after its meta was stored) still leaves the replaced chunks purged."""
    from natsobj._store.janitor import Janitor

    first = await store.put("a", b"first")
    second = await store.put("b", b"second")
    janitor = Janitor(client.js, client.store_context.transfer, limit=1)
    await janitor.purge_later(store.bucket, wire.chunk_subject(store.bucket, first.nuid))
    waiting = asyncio.ensure_future(
        janitor.purge_later(store.bucket, wire.chunk_subject(store.bucket, second.nuid))
    )
    await asyncio.sleep(0)
    assert not waiting.done()  # no room: the first purge is still running
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await janitor.settle()
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {}


async def test_a_meta_follows_its_chunk_unacked_only_on_a_single_server(
    client: natsobj.Client, store: natsobj.ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nats-Expected-Last-Msg-Id (which lets the meta go right behind its chunk) is sent to a
    single server only: a cluster re-checks it on every replica (see tests/cluster)."""
    sent: list[dict[str, str]] = []

    def recording(original: Any) -> Any:  # metas go out by start_publish or by publish
        async def record(subject: str, payload: bytes, **kwargs: object) -> object:
            if subject.startswith(f"$O.{store.bucket}.M."):
                sent.append(dict(kwargs["headers"]))  # type: ignore[call-overload]
            return await original(subject, payload, **kwargs)

        return record

    for method in ("start_publish", "publish"):
        monkeypatch.setattr(store._js, method, recording(getattr(store._js, method)))
    assert store._js.single_server
    first = await store.put("one", b"1")
    assert sent[-1][wire.EXPECTED_LAST_MSG_ID_HEADER] == wire.chunk_msg_id(first.nuid, 0)
    # what a clustered server says in its INFO
    monkeypatch.setitem(client.nc._server_info, "cluster", "east")
    assert not store._js.single_server
    await store.put("two", b"2")
    assert wire.EXPECTED_LAST_MSG_ID_HEADER not in sent[-1]
    assert sent[-1][wire.EXPECTED_LAST_SUBJECT_SEQ_HEADER] == "0"
    assert await store.get("two") == b"2"
    # a JetStream domain may lead to another server's JetStream
    hub = JetStream(Connection(client.nc, fast=False), domain="hub")
    assert not hub.single_server


async def test_a_put_racing_another_over_one_name_purges_what_it_replaced(
    client: natsobj.Client, store: natsobj.ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer whose meta is refused because another version landed since its lookup looks
    again and replaces that version, so its chunks go too: no orphans either way."""
    other = await client.object_store(store.bucket)
    await store.put("x", b"1" * 3000, chunk_size=1024)
    looked_up, go_on = asyncio.Event(), asyncio.Event()
    original = other._bucket.replaced_by_put

    async def slow_lookup(name: str) -> object:
        info = await original(name)
        looked_up.set()
        await go_on.wait()
        return info

    monkeypatch.setattr(other._bucket, "replaced_by_put", slow_lookup)
    racing = asyncio.ensure_future(other.put("x", b"2" * 3000, chunk_size=1024))
    await asyncio.wait_for(looked_up.wait(), 5)
    # lands between the other writer's lookup (which saw version 1) and its meta
    third = await store.put("x", b"3" * 3000, chunk_size=1024)
    go_on.set()
    second = await asyncio.wait_for(racing, 10)
    assert await store.get("x") == b"2" * 3000
    assert second.revision > third.revision
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, second.nuid): 3}


async def test_small_puts_from_two_writers_at_once_are_all_complete(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    """Two store objects each put alone, so both send guarded metas; their chunks interleave.
    Refused metas are committed the usual way: every object is whole, no chunk is orphaned."""
    other = await client.object_store(store.bucket)
    payloads = {f"w{i}": os.urandom(100 + i) for i in range(120)}

    async def write(target: natsobj.ObjectStore, names: list[str]) -> None:
        for name in names:
            await target.put(name, payloads[name])

    names = sorted(payloads)
    await asyncio.gather(write(store, names[0::2]), write(other, names[1::2]))
    # and over each other's names, so that some guards see an existing name
    await asyncio.gather(write(store, names[1:40:2]), write(other, names[0:40:2]))
    infos = {info.name: info for info in await store.list()}
    assert set(infos) == set(payloads)
    for name, data in payloads.items():
        assert await store.get(name) == data
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, info.nuid): 1 for info in infos.values()}


async def test_cancelled_small_puts_leave_no_orphans(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    """Cancel one-chunk puts at many moments: each is either complete or left no trace."""
    delays = [0.0, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01] * 3
    for i, delay in enumerate(delays):
        task = asyncio.ensure_future(store.put(f"c{i}", os.urandom(1000)))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    live = {info.nuid for info in await store.list()}
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert set(counts) == {wire.chunk_subject(store.bucket, nuid) for nuid in live}
    for info in await store.list():
        assert len(await store.get(info.name)) == 1000


@pytest.mark.parametrize("overwrite", [False, True])
async def test_a_put_cancelled_while_its_meta_is_on_the_way_ends_as_the_server_decided(
    client: natsobj.Client, store: natsobj.ObjectStore, overwrite: bool
) -> None:
    """Cancelled right as its meta goes out (the first moment it waits after sending it):
    the put still ends as the server decided, stored whole, the old version's chunks purged,
    and only then is the cancellation raised."""
    if overwrite:
        await store.put("m", b"old" * 500)
    data = os.urandom(3000)

    async def cancel_on_send(info: natsobj.ObjectInfo) -> dict[str, str]:
        asyncio.get_running_loop().call_soon(task.cancel)  # lands on the first wait after
        return {}

    task = asyncio.ensure_future(store.put("m", data, before_commit=cancel_on_send))
    with pytest.raises(asyncio.CancelledError):
        await task
    info = await store.get_info("m")
    assert await store.get("m") == data
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, info.nuid): 1}


async def test_cancelled_chunked_puts_leave_no_orphans(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    """The same for puts of several chunks, cancelled around the moment the meta is sent."""
    delays = [0.0, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.006, 0.01] * 3
    for i, delay in enumerate(delays):
        task = asyncio.ensure_future(store.put(f"m{i}", os.urandom(3000), chunk_size=1024))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    infos = await store.list()
    counts = await subject_counts(client, store.bucket, wire.all_chunks_subject(store.bucket))
    assert counts == {wire.chunk_subject(store.bucket, info.nuid): 3 for info in infos}
    for info in infos:
        assert len(await store.get(info.name)) == 3000


async def test_list_runs_without_garbage_collections_and_restores_the_collector(
    store: natsobj.ObjectStore,
) -> None:
    import gc

    await store.put_many({f"g{i}": b"x" for i in range(3000)}, concurrency=64)
    collections: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        assert gc.isenabled()
        assert len(await store.list()) == 3000
        # 3000 infos would set off a score of collections; at most the one that runs when
        # the collector is back (it counted the allocations meanwhile) remains
        assert len(collections) <= 1, collections
        assert gc.isenabled()
        gc.disable()
        try:
            await store.list()
            assert not gc.isenabled()  # a collector that was off stays off
        finally:
            gc.enable()
    finally:
        gc.callbacks.remove(count)
