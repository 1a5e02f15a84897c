"""AWS's answers recorded on 21-02-2026 (localemu/localemu, tests/aws/services/s3/
test_s3.snapshot.json), for what the other test_aws2026_* files do not cover."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def test_no_such_bucket_is_said_as_s3_says_it(s3) -> None:
    # TestS3::test_get_object_no_such_bucket, "expected_error" (and
    # test_delete_bucket_no_such_bucket): no period after "exist", the bucket named
    for call in (
        lambda: s3.get_object(Bucket="natsobj-no-such-bucket-2026", Key="k"),
        lambda: s3.delete_bucket(Bucket="natsobj-no-such-bucket-2026"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response["Error"]
        assert (error["Code"], error["Message"], error["BucketName"]) == (
            "NoSuchBucket", "The specified bucket does not exist", "natsobj-no-such-bucket-2026",
        )  # fmt: skip


def test_create_and_head_bucket_name_its_arn(s3) -> None:
    # TestS3::test_create_bucket_head_bucket and test_create_bucket_aws_global
    # ("create-bucket-global", "head-bucket-global"): x-amz-bucket-arn, read as BucketArn
    name = f"arn-{uuid.uuid4().hex[:12]}"
    made = s3.create_bucket(Bucket=name)
    try:
        assert made["BucketArn"] == f"arn:aws:s3:::{name}"
        head = s3.head_bucket(Bucket=name)
        assert (head["BucketArn"], head["BucketRegion"]) == (f"arn:aws:s3:::{name}", "us-east-1")
    finally:
        s3.delete_bucket(Bucket=name)
