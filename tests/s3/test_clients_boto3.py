"""boto3 over HTTPS, verifying the gateway's certificate: over TLS botocore streams every PUT
as `aws-chunked` with `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, no Content-Length, and a CRC32
trailer, unlike over HTTP. Sizes and keys from the spec's smoke list, bytes diffed, and the
ETag seen by HEAD, LIST and GET must be one value."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import time
import zlib

import pytest

from natsobj._wire import DEFAULT_CHUNK_SIZE as CHUNK

from ._tls import TlsFiles
from .conftest import Gateway, start_gateway, stop_gateway

MIB = 1024 * 1024
KEYS = ['&+-é"/x', "a//b", "dir/"]


@pytest.fixture
def s3tls(gateway_tls: Gateway) -> object:
    return gateway_tls.client()


def etags_everywhere(s3, bucket: str, key: str) -> tuple[str, bytes]:
    """The one ETag HEAD, LIST and GET agree on, and the bytes GET returned."""
    head = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    (item,) = [i for i in listed if i["Key"] == key]
    got = s3.get_object(Bucket=bucket, Key=key)
    body = got["Body"].read()
    assert head == item["ETag"] == got["ETag"]
    return head, body


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * MIB])
def test_https_put_object_streams_aws_chunked_with_a_crc32_trailer(
    s3tls, bucket, gateway_tls, size
) -> None:
    body = os.urandom(size)
    put = s3tls.put_object(Bucket=bucket, Key="k", Body=body)
    md5 = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == md5
    etag, back = etags_everywhere(s3tls, bucket, "k")
    assert etag == md5 and back == body
    assert s3tls.head_object(Bucket=bucket, Key="k")["ContentLength"] == size


def test_https_put_really_is_aws_chunked(s3tls, bucket, gateway_tls) -> None:
    """What this file is for: botocore over TLS sends the trailer form (seen in its request)."""
    seen: dict[str, str] = {}

    def record(request, **_: object) -> None:
        for name, value in request.headers.items():
            seen[name.lower()] = value.decode() if isinstance(value, bytes) else value

    s3tls.meta.events.register("before-send.s3.PutObject", record)
    s3tls.put_object(Bucket=bucket, Key="probe", Body=b"x" * 1000)
    assert seen["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert "aws-chunked" in seen["content-encoding"]
    assert seen["x-amz-decoded-content-length"] == "1000"
    assert seen["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert s3tls.get_object(Bucket=bucket, Key="probe")["Body"].read() == b"x" * 1000


@pytest.mark.parametrize("key", KEYS)
def test_https_odd_keys(s3tls, bucket, key) -> None:
    body = os.urandom(CHUNK + 1)
    s3tls.put_object(Bucket=bucket, Key=key, Body=body)
    etag, back = etags_everywhere(s3tls, bucket, key)
    assert back == body and etag == f'"{hashlib.md5(body).hexdigest()}"'
    assert [o["Key"] for o in s3tls.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    s3tls.delete_object(Bucket=bucket, Key=key)
    assert "Contents" not in s3tls.list_objects_v2(Bucket=bucket)


def test_https_upload_file_multipart_8mib_plus_1(s3tls, bucket, tmp_path) -> None:
    src = tmp_path / "src"
    src.write_bytes(os.urandom(8 * MIB + 1))
    s3tls.upload_file(str(src), bucket, "dir/big")
    etag, back = etags_everywhere(s3tls, bucket, "dir/big")
    assert etag.endswith('-2"') and back == src.read_bytes()
    # boto3 creates the upload with CRC32 and sends each part's: S3 keeps a COMPOSITE checksum,
    # the CRC32 of the parts' CRC32s, "-2" (LocalStack's AWS snapshots of
    # test_complete_multipart_parts_checksum_composite); download_file skips checking it
    data = src.read_bytes()
    digests = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in (data[: 8 * MIB], data[8 * MIB :]))
    composite = base64.b64encode(zlib.crc32(digests).to_bytes(4, "big")).decode() + "-2"
    head = s3tls.head_object(Bucket=bucket, Key="dir/big", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (composite, "COMPOSITE")
    dst = tmp_path / "dst"
    s3tls.download_file(bucket, "dir/big", str(dst))
    assert dst.read_bytes() == src.read_bytes()


@pytest.mark.slow
def test_https_upload_file_and_download_file_100mib(s3tls, bucket, tmp_path) -> None:
    src = tmp_path / "src"
    with src.open("wb") as out:
        for _ in range(100):
            out.write(os.urandom(MIB))
    s3tls.upload_file(str(src), bucket, "huge")
    head = s3tls.head_object(Bucket=bucket, Key="huge")
    assert head["ContentLength"] == 100 * MIB and head["ETag"].endswith('-13"')
    listed = s3tls.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["ETag"] == head["ETag"] and listed["Size"] == 100 * MIB
    dst = tmp_path / "dst"
    s3tls.download_file(bucket, "huge", str(dst))
    assert file_sha256(dst) == file_sha256(src)


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(MIB):
            digest.update(piece)
    return digest.hexdigest()


def test_https_gateway_stops_at_once_while_a_client_keeps_an_idle_connection(
    server, tmp_path, tls_files: TlsFiles
) -> None:
    """An idle pooled TLS connection never answers close_notify: the stop used to wait 30 s."""
    tls = ("--tls-cert", str(tls_files.cert), "--tls-key", str(tls_files.key))
    gw = start_gateway(server.url, tmp_path, *tls)
    gw.ca = tls_files.ca
    client = gw.client()
    assert "Buckets" in client.list_buckets()  # the connection stays in boto3's pool
    started = time.monotonic()
    assert stop_gateway(gw) == 0
    assert time.monotonic() - started < 10


def test_https_content_encoding_keeps_gzip_and_drops_aws_chunked(s3tls, bucket) -> None:
    """botocore sends `Content-Encoding: gzip,aws-chunked`; the object's encoding is gzip."""
    body = gzip.compress(b"hello " * 1000)
    s3tls.put_object(Bucket=bucket, Key="gz", Body=body, ContentEncoding="gzip")
    head = s3tls.head_object(Bucket=bucket, Key="gz")
    assert head["ContentEncoding"] == "gzip" and head["ContentLength"] == len(body)
    got = s3tls.get_object(Bucket=bucket, Key="gz")
    assert got["ContentEncoding"] == "gzip" and got["Body"].read() == body
    s3tls.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert "ContentEncoding" not in s3tls.head_object(Bucket=bucket, Key="plain")


def test_https_crc64nvme_uploads_as_aws_cli_v2_sends_them(s3tls, bucket, tmp_path) -> None:
    """aws-cli v2 (not on PyPI) uploads with CRC64NVME in the trailer: boto3 with awscrt does
    the same; a GET with checksum mode gets it back and botocore checks the body against it."""
    body = os.urandom(CHUNK * 3 + 7)
    put = s3tls.put_object(Bucket=bucket, Key="v2", Body=body, ChecksumAlgorithm="CRC64NVME")
    got = s3tls.get_object(Bucket=bucket, Key="v2", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == put["ChecksumCRC64NVME"] and got["Body"].read() == body
    src = tmp_path / "src"
    src.write_bytes(os.urandom(8 * MIB + 1))
    s3tls.upload_file(str(src), bucket, "v2-multi", ExtraArgs={"ChecksumAlgorithm": "CRC64NVME"})
    assert s3tls.get_object(Bucket=bucket, Key="v2-multi")["Body"].read() == src.read_bytes()
