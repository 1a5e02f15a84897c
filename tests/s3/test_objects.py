"""Objects through the gateway with boto3: put, get, head, ranges, conditions, copy, delete,
multipart through upload_file/download_file, and interop with natsobj readers."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from ._raw import UNSIGNED, connect, head_bytes, read_answer, sign

CHUNK = 128 * 1024
KEYS = ['&+-é"/x', "a//b", "dir/", "sp ace", "percent%20sign", "plus+sign", "~tilde", "ü/ñ/漢字"]


def error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


@pytest.mark.parametrize("key", KEYS)
def test_odd_keys_round_trip_and_list(s3, bucket, key) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * 1024 * 1024])
def test_put_get_sizes_with_md5_etag(s3, bucket, size) -> None:
    body = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key="k", Body=body)
    md5 = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == md5
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == body and got["ETag"] == md5 and got["ContentLength"] == size
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ETag"] == md5 and head["ContentLength"] == size
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["ETag"] == md5


def test_headers_and_metadata_are_kept_and_seen_by_natsobj(s3, bucket, client) -> None:
    s3.put_object(
        Bucket=bucket, Key="doc", Body=b"{}", ContentType="application/json",
        ContentDisposition="attachment", CacheControl="no-cache", Metadata={"Owner": "Ana"},
    )  # fmt: skip
    head = s3.head_object(Bucket=bucket, Key="doc")
    assert head["ContentType"] == "application/json"
    assert head["ContentDisposition"] == "attachment" and head["CacheControl"] == "no-cache"
    assert head["Metadata"] == {"owner": "Ana"}


async def test_non_ascii_metadata_is_stored_as_text_and_served_rfc2047_encoded(
    gateway, s3, bucket, client
) -> None:
    # boto3 refuses non-ASCII metadata; curl and others send the UTF-8 bytes as they are
    target = f"/{bucket}/utf8"
    wanted = {"x-amz-meta-city": "東京", "Content-Length": "2"}
    headers = sign(gateway.endpoint, "PUT", target, wanted, b"hi", payload=UNSIGNED)
    headers["x-amz-meta-city"] = "東京".encode().decode("latin-1")  # its UTF-8 bytes, sent raw
    with connect(gateway.endpoint) as sock:
        sock.sendall(head_bytes("PUT", target, headers) + b"hi")
        assert read_answer(sock, "PUT").status == 200
    store = await client.object_store(bucket)
    assert (await store.get_info("utf8")).metadata == {"city": "東京"}  # what NATS clients read
    await store.put("from-nats", b"x", metadata={"e": "é", "plain": "a"})
    for key, name, text in (("utf8", "city", "東京"), ("from-nats", "e", "é")):
        sent = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
        encoded = base64.b64encode(text.encode()).decode()
        assert sent[f"x-amz-meta-{name}"] == f"=?UTF-8?B?{encoded}?="  # as S3 sends it
    assert s3.head_object(Bucket=bucket, Key="from-nats")["Metadata"]["plain"] == "a"


async def test_objects_written_by_natsobj_are_served_with_a_hex_etag(s3, bucket, client) -> None:
    store = await client.object_store(bucket)
    body = os.urandom(300_000)
    info = await store.put("from-nats", body, headers={"Content-Type": "image/png"})
    got = s3.get_object(Bucket=bucket, Key="from-nats")
    assert got["Body"].read() == body
    assert got["ETag"] == f'"{info.digest_hex}-1"'
    assert got["ContentType"] == "image/png"


async def test_objects_written_through_s3_read_by_natsobj(s3, bucket, client) -> None:
    body = os.urandom(700_000)
    s3.put_object(Bucket=bucket, Key="x", Body=body, Metadata={"a": "1"}, ContentType="text/x")
    store = await client.object_store(bucket)
    assert await store.get("x") == body
    info = await store.get_info("x")
    assert info.metadata == {"a": "1"} and info.headers["Content-Type"] == ["text/x"]
    assert info.digest_hex == hashlib.sha256(body).hexdigest()


def test_ranges(s3, bucket) -> None:
    body = os.urandom(3 * CHUNK + 17)
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    for header, expected in [
        ("bytes=0-9", body[:10]),
        ("bytes=100-", body[100:]),
        ("bytes=-5", body[-5:]),
        (f"bytes={CHUNK - 3}-{CHUNK + 3}", body[CHUNK - 3 : CHUNK + 4]),
        (f"bytes=10-{len(body) + 100}", body[10:]),
    ]:
        got = s3.get_object(Bucket=bucket, Key="r", Range=header)
        assert got["Body"].read() == expected, header
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"].endswith(f"/{len(body)}")
    whole = s3.get_object(Bucket=bucket, Key="r", Range="bytes=nonsense")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200 and whole["Body"].read() == body
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert error_code(caught.value) == "InvalidRange"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_a_big_body_in_odd_pieces_keeps_its_bytes_md5_and_exact_ranges(gateway, s3, bucket) -> None:
    body = os.urandom(5 * 1024 * 1024 + 3)  # hashed in blocks, read in pieces, cut in chunks
    md5 = hashlib.md5(body)
    target = f"/{bucket}/odd"
    headers = {"Content-Length": str(len(body)),
               "Content-MD5": base64.b64encode(md5.digest()).decode()}  # fmt: skip
    headers = sign(gateway.endpoint, "PUT", target, headers, payload=UNSIGNED)
    with connect(gateway.endpoint) as sock:
        sock.sendall(head_bytes("PUT", target, headers))
        for at in range(0, len(body), 70_001):
            sock.sendall(body[at : at + 70_001])
            if at % (1 << 20) < 70_001:
                time.sleep(0.01)  # now and then the gateway waits for the rest
        answer = read_answer(sock, "PUT")
    assert answer.status == 200 and answer.headers["etag"] == f'"{md5.hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="odd")["Body"].read() == body
    for first, last in [(0, 0), (CHUNK - 1, 3 * CHUNK), (len(body) // 2, len(body) - 1)]:
        got = s3.get_object(Bucket=bucket, Key="odd", Range=f"bytes={first}-{last}")
        assert got["Body"].read() == body[first : last + 1]


def test_conditional_get(s3, bucket) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"data")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"data"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert error_code(caught.value) == "PreconditionFailed"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    now = datetime.now(timezone.utc)
    future = now + timedelta(days=1)
    past = now - timedelta(days=1)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=now)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    # a date later than now is invalid and ignored (RFC 7232 3.3), as AWS S3 does (LocalStack's
    # AWS-validated test_s3_get_object_preconditions: obj-ignore-future-modified-since)
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)["Body"].read() == b"data"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert error_code(caught.value) == "PreconditionFailed"
    # If-Match true wins over a failing If-Unmodified-Since (RFC 7232, and S3)
    got = s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=past)
    assert got["Body"].read() == b"data"


def test_conditional_put(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="p", Body=b"one", IfNoneMatch="*")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="p", Body=b"two", IfNoneMatch="*")
    assert error_code(caught.value) == "PreconditionFailed"
    etag = s3.head_object(Bucket=bucket, Key="p")["ETag"]
    s3.put_object(Bucket=bucket, Key="p", Body=b"three", IfMatch=etag)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="p", Body=b"four", IfMatch=etag)
    assert error_code(caught.value) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="p")["Body"].read() == b"three"


def test_missing_objects_and_buckets(s3, bucket) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_code(caught.value) == "NoSuchKey"
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="nope")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="no-such-bucket-here", Key="x")
    assert error_code(caught.value) == "NoSuchBucket"
    s3.delete_object(Bucket=bucket, Key="nope")  # deleting what is not there succeeds


def test_copy_object(s3, bucket) -> None:
    body = os.urandom(400_000)
    etag = s3.put_object(
        Bucket=bucket, Key="src", Body=body, ContentType="a/b", Metadata={"m": "1"}
    )["ETag"]
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == etag
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "a/b" and head["Metadata"] == {"m": "1"}
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == body
    s3.copy_object(
        Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
        ContentType="c/d", Metadata={"n": "2"},
    )  # fmt: skip
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "c/d" and head["Metadata"] == {"n": "2"} and head["ETag"] == etag
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert error_code(caught.value) == "InvalidRequest"
    s3.copy_object(
        Bucket=bucket, Key="src", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
        Metadata={"z": "9"},
    )  # fmt: skip
    head = s3.head_object(Bucket=bucket, Key="src")
    assert head["Metadata"] == {"z": "9"} and head["ETag"] == etag
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/src", CopySourceIfMatch='"0"')
    assert error_code(caught.value) == "PreconditionFailed"


def test_delete_objects(s3, bucket) -> None:
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d{i}", Body=b"x")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": f"d{i}"} for i in range(5)] + [{"Key": "none"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["d0", "d1", "d2", "d3", "d4", "none"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}], "Quiet": True})
    assert "Deleted" not in quiet


@pytest.mark.parametrize("size", [8 * 1024 * 1024 + 1, 20 * 1024 * 1024])
def test_upload_file_and_download_file(s3, bucket, tmp_path, size) -> None:
    src = tmp_path / "big"
    src.write_bytes(os.urandom(size))
    s3.upload_file(str(src), bucket, "big")
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == size and head["ETag"].endswith(f'-{-(-size // (8 << 20))}"')
    dst = tmp_path / "back"
    s3.download_file(bucket, "big", str(dst))
    assert dst.read_bytes() == src.read_bytes()
    part = s3.get_object(Bucket=bucket, Key="big", PartNumber=2)
    assert part["Body"].read() == src.read_bytes()[8 << 20 : 16 << 20]
