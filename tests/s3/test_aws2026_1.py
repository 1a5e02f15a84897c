"""The gateway against AWS's answers recorded on 21-02-2026 (LocalStack's fork localemu,
tests/aws/services/s3/test_s3.snapshot.json, TestS3 and TestS3PutObjectChecksum): each test
names the snapshot entry and key it follows."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest
from boto3.s3.transfer import KB, TransferConfig

from .test_aws_buckets_copy_gaps import _error, _multipart

# ---------------------------------------------------------------------------------------------
# error documents


def test_error_documents_carry_s3s_fields_and_messages_only(s3, bucket) -> None:
    """test_get_object_no_such_bucket "expected_error", test_range_key_not_exists "exc",
    test_invalid_range_error "exc", test_precondition_failed_error "get-object-if-match",
    test_s3_uppercase_bucket_name "uppercase-bucket": S3's messages (no trailing period but
    NoSuchKey's, "pre-conditions") and its fields, no Resource element."""
    missing = f"nb-{uuid.uuid4().hex[:10]}"
    assert _error(s3.get_object, Bucket=missing, Key="foobar") == (
        404,
        {
            "Code": "NoSuchBucket",
            "Message": "The specified bucket does not exist",
            "BucketName": missing,
        },
    )
    assert _error(s3.get_object, Bucket=bucket, Key="my-key", Range="bytes=1024-4096") == (
        404,
        {"Code": "NoSuchKey", "Message": "The specified key does not exist.", "Key": "my-key"},
    )
    s3.put_object(Bucket=bucket, Key="my-key", Body=b"abcdefgh")
    assert _error(s3.get_object, Bucket=bucket, Key="my-key", Range="bytes=1024-4096") == (
        416,
        {
            "Code": "InvalidRange",
            "Message": "The requested range is not satisfiable",
            "ActualObjectSize": "8",
            "RangeRequested": "bytes=1024-4096",
        },
    )
    assert _error(s3.get_object, Bucket=bucket, Key="my-key", IfMatch='"not good etag"') == (
        412,
        {
            "Code": "PreconditionFailed",
            "Message": "At least one of the pre-conditions you specified did not hold",
            "Condition": "If-Match",
        },
    )
    upper = f"TESTUPPERCASE-{uuid.uuid4().hex[:6]}"
    assert _error(s3.create_bucket, Bucket=upper) == (
        400,
        {
            "Code": "InvalidBucketName",
            "Message": "The specified bucket is not valid.",
            "BucketName": upper,
        },
    )


def test_no_such_upload_has_s3s_message(s3, bucket) -> None:
    """test_multipart_and_list_parts "list-part-after-complete-exc"."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    assert _error(s3.list_parts, Bucket=bucket, Key="k", UploadId=upload_id) == (
        404,
        {
            "Code": "NoSuchUpload",
            "Message": "The specified upload does not exist. The upload ID may be invalid, or "
            "the upload may have been aborted or completed.",
            "UploadId": upload_id,
        },
    )


def test_a_wrong_content_md5_names_both_digests(s3, bucket) -> None:
    """test_s3_invalid_content_md5 "md5-error-bad-digest" and "upload-part-md5-bad-digest":
    BadDigest gives the computed MD5 (base64) and the one sent, hex for a PutObject and as
    sent for an UploadPart."""
    sent = base64.b64encode(hashlib.md5(b"something1").digest()).decode()
    computed = base64.b64encode(hashlib.md5(b"something").digest()).decode()
    message = "The Content-MD5 you specified did not match what we received."
    put = {"Bucket": bucket, "Key": "k", "Body": b"something", "ContentMD5": sent}
    assert _error(s3.put_object, **put) == (
        400,
        {
            "Code": "BadDigest",
            "Message": message,
            "CalculatedDigest": computed,
            "ExpectedDigest": "09891eb590524e35fc73372cddc5d596",
        },
    )
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    part = {"Key": "m", "UploadId": upload_id, "PartNumber": 1}
    assert _error(s3.upload_part, **{**put, **part}) == (
        400,
        {
            "Code": "BadDigest",
            "Message": message,
            "CalculatedDigest": computed,
            "ExpectedDigest": "CYketZBSTjX8czcs3cXVlg==",
        },
    )
    s3.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=upload_id)


# ---------------------------------------------------------------------------------------------
# checksums shown


@pytest.mark.parametrize(
    ("algorithm", "value"),
    [("CRC32", "cZWHwQ=="), ("CRC32C", "Pf4upw=="), ("SHA1", "B++3uSfJMSHWToQMQ1g6lIJY5Eo=")],
)
def test_an_object_shows_its_stored_checksum_alone(s3, bucket, algorithm, value) -> None:
    """TestS3PutObjectChecksum::test_put_object_checksum "head-object-with-checksum" and
    "get-object-attrs-generated", TestS3::test_put_and_get_object_with_utf8_key "get-object":
    HEAD/GET in checksum mode and GetObjectAttributes show the checksum stored, not the
    SHA-256 beside it."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"test data..", ChecksumAlgorithm=algorithm)
    expected = {f"Checksum{algorithm}": value, "ChecksumType": "FULL_OBJECT"}

    def shown(response: dict) -> dict:
        return {k: v for k, v in response.items() if k.startswith("Checksum")}

    assert shown(s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")) == expected
    assert shown(s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")) == expected
    attrs = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"] == expected


# ---------------------------------------------------------------------------------------------
# multipart objects


def test_parts_count_comes_only_with_a_part(s3, bucket, tmp_path) -> None:
    """test_upload_file_multipart "get_object", test_multipart_and_list_parts
    "head-multipart-checksum": no PartsCount for the whole object (S3 gives
    x-amz-mp-parts-count to a GET/HEAD of a partNumber)."""
    file = tmp_path / "f.bin"
    file.write_bytes(b"1" * (6 * KB))
    config = TransferConfig(multipart_threshold=5 * KB, multipart_chunksize=1 * KB)
    s3.upload_file(Bucket=bucket, Key="my-key", Filename=str(file), Config=config)
    got = s3.get_object(Bucket=bucket, Key="my-key")
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == ("B63YTw==-1", "COMPOSITE")
    assert "PartsCount" not in got
    assert "PartsCount" not in s3.head_object(Bucket=bucket, Key="my-key", ChecksumMode="ENABLED")
    assert s3.head_object(Bucket=bucket, Key="my-key", PartNumber=1)["PartsCount"] == 1


def test_object_attributes_of_a_full_object_upload_count_its_parts(s3, bucket) -> None:
    """test_get_object_attributes "object-attrs-multiparts-1-part" and "-2-parts": an upload
    created without an algorithm (CRC64NVME, FULL_OBJECT) has ObjectParts of TotalPartsCount
    alone, whatever MaxParts asks."""
    data = b"upload-part-1" * 5
    for key, parts in (("one", [data]), ("two", [data * (5 * 1024 * 1024 // len(data) + 1), data])):
        _multipart(s3, bucket, key, parts)
        attrs = s3.get_object_attributes(
            Bucket=bucket, Key=key, ObjectAttributes=["ObjectSize", "ObjectParts"], MaxParts=3
        )
        assert attrs["ObjectParts"] == {"TotalPartsCount": len(parts)}
