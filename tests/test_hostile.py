"""Corrupt and hostile input: fuzzed metas, names and digests only ever raise natsobj's errors.

Metas are published raw (with Nats-Rollup: sub, as a writer would) and then read through the
store, so the whole read path is exercised, not only the parser. Hypothesis example counts are
kept small: the file runs in well under 30 s.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import natsobj
from natsobj import _wire as wire

ROLLUP = {"Nats-Rollup": "sub"}
CHUNK = 128 * 1024
REAL_SIZE = 2 * CHUNK + 1234
"""Three chunks, the last one short."""

STORE_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE_SETTINGS = settings(max_examples=300, deadline=None)


def digest_of(data: bytes) -> str:
    return "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()


async def publish_meta(store: natsobj.ObjectStore, name: str, payload: bytes) -> None:
    """Write a raw meta for `name`, replacing the current one, as any client could."""
    await store._js.publish(
        wire.meta_subject(store.bucket, name), payload, headers=ROLLUP, bucket=store.bucket
    )


async def real_object(store: natsobj.ObjectStore) -> tuple[bytes, dict[str, Any]]:
    """Put the 3-chunk object "real" and return its bytes and its meta as JSON."""
    data = os.urandom(REAL_SIZE)
    info = await store.put("real", data)
    return data, json.loads(wire.encode_meta(info))


# ---------------------------------------------------------------------------------------------
# strategies

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
META_KEYS = [
    "name",
    "bucket",
    "nuid",
    "size",
    "chunks",
    "digest",
    "mtime",
    "deleted",
    "description",
    "headers",
    "metadata",
    "options",
]
odd_strings = st.sampled_from(
    ["", " ", ">", "*", "a.b", "a b", "\r\nPUB x 1\r\n", "\x00", "é", "💥", "SHA-256=", "..."]
)


@st.composite
def mutated_metas(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with some keys removed and some replaced by arbitrary JSON or odd strings."""
    doc = dict(base)
    for key in draw(st.lists(st.sampled_from(META_KEYS), max_size=3, unique=True)):
        doc.pop(key, None)
    replacements = draw(
        st.dictionaries(st.sampled_from(META_KEYS), json_values | odd_strings, max_size=4)
    )
    doc.update(replacements)
    return doc


def raw_payloads(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Anything a hostile or broken writer could put in a meta message."""
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        mutated_metas(base).map(lambda d: json.dumps(d).encode()),
        mutated_metas(base).map(lambda d: json.dumps(d).encode()[: len(json.dumps(d)) // 2]),
    )


# A template meta for the "victim" object: its nuid points nowhere, so reading it is quick
# (size 0) or fails fast (no nuid); metas that read real chunks are fuzzed further below.
VICTIM = {
    "name": "victim",
    "bucket": "",
    "nuid": "",
    "size": 0,
    "chunks": 0,
    "mtime": "2024-01-01T00:00:00Z",
    "digest": digest_of(b""),
}


# ---------------------------------------------------------------------------------------------
# the meta reader


@STORE_SETTINGS
@given(payload=raw_payloads(VICTIM))
async def test_any_meta_payload_raises_only_natsobj_errors(
    store: natsobj.ObjectStore, payload: bytes
) -> None:
    await publish_meta(store, "victim", payload)
    try:
        info = await store.get_info("victim", show_deleted=True)
    except natsobj.ObjectStoreError:
        info = None
    assert info is None or isinstance(info, natsobj.ObjectInfo)
    with contextlib.suppress(natsobj.ObjectStoreError):
        await store.get("victim")
    listed = await store.list(show_deleted=True)  # unreadable metas are skipped, never raised
    assert all(isinstance(i, natsobj.ObjectInfo) for i in listed)
    await store.orphan_chunk_subjects()


# ---------------------------------------------------------------------------------------------
# metas that disagree with the chunks


Tamper = Callable[[dict[str, Any], bytes], None]


def _set(key: str, value: Callable[[dict[str, Any], bytes], Any]) -> Tamper:
    def tamper(doc: dict[str, Any], data: bytes) -> None:
        doc[key] = value(doc, data)

    return tamper


TAMPERS: dict[str, tuple[Tamper, type[natsobj.IntegrityError]]] = {
    "digest of other bytes": (
        _set("digest", lambda d, data: digest_of(data[:-1] + b"?")),
        natsobj.DigestMismatchError,
    ),
    "size one short": (_set("size", lambda d, data: len(data) - 1), natsobj.SizeMismatchError),
    "size one chunk short": (
        _set("size", lambda d, data: len(data) - CHUNK),
        natsobj.SizeMismatchError,
    ),
    "size one over": (_set("size", lambda d, data: len(data) + 1), natsobj.IntegrityError),
    "one chunk too many": (_set("chunks", lambda d, data: 4), natsobj.ChunkMismatchError),
    "one chunk too few": (_set("chunks", lambda d, data: 2), natsobj.ChunkMismatchError),
}


@pytest.mark.parametrize("case", list(TAMPERS))
async def test_meta_disagreeing_with_its_chunks_is_caught(
    store: natsobj.ObjectStore, case: str, tmp_path: Path
) -> None:
    data, doc = await real_object(store)
    tamper, error = TAMPERS[case]
    tamper(doc, data)
    await publish_meta(store, "real", json.dumps(doc).encode())
    with pytest.raises(error):
        await store.get("real")
    target = tmp_path / "real.bin"
    with pytest.raises(error):
        await store.get_file("real", target)
    assert list(tmp_path.iterdir()) == []  # no unverified bytes reach the caller's disk


async def test_extra_chunk_after_the_put_is_caught(store: natsobj.ObjectStore) -> None:
    _, doc = await real_object(store)
    await store._js.publish(
        wire.chunk_subject(store.bucket, doc["nuid"]), b"appended later", bucket=store.bucket
    )
    with pytest.raises(natsobj.SizeMismatchError):
        await store.get("real")


async def test_meta_claiming_size_zero_for_real_chunks_is_caught(
    store: natsobj.ObjectStore,
) -> None:
    _, doc = await real_object(store)
    doc["size"] = 0
    await publish_meta(store, "real", json.dumps(doc).encode())
    with pytest.raises(natsobj.IntegrityError):
        await store.get("real")


async def test_meta_bucket_field_cannot_redirect_a_read_to_another_bucket(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    other = await client.create_object_store(store.bucket + "x")
    try:
        secret = await other.put("secret", b"bytes that live in the other bucket")
        doc = json.loads(wire.encode_meta(secret))
        doc["name"] = "innocent"
        await publish_meta(store, "innocent", json.dumps(doc).encode())
        with pytest.raises(natsobj.ObjectStoreError):
            got = await store.get("innocent")
            pytest.fail(f"read {got!r} from bucket {other.bucket!r} through {store.bucket!r}")
    finally:
        await client.delete_object_store(other.bucket)


_REAL: dict[str, tuple[bytes, dict[str, Any]]] = {}


@STORE_SETTINGS
@given(
    size=st.integers(min_value=1, max_value=REAL_SIZE),
    chunks=st.integers(min_value=0, max_value=8),
    digest=st.sampled_from(["real", "other", "none", "garbage"]),
)
async def test_fuzzed_size_chunks_and_digest_never_yield_wrong_bytes(
    store: natsobj.ObjectStore, size: int, chunks: int, digest: str
) -> None:
    """A meta over real chunks reads back the exact bytes, or fails with an IntegrityError.

    A meta may leave chunks (0) or digest out, as old clients did: then only what it does say
    is checked. Sizes above the real size are left out here (each waits for a lagging replica
    for 2 s); "size one over" above covers them.
    """
    if store.bucket not in _REAL:  # one real object per test, shared by its examples
        _REAL[store.bucket] = await real_object(store)
    data, base = _REAL[store.bucket]
    doc = dict(base)
    doc["size"] = size
    doc["chunks"] = chunks
    doc["digest"] = {
        "real": digest_of(data),
        "other": digest_of(data + b"!"),
        "none": None,
        "garbage": "SHA-256=not base64 at all!",
    }[digest]
    await publish_meta(store, "real", json.dumps(doc).encode())
    consistent = size == len(data) and chunks in (0, 3) and digest in ("real", "none")
    if digest == "garbage":
        with pytest.raises(natsobj.BadObjectMetaError):
            await store.get("real")
    elif consistent:
        assert await store.get("real") == data
    else:
        with pytest.raises(natsobj.IntegrityError):
            await store.get("real")


# ---------------------------------------------------------------------------------------------
# names


@STORE_SETTINGS
@given(name=st.text(min_size=1, max_size=40), data=st.binary(max_size=64))
async def test_any_name_round_trips_through_put_get_and_list(
    store: natsobj.ObjectStore, name: str, data: bytes
) -> None:
    info = await store.put(name, data)
    assert info.name == name
    got = await store.get_info(name)
    assert got.name == name and got.size == len(data)
    assert await store.get(name) == data
    assert name in {i.name for i in await store.list()}


# ---------------------------------------------------------------------------------------------
# the pure parsers


@PURE_SETTINGS
@given(payload=st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_decode_meta_raises_only_bad_object_meta(payload: bytes) -> None:
    try:
        info = wire.decode_meta(payload)
    except natsobj.BadObjectMetaError:
        return
    assert isinstance(info, natsobj.ObjectInfo) and info.name


@PURE_SETTINGS
@given(mutated=mutated_metas(VICTIM | {"name": "x", "bucket": "b", "nuid": "n"}))
def test_decode_meta_of_mutated_metas_raises_only_bad_object_meta(mutated: dict[str, Any]) -> None:
    try:
        info = wire.decode_meta(json.dumps(mutated).encode())
    except natsobj.BadObjectMetaError:
        return
    assert isinstance(info.size, int) and info.size >= 0
    assert isinstance(info.chunks, int) and info.chunks >= 0


@PURE_SETTINGS
@given(value=st.text(max_size=80) | st.sampled_from(["SHA-256=", "sha-256=", "SHA-256=="]))
def test_parse_digest_raises_only_bad_object_meta(value: str) -> None:
    try:
        raw = wire.parse_digest(value)
    except natsobj.BadObjectMetaError:
        return
    assert raw is None or len(raw) == 32


@PURE_SETTINGS
@given(raw=st.binary(min_size=32, max_size=32))
def test_digest_formats_round_trip(raw: bytes) -> None:
    text = wire.format_digest(raw)
    assert wire.parse_digest(text) == raw
    assert wire.parse_digest(text.rstrip("=")) == raw  # unpadded, as some clients write
    assert wire.parse_digest("SHA-256=" + raw.hex()) == raw  # hex
