"""Conditional requests and bucket operations as real AWS S3 answers them, checked against the
real gateway. The expected answers are those LocalStack recorded from AWS for its
`aws.validated` tests (test_s3_preconditions.py, test_s3.py, test_s3_api.py,
test_buckets.py and their .snapshot.json files): the status, the error Code and the
<Condition> S3 names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _error(call: Callable[[], Any]) -> tuple[int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def _status(response: dict[str, Any]) -> int:
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


def test_copy_source_conditions_name_the_one_that_failed(s3: Any, bucket: str) -> None:
    # TestS3CopySourcePreconditions::test_s3_copy_object_preconditions: every condition fails
    # at first, then they are taken away one by one: <Condition> names the one S3 checked
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"data")["ETag"]
    now = datetime.now(timezone.utc)
    yesterday = now - timedelta(days=1)

    def copy(**conditions: Any) -> Any:
        return s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", **conditions)

    all_failing = {
        "CopySourceIfModifiedSince": now,
        "CopySourceIfUnmodifiedSince": yesterday,
        "CopySourceIfMatch": "etag123",
        "CopySourceIfNoneMatch": etag,
    }
    for dropped, condition in [
        (None, "If-Match"),
        ("CopySourceIfMatch", "If-Unmodified-Since"),
        ("CopySourceIfUnmodifiedSince", "If-None-Match"),
        ("CopySourceIfNoneMatch", "If-Modified-Since"),
    ]:
        all_failing.pop(dropped or "", None)
        status, error = _error(lambda: copy(**all_failing))
        assert (status, error["Code"]) == (412, "PreconditionFailed")
        assert error["Condition"] == "x-amz-copy-source-" + condition
    # an ETag without its quotes still matches
    status, error = _error(lambda: copy(CopySourceIfNoneMatch=etag.strip('"')))
    assert (status, error["Condition"]) == (412, "x-amz-copy-source-If-None-Match")
    # a date in the future is no valid date: S3 ignores it ("copy-ignore-future-modified-since")
    copied = copy(CopySourceIfModifiedSince=now + timedelta(days=1))
    assert copied["CopyObjectResult"]["ETag"] == etag


@pytest.mark.parametrize("method", ["get_object", "head_object"])
def test_read_conditions_as_s3(s3: Any, bucket: str, method: str) -> None:
    # TestS3::test_s3_get_object_preconditions[get_object|head_object]
    etag = s3.put_object(Bucket=bucket, Key="obj", Body=b"data")["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="obj")["LastModified"]
    now = datetime.now(timezone.utc)
    read = getattr(s3, method)

    def fails(**conditions: Any) -> tuple[int, dict[str, str]]:
        return _error(lambda: read(Bucket=bucket, Key="obj", **conditions))

    status, error = fails(IfMatch="etag123", IfUnmodifiedSince=now - timedelta(days=1))
    assert status == 412
    if method == "get_object":  # a HEAD answer has no body to name it
        assert (error["Code"], error["Condition"]) == ("PreconditionFailed", "If-Match")
    status, error = fails(IfUnmodifiedSince=now - timedelta(days=1), IfNoneMatch=etag)
    assert status == 412
    if method == "get_object":
        assert error["Condition"] == "If-Unmodified-Since"
    assert fails(IfNoneMatch=etag.strip('"'), IfModifiedSince=now)[0] == 304
    assert fails(IfModifiedSince=modified)[0] == 304
    # "obj-ignore-future-modified-since": a date in the future is ignored, not "not modified"
    assert _status(read(Bucket=bucket, Key="obj", IfModifiedSince=now + timedelta(days=1))) == 200
    assert _status(read(Bucket=bucket, Key="obj", IfUnmodifiedSince=modified)) == 200


def test_put_conditions_s3_takes_and_refuses(s3: Any, bucket: str) -> None:
    # TestS3ObjectWritePrecondition: test_put_object_if_none_match(_validation),
    # test_put_object_if_match_validation, test_put_object_if_match_and_if_none_match_validation
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")["ETag"]
    status, error = _error(lambda: s3.put_object(Bucket=bucket, Key="k", IfNoneMatch="*"))
    assert (status, error["Code"], error["Condition"]) == (
        412,
        "PreconditionFailed",
        "If-None-Match",
    )
    refused = [
        ({"IfNoneMatch": etag}, "If-None-Match"),  # only '*'
        ({"IfMatch": "*"}, "If-Match"),  # never '*', on a key that exists or not
        ({"IfNoneMatch": "*", "IfMatch": etag}, "If-Match,If-None-Match"),  # one at most
    ]
    for key in ("k", "absent"):
        for conditions, header in refused:
            status, error = _error(
                lambda k=key, c=conditions: s3.put_object(Bucket=bucket, Key=k, Body=b"2", **c)
            )
            assert (status, error["Code"], error["Header"]) == (501, "NotImplemented", header)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="absent")
    status, error = _error(lambda: s3.put_object(Bucket=bucket, Key="absent", IfMatch="abcdef"))
    assert (status, error["Code"]) == (404, "NoSuchKey")


def _upload(s3: Any, bucket: str, key: str) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"test")
    return upload_id, [{"ETag": part["ETag"], "PartNumber": 1}]


def _complete(s3: Any, bucket: str, key: str, upload: tuple[str, Any], **condition: str) -> Any:
    upload_id, parts = upload
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **condition
    )


def test_complete_if_match(s3: Any, bucket: str) -> None:
    # test_multipart_if_match_with_put(_identical), _with_delete, test_multipart_if_match_etag
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"test")["ETag"]
    upload = _upload(s3, bucket, "k")
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"test")["ETag"]  # same bytes
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfMatch='"0000"'))
    assert (status, error["Code"], error["Condition"]) == (412, "PreconditionFailed", "If-Match")
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfMatch=second))
    assert (status, error["Code"], error["Condition"]) == (
        409,
        "ConditionalRequestConflict",
        "If-Match",
    )
    multipart = _complete(s3, bucket, "k", _upload(s3, bucket, "k"), IfMatch=first)["ETag"]
    upload = _upload(s3, bucket, "k")
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfMatch=first))
    assert (status, error["Condition"]) == (412, "If-Match")
    assert _complete(s3, bucket, "k", upload, IfMatch=multipart)["ETag"] == multipart
    upload = _upload(s3, bucket, "k")
    s3.delete_object(Bucket=bucket, Key="k")
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfMatch=multipart))
    assert (status, error["Code"]) == (404, "NoSuchKey")


def test_copy_object_write_conditions(s3: Any, bucket: str) -> None:
    # CopyObject takes If-None-Match / If-Match on its target as PutObject does
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"data")["ETag"]
    copy = {"Bucket": bucket, "CopySource": f"{bucket}/src"}
    assert s3.copy_object(Key="dst", IfNoneMatch="*", **copy)["CopyObjectResult"]["ETag"] == etag
    status, error = _error(lambda: s3.copy_object(Key="dst", IfNoneMatch="*", **copy))
    assert (status, error["Condition"]) == (412, "If-None-Match")
    status, error = _error(lambda: s3.copy_object(Key="dst", IfMatch='"0000"', **copy))
    assert (status, error["Condition"]) == (412, "If-Match")
    assert s3.copy_object(Key="dst", IfMatch=etag, **copy)["CopyObjectResult"]["ETag"] == etag


def test_put_answers_its_checksum_and_type(s3: Any, bucket: str) -> None:
    # test_buckets.py::test_put_and_get_object_md5 "put_object_response" (boto3 sends a CRC32)
    put = s3.put_object(Bucket=bucket, Key="obj", Body=b"hello-localstack-s3-put-object")
    assert put["ETag"] == '"b04bfefd7aa5dfa51c15b389ef4b2d96"'
    assert (put["ChecksumCRC32"], put["ChecksumType"]) == ("NPeJYw==", "FULL_OBJECT")
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert (head["ContentType"], head["AcceptRanges"], head["Metadata"]) == (
        "binary/octet-stream",
        "bytes",
        {},
    )
    got = s3.get_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == ("NPeJYw==", "FULL_OBJECT")


def test_recreating_an_owned_bucket_in_another_region_is_409(s3: Any, bucket: str) -> None:
    # TestS3::test_create_bucket_with_existing_name: the bucket exists, whatever the region asked
    for region in ("us-west-1", "us-east-2"):
        status, error = _error(
            lambda r=region: s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": r}
            )
        )
        assert (status, error["Code"], error["BucketName"]) == (
            409,
            "BucketAlreadyOwnedByYou",
            bucket,
        )
    # a new bucket in a region this gateway does not serve: S3's answer to a region-specific
    # endpoint (TestS3::test_different_location_constraint "create_bucket_constraint_exc")
    status, error = _error(
        lambda: s3.create_bucket(
            Bucket=bucket + "-x", CreateBucketConfiguration={"LocationConstraint": "us-west-1"}
        )
    )
    assert (status, error["Code"]) == (400, "IllegalLocationConstraintException")


def test_bucket_region_on_head_and_list(s3: Any, bucket: str) -> None:
    # TestS3::test_region_header_exists: HeadBucket and ListObjectsV2 both name the region
    for answer in (s3.head_bucket(Bucket=bucket), s3.list_objects_v2(Bucket=bucket)):
        assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    listed = s3.list_objects_v2(Bucket=bucket)  # test_buckets.py::test_create_list_delete_bucket
    assert (listed["KeyCount"], listed["MaxKeys"], listed["IsTruncated"], listed["Prefix"]) == (
        0,
        1000,
        False,
        "",
    )
    assert "Contents" not in listed
