"""Interop with nats-py's own object store (PyPI nats-py), in both directions, on one server."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os

import nats
import pytest
from nats.js.api import ObjectMeta as PyObjectMeta

import natsobj
from natsobj import _wire as wire

pytestmark = pytest.mark.asyncio

NAMES = ["plain.txt", "dir/sub/file.bin", "héllo/ü", "日本語の名前", "with space and = sign"]
SIZES = [0, 1, 131071, 131072, 131073, 3 * 131072, 300_000]


@pytest.fixture
async def natspy(server):
    nc = await nats.connect(server.url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


@pytest.mark.parametrize("size", SIZES)
async def test_natspy_reads_what_natsobj_wrote(
    store: natsobj.ObjectStore, natspy, size: int
) -> None:
    data = os.urandom(size)
    for name in NAMES:
        await store.put(
            name,
            data,
            headers={"Content-Type": ["application/octet-stream"]},
            metadata={"written-by": "natsobj"},
        )
    pystore = await natspy.object_store(store.bucket)
    for name in NAMES:
        result = await pystore.get(name)
        assert result.data == data, name
        assert result.info.size == size
        assert result.info.digest == wire.format_digest(hashlib.sha256(data).digest())
        assert result.info.headers["Content-Type"] == ["application/octet-stream"]
    listed = {i.name for i in await pystore.list()}
    assert listed == set(NAMES)


async def test_natspy_reads_what_natsobj_put_many_wrote(store: natsobj.ObjectStore, natspy) -> None:
    """put_many's pipeline (guarded metas, no lookups) writes what nats-py reads, also over
    objects nats-py wrote before."""
    pystore = await natspy.object_store(store.bucket)
    for name in NAMES[:2]:
        await pystore.put(name, b"old version from nats-py")
    blobs = {name: os.urandom(100 + i) for i, name in enumerate(NAMES)}
    blobs["empty"] = b""
    await store.put_many(blobs, concurrency=4, metadata={"written-by": "natsobj"})
    for name, data in blobs.items():
        result = await pystore.get(name)
        assert result.data == data, name
        assert result.info.digest == wire.format_digest(hashlib.sha256(data).digest())
    assert {i.name for i in await pystore.list()} == set(blobs)
    assert await store.orphan_chunk_subjects() == {}


@pytest.mark.parametrize("size", SIZES)
async def test_natsobj_reads_what_natspy_wrote(
    store: natsobj.ObjectStore, natspy, size: int
) -> None:
    data = os.urandom(size)
    pystore = await natspy.object_store(store.bucket)
    for name in NAMES:
        await pystore.put(
            name,
            io.BytesIO(data),
            meta=PyObjectMeta(name=name, description="from nats-py", headers={"X-Origin": ["py"]}),
        )
    for name in NAMES:
        assert await store.get(name) == data, name
        info = await store.get_info(name)
        assert info.size == size and info.description == "from nats-py"
        assert info.headers == {"X-Origin": ["py"]}
        if size > 1000:
            assert await store.get(name, offset=size - 1000, length=500) == data[-1000:-500]
    assert sorted(i.name for i in await store.list()) == sorted(NAMES)


async def test_natspy_tombstone_is_read_and_name_reused(
    client: natsobj.Client, store, natspy
) -> None:
    pystore = await natspy.object_store(store.bucket)
    await pystore.put("gone", b"bytes")
    await pystore.delete("gone")
    stored = await client.js.direct_get_last(store.stream, wire.meta_subject(store.bucket, "gone"))
    assert json.loads(stored.data)["mtime"] == ""  # nats-py's tombstone, which Go cannot parse
    tomb = await store.get_info("gone", show_deleted=True)
    assert tomb.deleted
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get("gone")
    assert await store.list() == []
    await store.put("gone", b"again")
    assert await store.get("gone") == b"again"
    assert (
        wire.parse_time(
            json.loads(
                (
                    await client.js.direct_get_last(
                        store.stream, wire.meta_subject(store.bucket, "gone")
                    )
                ).data
            )["mtime"]
        )
        is not None
    )


async def test_overwrites_across_clients_purge_old_chunks(client, store, natspy) -> None:
    pystore = await natspy.object_store(store.bucket)
    await pystore.put("x", io.BytesIO(os.urandom(300_000)))
    mine = await store.put("x", os.urandom(200_000))
    # the replaced version's chunks are purged off the caller's path: wait for that purge
    await client.store_context.janitor.settle()
    info = await client.js.stream_info(
        store.stream, subjects_filter=wire.all_chunks_subject(store.bucket)
    )
    assert info["state"]["subjects"] == {wire.chunk_subject(store.bucket, mine.nuid): 2}
    await pystore.put("x", b"short")
    assert await store.get("x") == b"short"
    assert await store.orphan_chunk_subjects() == {}


async def test_natsobj_metadata_survives_and_natspy_sees_renames(store, natspy) -> None:
    await store.put("m", b"data", metadata={"owner": "team-a"})
    await store.update_meta("m", natsobj.ObjectMeta(name="m2", metadata={"owner": "team-a"}))
    pystore = await natspy.object_store(store.bucket)
    assert (await pystore.get("m2")).data == b"data"
    with pytest.raises(nats.js.errors.ObjectNotFoundError):
        await pystore.get_info("m")
    await store.delete("m2")
    tomb = await store.get_info("m2", show_deleted=True)
    assert tomb.metadata == {"owner": "team-a"}


async def test_natspy_follows_natsobj_links(store, natspy) -> None:
    target = await store.put("target", b"linked bytes")
    await store.add_link("alias", target)
    pystore = await natspy.object_store(store.bucket)
    assert (await pystore.get("alias")).data == b"linked bytes"


async def test_other_clients_quirky_metas_are_read(client: natsobj.Client, store) -> None:
    target = await store.put("t", b"payload")
    # nats.js link(): no nuid, no size/chunks, no rollup header
    js_link = {
        "name": "jslink",
        "bucket": store.bucket,
        "options": {"link": {"bucket": store.bucket, "name": "t"}},
    }
    await client.js.publish(wire.meta_subject(store.bucket, "jslink"), json.dumps(js_link).encode())
    assert await store.get("jslink") == b"payload"
    # nats.js wrote non-ASCII (<= U+00FF) names as Latin-1 before base64
    latin = {
        "name": "café",
        "bucket": store.bucket,
        "nuid": target.nuid,
        "size": 7,
        "chunks": 1,
        "digest": target.digest,
        "mtime": "2026-01-01T00:00:00.000Z",
        "description": "",
        "deleted": False,
        "revision": 3,
    }
    token = wire.encode_name_latin1("café")
    assert token is not None
    await client.js.publish(
        wire.meta_subject_token(store.bucket, token),
        json.dumps(latin).encode(),
        headers={"Nats-Rollup": "sub"},
    )
    assert await store.get("café") == b"payload"
    # a legacy lower-case, unpadded, standard-alphabet digest
    legacy = dict(
        latin,
        name="legacy",
        digest="sha-256="
        + base64.b64encode(hashlib.sha256(b"payload").digest()).decode().rstrip("="),
    )
    await client.js.publish(
        wire.meta_subject(store.bucket, "legacy"),
        json.dumps(legacy).encode(),
        headers={"Nats-Rollup": "sub"},
    )
    assert await store.get("legacy") == b"payload"
    names = {i.name for i in await store.list()}
    assert {"t", "jslink", "café", "legacy"} <= names
