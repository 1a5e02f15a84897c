"""Buckets and listings through the gateway (boto3): owners, errors, pages, delimiters, URL
encoding, versions, multipart rules, and auth refusals."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import pytest
from botocore.exceptions import ClientError

from .test_objects import error_code


def test_bucket_lifecycle_and_owners(gateway, s3) -> None:
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    try:
        with pytest.raises(ClientError) as caught:
            s3.create_bucket(Bucket=name)
        assert error_code(caught.value) == "BucketAlreadyOwnedByYou"
        with pytest.raises(ClientError) as caught:
            gateway.client(1).create_bucket(Bucket=name)
        assert error_code(caught.value) == "BucketAlreadyExists"
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        s3.head_bucket(Bucket=name)
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
        assert "Status" not in s3.get_bucket_versioning(Bucket=name)
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        assert error_code(caught.value) == "NotImplemented"
        s3.put_object(Bucket=name, Key="x", Body=b"1")
        with pytest.raises(ClientError) as caught:
            s3.delete_bucket(Bucket=name)
        assert error_code(caught.value) == "BucketNotEmpty"
        s3.delete_object(Bucket=name, Key="x")
    finally:
        s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=name)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize("name", ["my.bucket", "UPPER", "ab"])
def test_bad_bucket_names_are_refused(s3, name) -> None:
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket=name)
    assert error_code(caught.value) == "InvalidBucketName"


def test_list_pages_delimiters_and_v1(s3, bucket) -> None:
    keys = [f"dir{i % 3}/f{i:03d}" for i in range(30)] + ["top1", "top2"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 7}
        )
    )
    assert len(pages) == 5
    listed = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert listed == sorted(keys, key=lambda k: k.encode())
    tops = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in tops["CommonPrefixes"]] == ["dir0/", "dir1/", "dir2/"]
    assert [o["Key"] for o in tops["Contents"]] == ["top1", "top2"]
    assert tops["KeyCount"] == 5
    one = s3.list_objects_v2(Bucket=bucket, Prefix="dir1/", MaxKeys=3)
    assert one["IsTruncated"] and [o["Key"] for o in one["Contents"]] == [
        "dir1/f001",
        "dir1/f004",
        "dir1/f007",
    ]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="dir2/f029")
    assert [o["Key"] for o in after["Contents"]] == ["top1", "top2"]
    v1 = list(
        s3.get_paginator("list_objects").paginate(
            Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    assert [p["Prefix"] for page in v1 for p in page.get("CommonPrefixes", [])] == [
        "dir0/",
        "dir1/",
        "dir2/",
    ]
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=0).get("KeyCount") == 0
    versions = s3.list_object_versions(Bucket=bucket, Prefix="top")
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions["Versions"]] == [
        ("top1", "null", True), ("top2", "null", True),
    ]  # fmt: skip


def test_url_encoded_listing_keeps_odd_keys(s3, bucket) -> None:
    keys = ["a b", "a+b", "c%d", "e\x01f"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(keys)


def test_multipart_rules(s3, bucket) -> None:
    up = s3.create_multipart_upload(
        Bucket=bucket, Key="m", ContentType="video/mp4", Metadata={"k": "v"}
    )
    uid = up["UploadId"]
    big, small = os.urandom(5 * 1024 * 1024), b"tail"
    e1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=1, Body=small)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=2, Body=small)["ETag"]
    parts = [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": parts}
        )
    assert error_code(caught.value) == "EntityTooSmall"
    e1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=1, Body=big)["ETag"]
    listed = s3.list_parts(Bucket=bucket, Key="m", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, len(big)), (2, 4)]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("m", uid)]
    owner = s3.list_buckets()["Owner"]  # the key that created the upload, as S3 lists it
    assert uploads[0]["Initiator"] == owner and uploads[0]["Owner"] == owner
    for wrong, code in [
        ([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}], "InvalidPartOrder"),
        ([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 3, "ETag": e2}], "InvalidPart"),
        ([{"PartNumber": 1, "ETag": '"00"'}, {"PartNumber": 2, "ETag": e2}], "InvalidPart"),
    ]:
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": wrong}
            )
        assert error_code(caught.value) == code
    parts = [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    assert done["ETag"] == again["ETag"] and done["ETag"].endswith('-2"')
    head = s3.head_object(Bucket=bucket, Key="m")
    assert head["ContentType"] == "video/mp4" and head["Metadata"] == {"k": "v"}
    assert head["ETag"] == done["ETag"] and head["ContentLength"] == len(big) + 4
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == big + small
    assert s3.get_object(Bucket=bucket, Key="m", PartNumber=2)["Body"].read() == small
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="m", UploadId="nope", PartNumber=1, Body=b"x")
    assert error_code(caught.value) == "NoSuchUpload"
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=aborted, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=bucket, Key="gone", UploadId=aborted)
    assert error_code(caught.value) == "NoSuchUpload"


def test_upload_part_copy_with_a_range(s3, bucket) -> None:
    src = os.urandom(6 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    p1 = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource=f"{bucket}/src",
        CopySourceRange="bytes=0-5242879",
    )
    p2 = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=2,
        CopySource=f"{bucket}/src",
        CopySourceRange="bytes=5242880-5242889",
    )
    parts = [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]},
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == src[: 5242880 + 10]


def test_a_second_gateway_completes_an_upload_and_lists_within_a_second(
    gateway, server, s3, bucket, tmp_path
) -> None:
    from .conftest import start_gateway, stop_gateway

    other = start_gateway(server.url, tmp_path)
    try:
        s3b = other.client()
        uid = s3.create_multipart_upload(Bucket=bucket, Key="shared")["UploadId"]
        etag = s3.upload_part(
            Bucket=bucket, Key="shared", UploadId=uid, PartNumber=1, Body=b"part"
        )["ETag"]
        s3b.complete_multipart_upload(
            Bucket=bucket,
            Key="shared",
            UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        )
        assert s3.get_object(Bucket=bucket, Key="shared")["Body"].read() == b"part"
        s3.put_object(Bucket=bucket, Key="via-a", Body=b"a")
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            keys = [o["Key"] for o in s3b.list_objects_v2(Bucket=bucket).get("Contents", [])]
            if "via-a" in keys:
                break
            time.sleep(0.05)
        assert "via-a" in keys
    finally:
        assert stop_gateway(other) == 0


def test_auth_refusals(gateway, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    anonymous = httpx.get(f"{gateway.endpoint}/{bucket}/k", timeout=5)
    assert anonymous.status_code == 403 and b"<Code>AccessDenied</Code>" in anonymous.content
    import boto3
    from botocore.config import Config

    wrong = boto3.client(
        "s3",
        endpoint_url=gateway.endpoint,
        aws_access_key_id="AKIDNATSOBJ1",
        aws_secret_access_key="wrong",
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"}, signature_version="s3v4", retries={"max_attempts": 1}
        ),
    )
    with pytest.raises(ClientError) as caught:
        wrong.get_object(Bucket=bucket, Key="k")
    assert error_code(caught.value) == "SignatureDoesNotMatch"
    unknown = boto3.client(
        "s3",
        endpoint_url=gateway.endpoint,
        aws_access_key_id="NOBODY",
        aws_secret_access_key="x",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as caught:
        unknown.list_buckets()
    assert error_code(caught.value) == "InvalidAccessKeyId"
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
    )
    assert httpx.get(url, timeout=5).content == b"v"
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1
    )
    time.sleep(2.1)
    answer = httpx.get(expired, timeout=5)
    assert answer.status_code == 403 and b"expired" in answer.content
    tampered = url.replace("/k?", "/k2?")
    assert httpx.get(tampered, timeout=5).status_code == 403


def test_bad_digests_store_nothing(s3, bucket) -> None:
    import base64
    import hashlib

    with pytest.raises(ClientError) as caught:
        s3.put_object(
            Bucket=bucket,
            Key="bad",
            Body=b"body",
            ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode(),
        )
    assert error_code(caught.value) == "BadDigest"
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"body", ChecksumCRC32="AAAAAA==")
    assert error_code(caught.value) == "BadDigest"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    ok = s3.put_object(Bucket=bucket, Key="good", Body=b"body", ChecksumAlgorithm="CRC32C")
    got = s3.get_object(Bucket=bucket, Key="good", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32C"] == ok["ChecksumCRC32C"] and got["Body"].read() == b"body"


def test_metrics_are_served(gateway, s3, bucket) -> None:
    s3.list_objects_v2(Bucket=bucket)
    text = httpx.get(f"{gateway.endpoint}/_natsobj/metrics", timeout=5).text
    assert 'natsobj_s3_requests_total{operation="ListObjectsV2",status="200"}' in text
    assert "natsobj_s3_request_seconds_bucket" in text


def test_auth_file_limits_buckets_and_writes(server, s3, bucket, tmp_path) -> None:
    import json

    from .conftest import KEYS, start_gateway, stop_gateway

    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    other = f"o-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=other)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([
        {"access_key": KEYS[0][0], "secret_key": KEYS[0][1], "buckets": [bucket]},
        {"access_key": KEYS[1][0], "secret_key": KEYS[1][1], "read_only": True},
    ]))  # fmt: skip
    limited = start_gateway(server.url, tmp_path, "--auth-file", str(keys), keys=[])
    try:
        mine, reader = limited.client(0), limited.client(1)
        assert mine.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
        assert [b["Name"] for b in mine.list_buckets()["Buckets"]] == [bucket]
        for call in (
            lambda: mine.list_objects_v2(Bucket=other),
            lambda: mine.copy_object(Bucket=bucket, Key="c", CopySource=f"{other}/x"),
            lambda: reader.put_object(Bucket=bucket, Key="w", Body=b"w"),
            lambda: reader.delete_object(Bucket=bucket, Key="k"),
        ):
            with pytest.raises(ClientError) as caught:
                call()
            assert error_code(caught.value) == "AccessDenied"
        assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    finally:
        assert stop_gateway(limited) == 0
        s3.delete_bucket(Bucket=other)
