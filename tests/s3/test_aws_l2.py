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
