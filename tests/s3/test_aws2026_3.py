"""The gateway against AWS's answers recorded on 21-02-2026 (LocalStack fork localemu, commit
3098669, tests/aws/services/s3/test_s3.snapshot.json): each test names the snapshot entry and
key it follows."""

from __future__ import annotations

import base64
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError


def _error(call: Callable[[], Any]) -> tuple[int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def test_get_precondition_failed_says_what_s3_says(s3: Any, bucket: str) -> None:
    # TestS3::test_s3_get_object_preconditions[get_object] "precondition-if-match" and
    # "precondition-if-unmodified-since": S3's message, "pre-conditions" and no full stop
    s3.put_object(Bucket=bucket, Key="obj", Body=b"data")
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    for condition, asked in [
        ("If-Match", {"IfMatch": "etag123"}),
        ("If-Unmodified-Since", {"IfUnmodifiedSince": yesterday}),
    ]:
        status, error = _error(lambda a=asked: s3.get_object(Bucket=bucket, Key="obj", **a))
        assert (status, error["Code"], error["Condition"]) == (412, "PreconditionFailed", condition)
        assert error["Message"] == "At least one of the pre-conditions you specified did not hold"


def test_part_number_not_satisfiable_names_both_counts(s3: Any, bucket: str) -> None:
    # TestS3::test_get_object_part "part-doesnt-exist" and "part-no-multipart": 416
    # InvalidPartNumber with PartNumberRequested and ActualPartCount
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * (5 << 20)), (2, b"test content 123")):
        etag = s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number, Body=body
        )["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    s3.put_object(Bucket=bucket, Key="single", Body=b"test-123")
    for key, asked, actual in (("mp", 10, "2"), ("single", 2, "1")):
        status, error = _error(
            lambda k=key, n=asked: s3.get_object(Bucket=bucket, Key=k, PartNumber=n)
        )
        assert (status, error["Code"]) == (416, "InvalidPartNumber")
        assert error["Message"] == "The requested partnumber is not satisfiable"
        assert (error["PartNumberRequested"], error["ActualPartCount"]) == (str(asked), actual)


def test_copy_source_without_a_key_is_an_invalid_copy_source_key(s3: Any, bucket: str) -> None:
    # TestS3::test_s3_copy_object_wrong_format "copy-object-wrong-copy-source": S3 names the
    # header in both ArgumentName and ArgumentValue
    status, error = _error(
        lambda: s3.copy_object(Bucket=bucket, CopySource="wrongformat", Key="destination-key")
    )
    assert (status, error["Code"], error["Message"]) == (
        400,
        "InvalidArgument",
        "Invalid copy source object key",
    )
    assert (error["ArgumentName"], error["ArgumentValue"]) == (
        "x-amz-copy-source",
        "x-amz-copy-source",
    )


def test_get_in_checksum_mode_answers_the_one_stored_checksum(s3: Any, bucket: str) -> None:
    # TestS3::test_s3_get_object_preconditions[get_object] "obj-success" and
    # test_get_object_part "get-obj-no-multipart": boto3 PUTs with a CRC32 and GETs in checksum
    # mode; S3 answers that CRC32 and nothing else (the gateway added the SHA-256 NATS keeps)
    s3.put_object(Bucket=bucket, Key="obj", Body=b"data")
    got = s3.get_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    sums = {k: v for k, v in got.items() if k.startswith("Checksum")}
    assert sums == {"ChecksumCRC32": "rfPzYw==", "ChecksumType": "FULL_OBJECT"}
    part = s3.get_object(Bucket=bucket, Key="obj", PartNumber=1, ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in part and part["ChecksumCRC32"] == "rfPzYw=="
    # GetObjectAttributes likewise (test_s3_copy_object_with_checksum[CRC32] "object-attrs")
    attrs = s3.get_object_attributes(Bucket=bucket, Key="obj", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"] == {"ChecksumCRC32": "rfPzYw==", "ChecksumType": "FULL_OBJECT"}


def test_two_checksum_headers_get_s3s_message(s3: Any, bucket: str) -> None:
    # TestS3PutObjectChecksum::test_s3_checksum_no_algorithm "put-2-checksums"
    body = b"test-data-x"
    sha256 = base64.b64encode(hashlib.sha256(body).digest()).decode()
    status, error = _error(
        lambda: s3.put_object(
            Bucket=bucket, Key="k", Body=body, ChecksumSHA256=sha256, ChecksumCRC32="AAAAAA=="
        )
    )
    assert (status, error["Code"]) == (400, "InvalidRequest")
    assert error["Message"] == (
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
    )


def test_presigned_url_with_a_double_encoded_credential(s3: Any, bucket: str) -> None:
    # TestS3PresignedUrl::test_presigned_double_encoded_credentials "error-malformed": the
    # credential's slashes encoded twice are no credential
    s3.put_object(Bucket=bucket, Key="obj", Body=b"data")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "obj"})
    response = httpx.get(url.replace("%2F", "%252F"), timeout=10)
    assert response.status_code == 400
    error = ET.fromstring(response.content)
    assert error.findtext("Code") == "AuthorizationQueryParametersError"
    assert error.findtext("Message") == (
        "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
        'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
    )


def test_missing_bucket_and_upload_messages_are_s3s(s3: Any, bucket: str) -> None:
    # TestS3ObjectLockRetention::test_s3_object_retention_exc "put-object-retention-no-bucket"
    # (and test_s3_copy_object_src_not_exists): no full stop; TestS3::
    # test_multipart_key_validation "upload-part-wrong-key-name": S3's NoSuchUpload wording
    status, error = _error(lambda: s3.list_objects_v2(Bucket=bucket + "-none"))
    assert (status, error["Message"]) == (404, "The specified bucket does not exist")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="key")["UploadId"]
    status, error = _error(
        lambda: s3.upload_part(Bucket=bucket, Key="other", UploadId=upload, PartNumber=1, Body=b"x")
    )
    assert (status, error["Code"], error["UploadId"]) == (404, "NoSuchUpload", upload)
    assert error["Message"] == (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed."
    )
