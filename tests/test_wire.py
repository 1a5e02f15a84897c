"""Vectors for the wire layer, from shared/spec/object-store-wire.md; no server involved."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from natsobj import (
    BadObjectMetaError,
    InvalidBucketNameError,
    InvalidObjectNameError,
    ObjectInfo,
    ObjectLink,
    ObjectMetaOptions,
    ObjectStoreConfig,
)
from natsobj import _wire as wire

HELLO_DIGEST = "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
EMPTY_DIGEST = "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="


@pytest.mark.parametrize(
    ("name", "token"),
    [("a.txt", "YS50eHQ="), ("empty", "ZW1wdHk="), ("héllo/ü", "aMOpbGxvL8O8"), ("a", "YQ==")],
)
def test_name_encoding_is_padded_base64url_of_utf8(name: str, token: str) -> None:
    assert wire.encode_name(name) == token
    assert wire.meta_subject("B", name) == f"$O.B.M.{token}"


def test_latin1_fallback_token_matches_what_nats_js_writes() -> None:
    assert wire.encode_name_latin1("héllo") == "aOlsbG8="
    assert wire.encode_name_latin1("plain") is None  # same as UTF-8: no second lookup
    assert wire.encode_name_latin1("日本") is None


def test_subjects_and_stream_name() -> None:
    assert wire.stream_name("media") == "OBJ_media"
    assert wire.chunk_subject("media", "N1") == "$O.media.C.N1"
    assert wire.all_meta_subject("media") == "$O.media.M.>"
    assert wire.bucket_from_stream("OBJ_media") == "media"
    assert wire.bucket_from_stream("KV_x") is None


@pytest.mark.parametrize("bad", ["", "a.b", "a b", "a*", "a>", "ü", "x/y"])
def test_invalid_bucket_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidBucketNameError, match="invalid object-store name"):
        wire.validate_bucket_name(bad)


def test_valid_bucket_names_pass() -> None:
    for good in ["a", "A-b_9", "media"]:
        assert wire.validate_bucket_name(good) == good


def test_empty_object_name_is_refused() -> None:
    with pytest.raises(InvalidObjectNameError):
        wire.validate_object_name("")


def test_nuid_is_22_base62_characters_and_unique() -> None:
    ids = {wire.new_nuid() for _ in range(1000)}
    assert len(ids) == 1000
    for nuid in ids:
        assert len(nuid) == 22
        assert nuid.isalnum() and nuid.isascii()


def test_digest_canonical_form() -> None:
    assert wire.format_digest(hashlib.sha256(b"hello").digest()) == HELLO_DIGEST
    assert wire.format_digest(hashlib.sha256(b"").digest()) == EMPTY_DIGEST
    assert len(HELLO_DIGEST) == 52 and HELLO_DIGEST.count("=") == 2  # prefix '=' + one pad


def test_digest_reader_accepts_every_historical_form() -> None:
    raw = hashlib.sha256(b"hello").digest()
    b64url = base64.urlsafe_b64encode(raw).decode()
    std = base64.b64encode(raw).decode()
    forms = [
        "SHA-256=" + b64url,
        "sha-256=" + b64url,  # nats.go before v1.17, nats.deno before Oct 2022
        "SHA-256=" + b64url.rstrip("="),  # unpadded (PYNEW, old deno)
        "SHA-256=" + std,  # standard alphabet
        "SHA-256=" + raw.hex(),  # hex, as nats.js accepts
        "SHA-256=" + raw.hex().upper(),
    ]
    for form in forms:
        assert wire.parse_digest(form) == raw, form


@pytest.mark.parametrize("bad", ["MD5=abc", "SHA-256=!!!", "SHA-256=YWJj", "nodigest"])
def test_digest_reader_rejects_garbage(bad: str) -> None:
    with pytest.raises(BadObjectMetaError):
        wire.parse_digest(bad)


def test_missing_digest_is_none() -> None:
    assert wire.parse_digest(None) is None
    assert wire.parse_digest("") is None


def test_put_meta_matches_go_output_byte_for_byte() -> None:
    info = ObjectInfo(
        name="a.txt",
        bucket="B",
        nuid="NUID",
        size=5,
        chunks=1,
        digest=HELLO_DIGEST,
        options=ObjectMetaOptions(max_chunk_size=131072),
    )
    assert wire.encode_meta(info) == (
        b'{"name":"a.txt","options":{"max_chunk_size":131072},"bucket":"B","nuid":"NUID",'
        b'"size":5,"mtime":"0001-01-01T00:00:00Z","chunks":1,'
        b'"digest":"SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}'
    )


def test_tombstone_and_links_match_go_shape() -> None:
    tomb = ObjectInfo(
        name="a.txt",
        bucket="B",
        nuid="N",
        deleted=True,
        options=ObjectMetaOptions(max_chunk_size=131072),
    )
    assert wire.encode_meta(tomb) == (
        b'{"name":"a.txt","options":{"max_chunk_size":131072},"bucket":"B","nuid":"N",'
        b'"size":0,"mtime":"0001-01-01T00:00:00Z","chunks":0,"deleted":true}'
    )
    link = ObjectInfo(
        name="lnk",
        bucket="B",
        nuid="N2",
        options=ObjectMetaOptions(link=ObjectLink(bucket="B", name="a.txt")),
    )
    assert wire.encode_meta(link) == (
        b'{"name":"lnk","options":{"link":{"bucket":"B","name":"a.txt"}},"bucket":"B",'
        b'"nuid":"N2","size":0,"mtime":"0001-01-01T00:00:00Z","chunks":0}'
    )
    blink = ObjectInfo(
        name="blnk", bucket="B", nuid="N3", options=ObjectMetaOptions(link=ObjectLink("OTHER"))
    )
    doc = json.loads(wire.encode_meta(blink))
    assert doc["options"] == {"link": {"bucket": "OTHER"}}  # no name key: a bucket link


def test_mtime_is_rfc3339_utc_that_go_can_parse() -> None:
    moment = datetime(2026, 11, 22, 10, 0, 1, 123456, tzinfo=timezone.utc)
    text = wire.format_time(moment)
    assert text == "2026-11-22T10:00:01.123456Z"
    assert wire.parse_time(text) == moment


def test_meta_round_trip_keeps_metadata_and_headers() -> None:
    info = ObjectInfo(
        name="x",
        bucket="B",
        nuid="N",
        size=3,
        chunks=1,
        digest=HELLO_DIGEST,
        description="d",
        headers={"Content-Type": ["text/plain"]},
        metadata={"owner": "me"},
        options=ObjectMetaOptions(max_chunk_size=1024),
    )
    back = wire.decode_meta(wire.encode_meta(info))
    assert back.headers == {"Content-Type": ["text/plain"]}
    assert back.metadata == {"owner": "me"}
    assert back.description == "d"
    assert back.chunk_size == 1024
    assert (back.size, back.chunks, back.digest) == (3, 1, HELLO_DIGEST)


def test_reader_tolerates_other_clients_meta() -> None:
    # nats.js link(): no nuid, size, chunks, mtime; unknown 'revision'
    js_link = b'{"name":"l","bucket":"B","options":{"link":{"bucket":"B","name":"a"}},"revision":7}'
    info = wire.decode_meta(js_link)
    assert info.nuid == "" and info.size == 0 and info.chunks == 0
    assert info.link == ObjectLink("B", "a")
    # nats-py tombstone: mtime "" and digest ""
    py_tomb = (
        b'{"name":"a","bucket":"B","nuid":"N","size":0,"mtime":"","chunks":0,'
        b'"digest":"","deleted":true}'
    )
    tomb = wire.decode_meta(py_tomb)
    assert tomb.deleted and tomb.digest is None and tomb.mtime is None
    # NATS.Net: description null, defaults omitted
    net = b'{"name":"n","bucket":"B","nuid":"N","description":null,"digest":null}'
    assert wire.decode_meta(net).description is None
    # nats.js: description "" and deleted false
    js_put = (
        b'{"name":"j","bucket":"B","nuid":"N","size":1,"chunks":1,"description":"",'
        b'"deleted":false,"mtime":"2026-01-01T00:00:00.000Z",'
        b'"digest":"SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}'
    )
    j = wire.decode_meta(js_put)
    assert j.description is None and not j.deleted
    assert j.mtime == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_server_time_overrides_stored_mtime() -> None:
    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    info = wire.decode_meta(b'{"name":"a","bucket":"B","nuid":"N"}', server_time=when)
    assert info.mtime == when


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"[]",
        b'{"name":""}',
        b'{"bucket":"B"}',
        b'{"name":"a","size":-1}',
        b'{"name":"a","size":"5"}',
        b'{"name":"a","options":{"link":{"name":"x"}}}',
        b'{"name":"a","headers":{"k":5}}',
        b'{"name":"a","digest":"SHA-256=zz"}',
    ],
)
def test_unreadable_meta_raises_bad_object_meta(payload: bytes) -> None:
    with pytest.raises(BadObjectMetaError):
        wire.decode_meta(payload)


@given(st.binary(max_size=300))
def test_fuzzed_meta_only_ever_raises_natsobj_errors(payload: bytes) -> None:
    with contextlib.suppress(BadObjectMetaError):  # anything else fails the test
        wire.decode_meta(payload)


@given(st.text(max_size=80))
def test_fuzzed_digest_strings_only_raise_natsobj_errors(text: str) -> None:
    with contextlib.suppress(BadObjectMetaError):  # anything else fails the test
        raw = wire.parse_digest(text)
        assert raw is None or len(raw) == 32


@given(st.text(min_size=1, max_size=60))
def test_any_name_encodes_to_a_valid_subject_token(name: str) -> None:
    token = wire.encode_name(name)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    assert base64.urlsafe_b64decode(token).decode("utf-8") == name


def test_stream_config_as_go_builds_it() -> None:
    cfg = wire.stream_config(
        ObjectStoreConfig(
            bucket="media",
            description="d",
            ttl=timedelta(hours=1),
            compression=True,
            metadata={"team": "x"},
        )
    )
    assert cfg["name"] == "OBJ_media"
    assert cfg["subjects"] == ["$O.media.C.>", "$O.media.M.>"]
    assert cfg["discard"] == "new"
    assert cfg["allow_rollup_hdrs"] is True and cfg["allow_direct"] is True
    assert cfg["max_age"] == 3_600_000_000_000
    assert cfg["max_bytes"] == -1
    assert cfg["num_replicas"] == 1
    assert cfg["storage"] == "file"
    assert cfg["compression"] == "s2"
    assert cfg["metadata"] == {"team": "x"}
    assert "mirror" not in cfg and "sources" not in cfg


def test_stream_config_round_trips_to_bucket_config() -> None:
    original = ObjectStoreConfig(
        bucket="b", ttl=timedelta(seconds=90), max_bytes=1 << 20, replicas=3
    )
    back = wire.config_from_stream(wire.stream_config(original))
    assert back.ttl == timedelta(seconds=90)
    assert back.max_bytes == 1 << 20
    assert back.replicas == 3
    assert back.compression is False


def test_chunk_msg_id_round_trip() -> None:
    assert wire.parse_chunk_msg_id(wire.chunk_msg_id("NUID", 7), "NUID") == 7
    assert wire.parse_chunk_msg_id("OTHER.7", "NUID") is None
    assert wire.parse_chunk_msg_id(None, "NUID") is None


def test_decoded_info_sets_every_field_of_the_dataclass() -> None:
    """decode_meta fills the instance dict directly: it must set exactly the declared fields."""
    import dataclasses

    info = wire.decode_meta(b'{"name":"a","nuid":"n","size":3,"chunks":1}', revision=7)
    assert set(info.__dict__) == {f.name for f in dataclasses.fields(ObjectInfo)}
    assert info == ObjectInfo(name="a", bucket="", nuid="n", size=3, chunks=1, revision=7)
    assert dataclasses.replace(info, size=4).size == 4
