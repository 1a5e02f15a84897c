"""What the gateway does not do answers 501 NotImplemented with an S3 error body and stores
nothing; reads of bucket configurations it does not keep answer S3's "none set" codes."""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError

UNTIL = datetime.datetime(2100, 1, 1)


def _code(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize(
    "extra",
    [
        {"ServerSideEncryption": "AES256"},
        {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "k"},
        {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "0" * 32},
        {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": UNTIL},
        {"ObjectLockLegalHoldStatus": "ON"},
        {"Tagging": "a=b"},
        {"WebsiteRedirectLocation": "/elsewhere"},
    ],
    ids=["sse-s3", "sse-kms", "sse-c", "lock", "legal-hold", "tagging", "redirect"],
)
def test_a_put_asking_for_what_natsobj_does_not_do_stores_nothing(s3, bucket, extra) -> None:
    assert _code(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", **extra)) == (
        "NotImplemented",
        501,
    )
    assert _code(lambda: s3.create_multipart_upload(Bucket=bucket, Key="m", **extra))[1] == 501
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_copy_asking_for_encryption_is_refused(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    call = lambda: s3.copy_object(  # noqa: E731
        Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", ServerSideEncryption="AES256"
    )
    assert _code(call) == ("NotImplemented", 501)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["src"]


def test_out_of_scope_operations_answer_501(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    calls = {
        "object tagging": lambda: s3.put_object_tagging(
            Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
        ),
        "bucket policy": lambda: s3.put_bucket_policy(Bucket=bucket, Policy="{}"),
        "lifecycle": lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
            },
        ),
        "cors": lambda: s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
        ),
        "website": lambda: s3.put_bucket_website(
            Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "i.html"}}
        ),
        "bucket acl": lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        "object acl": lambda: s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read"),
        "notification": lambda: s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={}
        ),
        "versioning": lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        ),
    }
    for what, call in calls.items():
        assert _code(call) == ("NotImplemented", 501), what
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_bucket_configs_read_as_never_set(s3, bucket) -> None:
    reads = {
        "NoSuchBucketPolicy": lambda: s3.get_bucket_policy(Bucket=bucket),
        "NoSuchLifecycleConfiguration": lambda: s3.get_bucket_lifecycle_configuration(
            Bucket=bucket
        ),
        "NoSuchCORSConfiguration": lambda: s3.get_bucket_cors(Bucket=bucket),
        "NoSuchTagSet": lambda: s3.get_bucket_tagging(Bucket=bucket),
        "NoSuchWebsiteConfiguration": lambda: s3.get_bucket_website(Bucket=bucket),
    }
    for code, call in reads.items():
        assert _code(call) == (code, 404), code
    assert _code(lambda: s3.get_bucket_policy(Bucket="no-such-bucket-x1")) == (
        "NoSuchBucket",
        404,
    )
