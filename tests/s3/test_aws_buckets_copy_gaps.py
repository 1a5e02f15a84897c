"""Bucket creation, ListBuckets' region filter and copies of multipart objects as AWS S3
answers them: each test names in a comment the AWS answer it follows (LocalStack's
AWS-validated snapshots, or S3's own error document where one is quoted)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

PART = 5 * 1024 * 1024


def _error(call: Any, **kwargs: Any) -> tuple[int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def _multipart(s3: Any, bucket: str, key: str, parts: list[bytes]) -> str:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = [
        {"PartNumber": n, "ETag": s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload, PartNumber=n, Body=body
        )["ETag"]}
        for n, body in enumerate(parts, 1)
    ]  # fmt: skip
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done}
    )["ETag"]


# ---------------------------------------------------------------------------------------------
# CopyObject of a multipart object


def test_a_copy_of_a_multipart_object_has_the_md5_of_its_bytes(s3, bucket) -> None:
    # TestS3::test_multipart_copy_object_etag: the copy's ETag is not the multipart "-N" one;
    # S3 gives what it writes by CopyObject the MD5 of the bytes, onto another key as onto
    # itself (a REPLACE, or new metadata), and HeadObject then shows the same
    parts = [b"a" * PART, b"tail"]
    md5 = f'"{hashlib.md5(b"".join(parts)).hexdigest()}"'
    assert _multipart(s3, bucket, "mp", parts).endswith('-2"')
    other = s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"{bucket}/mp")
    assert other["CopyObjectResult"]["ETag"] == md5
    itself = s3.copy_object(
        Bucket=bucket,
        Key="mp",
        CopySource=f"{bucket}/mp",
        MetadataDirective="REPLACE",
        Metadata={"k": "v"},
        ContentType="text/plain",
    )
    assert itself["CopyObjectResult"]["ETag"] == md5
    head = s3.head_object(Bucket=bucket, Key="mp")
    assert (head["ETag"], head["Metadata"], head["ContentType"]) == (md5, {"k": "v"}, "text/plain")
    assert "PartsCount" not in s3.head_object(Bucket=bucket, Key="mp", PartNumber=1)
    body = s3.get_object(Bucket=bucket, Key="mp")["Body"].read()
    assert body == b"".join(parts)
