"""Cases found by running a public S3 conformance suite's copy, multipart and bucket cases
against the gateway: re-creating a bucket, and UploadPartCopy's x-amz-copy-source-range."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import Gateway


def _status_and_code(call) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


# ---------------------------------------------------------------------------------------------
# CreateBucket on a bucket that exists. Decided: the owner gets 409 BucketAlreadyOwnedByYou in
# every region, as issue 14 asks and as S3 answers outside us-east-1 (us-east-1's legacy 200
# no-op is not copied: a script re-creating its own bucket learns that it existed).


def test_the_owner_re_creating_a_bucket_gets_409_and_keeps_its_objects(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="mykey1", Body=b"1")
    s3.put_object(Bucket=bucket, Key="mykey2", Body=b"2")
    call = lambda: s3.create_bucket(Bucket=bucket)  # noqa: E731
    assert _status_and_code(call) == (409, "BucketAlreadyOwnedByYou")
    keys = [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]]
    assert keys == ["mykey1", "mykey2"]
    assert s3.get_object(Bucket=bucket, Key="mykey1")["Body"].read() == b"1"


def test_another_key_re_creating_a_bucket_gets_409_bucket_already_exists(
    gateway: Gateway, bucket
) -> None:
    call = lambda: gateway.client(1).create_bucket(Bucket=bucket)  # noqa: E731
    assert _status_and_code(call) == (409, "BucketAlreadyExists")


# ---------------------------------------------------------------------------------------------
# UploadPartCopy's source range: bytes=first-last within the source, else InvalidArgument
# (InvalidRequest when it starts past the source's end)


def _upload(s3, bucket: str, size: int) -> str:
    s3.put_object(Bucket=bucket, Key="source", Body=bytes(range(size)))
    return s3.create_multipart_upload(Bucket=bucket, Key="dest")["UploadId"]


def _copy_part(s3, bucket: str, upload_id: str, copy_range: str):
    return s3.upload_part_copy(
        Bucket=bucket,
        Key="dest",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=copy_range,
    )


@pytest.mark.parametrize(
    ("copy_range", "code"),
    [
        ("bytes=0-21", "InvalidArgument"),
        ("bytes=0-5", "InvalidArgument"),
        # starting past the last byte is InvalidRequest on AWS (LocalStack's AWS-validated
        # snapshot test_s3_api.py::TestS3Multipart::test_upload_part_copy_range, bytes=100-200)
        ("bytes=5-5", "InvalidRequest"),
        ("bytes=9-99", "InvalidRequest"),
    ],
)
def test_a_copy_source_range_past_the_source_is_refused_not_clamped(
    s3, bucket, copy_range, code
) -> None:
    upload_id = _upload(s3, bucket, 5)
    call = lambda: _copy_part(s3, bucket, upload_id, copy_range)  # noqa: E731
    assert _status_and_code(call) == (400, code)
    parts = s3.list_parts(Bucket=bucket, Key="dest", UploadId=upload_id)
    assert parts.get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="dest", UploadId=upload_id)


@pytest.mark.parametrize(
    "copy_range",
    ["0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar", "bytes=hello-", "bytes=0-2,3-5",
     "bytes=-2", "bytes=3-1"],
)  # fmt: skip
def test_a_malformed_copy_source_range_is_invalid_argument(s3, bucket, copy_range) -> None:
    upload_id = _upload(s3, bucket, 5)
    call = lambda: _copy_part(s3, bucket, upload_id, copy_range)  # noqa: E731
    assert _status_and_code(call) == (400, "InvalidArgument")
    s3.abort_multipart_upload(Bucket=bucket, Key="dest", UploadId=upload_id)


def test_a_copy_source_range_ending_on_the_last_byte_copies_exactly(s3, bucket) -> None:
    upload_id = _upload(s3, bucket, 5)
    part = _copy_part(s3, bucket, upload_id, "bytes=1-4")
    parts = [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="dest", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert s3.get_object(Bucket=bucket, Key="dest")["Body"].read() == bytes([1, 2, 3, 4])
