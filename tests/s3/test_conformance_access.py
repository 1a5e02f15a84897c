"""Access cases a generic S3 conformance suite checks: presigned URL expiry, anonymous requests
to missing buckets, the canned `private` ACL; each test pins an answer where the gateway used
to differ from AWS S3."""

from __future__ import annotations

import uuid

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from ._raw import presign
from .conftest import Gateway
from .test_objects import error_code


def status_of(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def anonymous(gateway: Gateway) -> object:
    return boto3.client(
        "s3",
        endpoint_url=gateway.endpoint,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


# ---------------------------------------------------------------------------------------------
# presigned URLs: X-Amz-Expires


@pytest.mark.parametrize(
    ("expires", "status", "code"),
    [
        (0, 403, "AccessDenied"),  # a valid value: the URL has already expired
        (-7, 400, "AuthorizationQueryParametersError"),
        (609901, 400, "AuthorizationQueryParametersError"),
    ],
)
def test_presigned_expiry_out_of_range(gateway, s3, bucket, expires, status, code) -> None:
    s3.put_object(Bucket=bucket, Key="foo", Body=b"bar")
    answer = httpx.get(
        gateway.endpoint + presign(gateway.endpoint, "GET", f"/{bucket}/foo", expires)
    )
    assert answer.status_code == status, answer.text
    assert f"<Code>{code}</Code>" in answer.text
    if expires < 0:
        assert "X-Amz-Expires must be non-negative" in answer.text
    if expires == 0:
        assert "Request has expired" in answer.text


# ---------------------------------------------------------------------------------------------
# anonymous requests


def test_anonymous_request_to_a_missing_bucket_is_no_such_bucket(gateway, bucket) -> None:
    anon = anonymous(gateway)
    missing = f"c1-{uuid.uuid4().hex[:12]}"
    for call in (anon.get_object, anon.delete_object, anon.put_object):  # type: ignore[attr-defined]
        with pytest.raises(ClientError) as caught:
            call(Bucket=missing, Key="foo")
        assert (status_of(caught.value), error_code(caught.value)) == (404, "NoSuchBucket")
    # a bucket that exists still refuses anonymous callers
    with pytest.raises(ClientError) as caught:
        anon.get_object(Bucket=bucket, Key="foo")  # type: ignore[attr-defined]
    assert (status_of(caught.value), error_code(caught.value)) == (403, "AccessDenied")


# ---------------------------------------------------------------------------------------------
# PUT ?acl with the canned private ACL (the one every bucket and object has)


def test_canned_private_acl_is_accepted(s3, bucket) -> None:
    assert (
        s3.put_bucket_acl(Bucket=bucket, ACL="private")["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    s3.put_object(Bucket=bucket, Key="foo", Body=b"bar", ContentType="text/plain")
    before = s3.head_object(Bucket=bucket, Key="foo")
    done = s3.put_object_acl(Bucket=bucket, Key="foo", ACL="private")
    assert done["ResponseMetadata"]["HTTPStatusCode"] == 200
    after = s3.head_object(Bucket=bucket, Key="foo")
    assert (after["ETag"], after["ContentType"]) == (before["ETag"], before["ContentType"])
    with pytest.raises(ClientError) as caught:
        s3.put_object_acl(Bucket=bucket, Key="missing", ACL="private")
    assert error_code(caught.value) == "NoSuchKey"
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_acl(Bucket=f"c1-{uuid.uuid4().hex[:12]}", ACL="private")
    assert error_code(caught.value) == "NoSuchBucket"


def test_other_acl_writes_stay_not_implemented(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="foo", Body=b"bar")
    policy = s3.get_object_acl(Bucket=bucket, Key="foo")
    attempts = [
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="foo", ACL="public-read"),
        lambda: s3.put_object_acl(
            Bucket=bucket, Key="foo", ACL="private", GrantRead="uri=http://acs/AllUsers"
        ),
        lambda: s3.put_object_acl(
            Bucket=bucket,
            Key="foo",
            AccessControlPolicy={"Owner": policy["Owner"], "Grants": policy["Grants"]},
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as caught:
            attempt()
        assert (status_of(caught.value), error_code(caught.value)) == (501, "NotImplemented")
