"""What S3 answers where natsobj has no feature to offer, checked against the real gateway:
requests S3 refuses as malformed get S3's 400 (SSE headers without their companions, tag sets
over S3's limits, canned ACLs that do not exist), reads of what no natsobj object or bucket
can have answer as S3 does for one without it (no tags, no Object Lock), and only a
well-formed request for the feature itself is 501 NotImplemented."""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ._raw import request, sign, signed_request
from .conftest import Gateway

KEY = base64.b64encode(b"k" * 32).decode()
KEY_MD5 = base64.b64encode(hashlib.md5(b"k" * 32).digest()).decode()
SSE_C = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": KEY,
    "x-amz-server-side-encryption-customer-key-md5": KEY_MD5,
}
KMS_KEY = {"x-amz-server-side-encryption-aws-kms-key-id": "some-key"}
UNTIL = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)


def _code(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def _with_headers(s3: Any, operation: str, headers: dict[str, str]) -> None:
    """Send `headers` with every `operation` call (boto3 has no parameter for some)."""

    def add(params: dict[str, Any], **_: Any) -> None:
        params["headers"].update(headers)

    s3.meta.events.register(f"before-call.s3.{operation}", add)


def _nothing_stored(s3: Any, bucket: str) -> None:
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# ---------------------------------------------------------------------------------------------
# server-side encryption headers


@pytest.mark.parametrize(
    "headers",
    [
        # a customer key without its algorithm: S3 refuses it rather than store in the clear
        {k: v for k, v in SSE_C.items() if not k.endswith("-algorithm")},
        # a KMS key id without x-amz-server-side-encryption: aws:kms
        KMS_KEY,
        {"x-amz-server-side-encryption": "aes:kms"},
        {"x-amz-server-side-encryption": "AES256", **KMS_KEY},
        {"x-amz-server-side-encryption": "AES256", **SSE_C},
        {**SSE_C, "x-amz-server-side-encryption-customer-key-md5": "AAAAAAAAAAAAAAAAAAAAAA=="},
        {**SSE_C, "x-amz-server-side-encryption-customer-key": base64.b64encode(b"short").decode()},
        {k: v for k, v in SSE_C.items() if not k.endswith("-md5")},
    ],
    ids=[
        "customer-key-without-algorithm", "kms-key-without-sse", "unknown-sse",
        "sse-s3-with-kms-key", "sse-s3-with-sse-c", "sse-c-md5-mismatch", "sse-c-short-key",
        "sse-c-without-md5",
    ],
)  # fmt: skip
def test_a_malformed_encryption_request_is_an_invalid_argument(s3, bucket, headers) -> None:
    _with_headers(s3, "PutObject", headers)
    assert _code(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x")) == (
        400,
        "InvalidArgument",
    )
    _nothing_stored(s3, bucket)


def test_a_well_formed_sse_c_put_is_not_implemented(s3, bucket) -> None:
    _with_headers(s3, "PutObject", SSE_C)
    assert _code(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x")) == (
        501,
        "NotImplemented",
    )
    _nothing_stored(s3, bucket)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-server-side-encryption": "aws:kms"},
        {"x-amz-server-side-encryption": "AES256"},
        KMS_KEY,
    ],
)
def test_a_read_naming_sse_s3_or_kms_is_an_invalid_argument(s3, bucket, headers) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    _with_headers(s3, "GetObject", headers)
    _with_headers(s3, "HeadObject", headers)
    assert _code(lambda: s3.get_object(Bucket=bucket, Key="k")) == (400, "InvalidArgument")
    assert _code(lambda: s3.head_object(Bucket=bucket, Key="k"))[0] == 400


def test_a_customer_key_does_not_apply_to_an_object_stored_in_the_clear(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    _with_headers(s3, "GetObject", SSE_C)
    assert _code(lambda: s3.get_object(Bucket=bucket, Key="k")) == (400, "InvalidRequest")


# ---------------------------------------------------------------------------------------------
# object tags: none are kept


def _tags(count: int, key_len: int = 1, value_len: int = 1) -> dict[str, Any]:
    return {
        "TagSet": [
            {"Key": str(i).rjust(key_len, "k"), "Value": "v" * value_len} for i in range(count)
        ]
    }


def test_an_object_has_no_tags(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _code(lambda: s3.get_object_tagging(Bucket=bucket, Key="none")) == (404, "NoSuchKey")
    assert _code(lambda: s3.delete_object_tagging(Bucket=bucket, Key="none")) == (
        404,
        "NoSuchKey",
    )


@pytest.mark.parametrize(
    "tags",
    [_tags(11), _tags(10, key_len=129), _tags(10, key_len=128, value_len=257)],
    ids=["eleven-tags", "key-of-129", "value-of-257"],
)
def test_a_tag_set_over_s3s_limits_is_an_invalid_tag(s3, bucket, tags) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    put = lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tags)  # noqa: E731
    assert _code(put) == (400, "InvalidTag")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_a_valid_tag_set_is_not_implemented(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    tags = _tags(10, key_len=128, value_len=256)
    put = lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tags)  # noqa: E731
    assert _code(put) == (501, "NotImplemented")


# ---------------------------------------------------------------------------------------------
# Object Lock: no natsobj bucket has it


def test_retention_and_legal_holds_answer_as_on_a_bucket_without_object_lock(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    calls = {
        "put retention": lambda: s3.put_object_retention(
            Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": UNTIL}
        ),
        "get retention": lambda: s3.get_object_retention(Bucket=bucket, Key="k"),
        "put legal hold": lambda: s3.put_object_legal_hold(
            Bucket=bucket, Key="k", LegalHold={"Status": "ON"}
        ),
        "get legal hold": lambda: s3.get_object_legal_hold(Bucket=bucket, Key="k"),
    }
    for what, call in calls.items():
        assert _code(call) == (400, "InvalidRequest"), what
    gone = lambda: s3.get_object_retention(Bucket="no-such-bucket-c3", Key="k")  # noqa: E731
    assert _code(gone) == (404, "NoSuchBucket")


def test_object_lock_cannot_be_turned_on_for_a_bucket(s3, bucket) -> None:
    conf = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }
    put = lambda: s3.put_object_lock_configuration(  # noqa: E731
        Bucket=bucket, ObjectLockConfiguration=conf
    )
    assert _code(put) == (409, "InvalidBucketState")
    assert _code(lambda: s3.get_object_lock_configuration(Bucket=bucket)) == (
        404,
        "ObjectLockConfigurationNotFoundError",
    )


# ---------------------------------------------------------------------------------------------
# canned ACLs, Authorization, URIs


def test_a_canned_acl_that_does_not_exist_is_an_invalid_argument(s3, bucket) -> None:
    _with_headers(s3, "PutBucketAcl", {"x-amz-acl": "public-ready"})
    _with_headers(s3, "PutObject", {"x-amz-acl": "public-ready"})
    assert _code(lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read")) == (
        400,
        "InvalidArgument",
    )
    assert _code(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x")) == (
        400,
        "InvalidArgument",
    )
    _nothing_stored(s3, bucket)


def test_an_empty_authorization_header_is_an_anonymous_request(gateway: Gateway, bucket) -> None:
    headers = sign(gateway.endpoint, "GET", f"/{bucket}")
    headers["Authorization"] = ""
    answer = request(gateway.endpoint, "GET", f"/{bucket}", headers)
    assert (answer.status, answer.error()[0]) == (403, "AccessDenied")


def test_a_path_that_is_not_utf8_could_not_be_parsed(gateway: Gateway, bucket) -> None:
    answer = signed_request(gateway.endpoint, "GET", f"/{bucket}/%AE%8A-")
    assert answer.status == 400
    assert answer.error() == ("InvalidURI", "Couldn't parse the specified URI.")
