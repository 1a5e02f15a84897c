"""Multipart uploads, copies, checksums and ranges as AWS S3 answers them: each test pins an
answer where the gateway differed from what S3 itself gave (LocalStack's AWS-validated
snapshots of test_s3.py name the case in each test's comment)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _error(call: Any, **kwargs: Any) -> tuple[int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


# ---------------------------------------------------------------------------------------------
# multipart uploads


# ---------------------------------------------------------------------------------------------
# checksums and ranges


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_a_malformed_checksum_header_is_an_invalid_request(s3, bucket, algorithm) -> None:
    # TestS3::test_put_object_checksum[*]: put-wrong-checksum is 400 InvalidRequest, "Value for
    # x-amz-checksum-<alg> header is invalid." (the value was not the base64 of a digest)
    status, error = _error(
        s3.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"test data..",
        ChecksumAlgorithm=algorithm,
        **{f"Checksum{algorithm}": "1a2b3c4d"},
    )
    assert (status, error["Code"]) == (400, "InvalidRequest")
    assert error["Message"] == f"Value for x-amz-checksum-{algorithm.lower()} header is invalid."
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_malformed_content_md5_stays_an_invalid_digest(s3, bucket) -> None:
    # TestS3::test_s3_invalid_content_md5: md5-error-* are 400 InvalidDigest
    status, error = _error(s3.put_object, Bucket=bucket, Key="k", Body=b"x", ContentMD5="MTIz")
    assert (status, error["Code"]) == (400, "InvalidDigest")


def test_an_unsatisfiable_range_names_the_range_requested(s3, bucket) -> None:
    # TestS3::test_invalid_range_error: 416 InvalidRange, ActualObjectSize 8,
    # RangeRequested "bytes=1024-4096"
    s3.put_object(Bucket=bucket, Key="my-key", Body=b"abcdefgh")
    status, error = _error(s3.get_object, Bucket=bucket, Key="my-key", Range="bytes=1024-4096")
    assert (status, error["Code"]) == (416, "InvalidRange")
    assert (error["ActualObjectSize"], error["RangeRequested"]) == ("8", "bytes=1024-4096")


# ---------------------------------------------------------------------------------------------
# CopyObject


def test_a_copy_onto_itself_naming_a_storage_class_is_allowed(s3, bucket) -> None:
    # TestS3::test_s3_copy_object_in_place: copy-object-in-place-no-change is 400
    # InvalidRequest, copy-object-in-place-with-storage-class (STANDARD, as the object has) 200;
    # test_s3_copy_object_in_place_metadata_directive: copy-copy-directive (COPY + STANDARD)
    # 200, the metadata kept
    s3.put_object(Bucket=bucket, Key="k", Body=b'{"key": "value"}', Metadata={"key": "value"})
    status, error = _error(s3.copy_object, Bucket=bucket, CopySource=f"{bucket}/k", Key="k")
    assert (status, error["Code"]) == (400, "InvalidRequest")
    copied = s3.copy_object(
        Bucket=bucket,
        CopySource=f"{bucket}/k",
        Key="k",
        MetadataDirective="COPY",
        Metadata={"ignored": "yes"},
        StorageClass="STANDARD",
    )
    assert copied["CopyObjectResult"]["ETag"] == '"88bac95f31528d13a072c05f2a1cf371"'
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"key": "value"}


def test_a_modified_since_in_the_future_is_ignored(s3, bucket) -> None:
    # TestS3::test_s3_copy_object_preconditions: copy-ignore-future-modified-since is 200;
    # test_s3_get_object_preconditions[get_object|head_object]: obj-ignore-future-modified-since
    # is 200 (S3 ignores the date), where a date now is 412 (copy) or 304 (read)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    future = datetime.now(timezone.utc) + timedelta(days=1)
    s3.copy_object(
        Bucket=bucket, CopySource=f"{bucket}/k", Key="d", CopySourceIfModifiedSince=future
    )
    assert s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=future)["Body"].read() == b"data"
    assert s3.head_object(Bucket=bucket, Key="k", IfModifiedSince=future)["ContentLength"] == 4
    now = datetime.now(timezone.utc)
    status, error = _error(
        s3.copy_object,
        Bucket=bucket,
        CopySource=f"{bucket}/k",
        Key="d",
        CopySourceIfModifiedSince=now,
    )
    assert (status, error["Code"]) == (412, "PreconditionFailed")


def test_a_copy_keeps_the_checksum_its_source_was_stored_with(s3, bucket) -> None:
    # TestS3::test_s3_copy_object... copy-success: the CopyObjectResult of b"data" put with a
    # CRC32 names ChecksumCRC32 "rfPzYw==", and the copy keeps it (COPY and REPLACE alike:
    # the checksum describes the bytes, not the metadata)
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", ChecksumAlgorithm="CRC32")
    for directive, key in (("COPY", "d1"), ("REPLACE", "d2"), ("REPLACE", "src")):
        copied = s3.copy_object(
            Bucket=bucket, Key=key, CopySource=f"{bucket}/src", MetadataDirective=directive
        )
        assert copied["CopyObjectResult"].get("ChecksumCRC32") == "rfPzYw==", (directive, key)
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head.get("ChecksumCRC32") == "rfPzYw==", (directive, key)
