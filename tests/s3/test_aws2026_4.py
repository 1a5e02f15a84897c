"""The gateway against AWS's answers recorded on 21-02-2026 (localemu's test_s3.snapshot.json,
LocalStack's AWS-validated tests): each test names the snapshot entry and key it follows."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _upload(s3: Any, bucket: str, key: str, data: list[bytes], **create: Any) -> dict[str, Any]:
    """A completed multipart upload of `data`, each part sent with the upload's algorithm
    (and its checksum given to Complete), or with boto3's CRC32 for an upload made with none."""
    made = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)
    algorithm = made.get("ChecksumAlgorithm", "")
    parts = []
    for number, body in enumerate(data, 1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=made["UploadId"], PartNumber=number, Body=body,
            ChecksumAlgorithm=algorithm or "CRC32",
        )  # fmt: skip
        sums = {k: v for k, v in answer.items() if k == f"Checksum{algorithm}"}
        parts.append({"ETag": answer["ETag"], "PartNumber": number, **sums})
    return s3.complete_multipart_upload(  # type: ignore[no-any-return]
        Bucket=bucket, Key=key, UploadId=made["UploadId"], MultipartUpload={"Parts": parts}
    )


def test_a_us_east_1_gateway_finds_a_constraint_naming_no_region_invalid(s3) -> None:
    # TestS3::test_create_bucket_with_invalid_location_constraint[us-east-1-foo] and
    # test_bucket_constraint_aws_global[us-east-1]: 400 InvalidLocationConstraint naming it
    # (IllegalLocationConstraintException came, which S3 answers a region's endpoint)
    for where in ("foo", "aws-global"):
        with pytest.raises(ClientError) as caught:
            s3.create_bucket(
                Bucket=f"p4-{uuid.uuid4().hex[:12]}",
                CreateBucketConfiguration={"LocationConstraint": where},
            )
        error = caught.value.response["Error"]
        assert (error["Code"], error["Message"], error["LocationConstraint"]) == (
            "InvalidLocationConstraint", "The specified location-constraint is not valid", where,
        )  # fmt: skip


def test_a_request_signed_for_another_region_is_told_the_region(gateway) -> None:
    # TestS3::test_create_bucket_aws_global: "xml-error-create-bucket", a request signed for
    # aws-global: AuthorizationHeaderMalformed with S3's message and its Region element
    other = gateway.client(region="eu-central-1")
    with pytest.raises(ClientError) as caught:
        other.list_buckets()
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"], error["Region"]) == (
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region 'eu-central-1' is wrong; "
        "expecting 'us-east-1'",
        "us-east-1",
    )


def test_rfc2047_metadata_is_decoded_and_served_as_s3_encodes_it(s3, bucket) -> None:
    # TestS3::test_user_metadata_rfc2047_encoded, "get-object": S3 decodes RFC 2047 values
    # (stored as sent, and non-ASCII text went out B-encoded) and encodes a value with
    # characters that are not printable ASCII Q when most are ASCII, else B
    def b_encoded(text: str) -> str:
        return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="

    sent = {
        "non-ascii": b_encoded("test_—_file%E2%80%94_é_2?.pdf"),
        "non-ascii-2": b_encoded("ÄMÄZÕÑ S3"),
        "non-ascii-binary": b_encoded("\x00\x01\x02\x03"),
        "replacement-chars": b_encoded("\ufffd" * 7),
        "fake-encoded": "=?UTF-8?Q?actually-ascii?=",
        "asciib64-encoded": "=?UTF-8?B?YWJj?=",
    }
    s3.put_object(Bucket=bucket, Key="test", Metadata=sent)
    assert s3.get_object(Bucket=bucket, Key="test")["Metadata"] == {
        "asciib64-encoded": "abc",
        "fake-encoded": "actually-ascii",
        "non-ascii": "=?UTF-8?Q?test=5F=E2=80=94=5Ffile%E2%80%94=5F=C3=A9=5F2=3F.pdf?=",
        "non-ascii-2": "=?UTF-8?Q?=C3=84M=C3=84Z=C3=95=C3=91_S3?=",
        "non-ascii-binary": "=?UTF-8?B?AAECAw==?=",
        "replacement-chars": "=?UTF-8?B?77+977+977+977+977+977+977+9?=",
    }
    # test_user_metadata_rfc2047_bad_b64_encoded: a value that does not decode is kept
    # (S3 serves bytes it guessed, which LocalStack does not verify either)
    s3.put_object(Bucket=bucket, Key="bad", Metadata={"bad-b64-encoded": "=?UTF-8?B?=GGG?="})
    got = s3.get_object(Bucket=bucket, Key="bad")["Metadata"]
    assert got == {"bad-b64-encoded": "=?UTF-8?B?=GGG?="}


def test_a_completed_uploads_location_has_its_key_percent_encoded(s3, bucket) -> None:
    # TestS3::test_multipart_with_unicode_character_location, "complete-multipart": Location
    # ends "/test-unicode_%E2%80%94_file" (the key went out as it is)
    key = "test-unicode_—_file"
    done = _upload(s3, bucket, key, [b"upload-part-1"])
    assert done["Location"].endswith(f"/{bucket}/test-unicode_%E2%80%94_file")
    assert (done["Key"], done["ChecksumCRC64NVME"]) == (key, "LPvyvt6AWlQ=")
