"""Bucket creation, ListBuckets' region filter and copies of multipart objects as AWS S3
answers them: each test names in a comment the AWS answer it follows (LocalStack's
AWS-validated snapshots, or S3's own error document where one is quoted)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Gateway, start_gateway, stop_gateway

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
# CreateBucket's LocationConstraint

INCOMPATIBLE = (
    "location constraint is incompatible for the region specific endpoint this request was sent to."
)


def _name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def test_us_east_1_takes_no_constraint_naming_itself(s3) -> None:
    # S3's error document for LocationConstraint us-east-1 sent to us-east-1 (quoted in
    # minio/minio-py#166; LocalStack's AWS-validated provider answers the same): 400
    # InvalidLocationConstraint, "The specified location-constraint is not valid", with the
    # constraint named; no bucket is made
    name = _name()
    status, error = _error(
        s3.create_bucket, Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"}
    )
    assert (status, error["Code"], error["LocationConstraint"]) == (
        400, "InvalidLocationConstraint", "us-east-1",
    )  # fmt: skip
    assert error["Message"] == "The specified location-constraint is not valid"
    assert _error(s3.head_bucket, Bucket=name)[0] == 404


@pytest.mark.parametrize("config", [{}, {"LocationConstraint": ""}])
def test_an_empty_configuration_is_malformed(s3, config) -> None:
    # a CreateBucketConfiguration naming no region is 400 MalformedXML (as LocalStack's
    # AWS-validated provider and moto answer CreateBucketConfiguration={})
    name = _name()
    status, error = _error(s3.create_bucket, Bucket=name, CreateBucketConfiguration=config)
    assert (status, error["Code"]) == (400, "MalformedXML")
    assert _error(s3.head_bucket, Bucket=name)[0] == 404


def test_another_region_is_incompatible_with_the_endpoint(s3) -> None:
    # TestS3::test_different_location_constraint "create_bucket_constraint_exc" and S3's own
    # message (quoted in boto's test_illegal_constraint_exception_matches_regex): 400
    # IllegalLocationConstraintException, "The <region> location constraint is incompatible
    # for the region specific endpoint this request was sent to."
    status, error = _error(
        s3.create_bucket,
        Bucket=_name(),
        CreateBucketConfiguration={"LocationConstraint": "us-west-1"},
    )
    assert (status, error["Code"], error["Message"]) == (
        400, "IllegalLocationConstraintException", f"The us-west-1 {INCOMPATIBLE}",
    )  # fmt: skip


@pytest.fixture
def regional(server, tmp_path) -> Iterator[Callable[[str], Any]]:
    """A client of a gateway started with --region `region`, for each region asked for."""
    started: list[Gateway] = []

    def client(region: str) -> Any:
        started.append(start_gateway(server.url, tmp_path, "--region", region))
        return started[-1].client(region=region)

    try:
        yield client
    finally:
        for gateway in started:
            stop_gateway(gateway)


def test_a_region_endpoint_takes_its_own_constraint_or_none(regional) -> None:
    # TestS3::test_different_location_constraint: a regional endpoint refuses a CreateBucket
    # naming another region (us-east-1 included), takes its own, and GetBucketLocation then
    # names it. Naming none, which S3's regional endpoint refuses too, makes the bucket in the
    # gateway's one region (a choice: see _bucket_ops._location_constraint)
    eu_west = regional("eu-west-1")
    status, error = _error(
        eu_west.create_bucket,
        Bucket=_name(),
        CreateBucketConfiguration={"LocationConstraint": "us-east-1"},
    )
    assert (status, error["Code"], error["Message"]) == (
        400, "IllegalLocationConstraintException", f"The us-east-1 {INCOMPATIBLE}",
    )  # fmt: skip
    named, unnamed = _name(), _name()
    eu_west.create_bucket(
        Bucket=named, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    eu_west.create_bucket(Bucket=unnamed)
    try:
        for name in (named, unnamed):
            assert eu_west.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
            listed = eu_west.list_buckets(Prefix=name)["Buckets"]
            assert [(b["Name"], b["BucketRegion"]) for b in listed] == [(name, "eu-west-1")]
    finally:
        eu_west.delete_bucket(Bucket=named)
        eu_west.delete_bucket(Bucket=unnamed)


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


# ---------------------------------------------------------------------------------------------
# ListBuckets' bucket-region


def test_list_buckets_refuses_a_region_aws_does_not_have(s3, bucket) -> None:
    # TestS3ListBuckets::test_list_buckets_region_validation "bad-region": 400 InvalidArgument,
    # "Argument value eu-east-1 is not a valid AWS Region", ArgumentName bucket-region; an AWS
    # region the gateway does not serve lists nothing (test_list_buckets_by_bucket_region)
    status, error = _error(s3.list_buckets, BucketRegion="eu-east-1")
    assert (status, error["Code"], error["ArgumentName"]) == (
        400,
        "InvalidArgument",
        "bucket-region",
    )
    assert error["Message"] == "Argument value eu-east-1 is not a valid AWS Region"
    other = s3.list_buckets(Prefix=bucket, BucketRegion="ap-southeast-2")
    assert (other["Buckets"], other["Prefix"]) == ([], bucket)
    mine = s3.list_buckets(Prefix=bucket, BucketRegion="us-east-1", MaxBuckets=1)
    assert [(b["Name"], b["BucketRegion"]) for b in mine["Buckets"]] == [(bucket, "us-east-1")]


def test_a_gateways_own_region_is_a_region(regional) -> None:
    # the gateway's --region, whatever its name, is the region its buckets are listed in
    local = regional("local-1")
    name = _name()
    local.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "local-1"})
    try:
        listed = local.list_buckets(Prefix=name, BucketRegion="local-1")["Buckets"]
        assert [(b["Name"], b["BucketRegion"]) for b in listed] == [(name, "local-1")]
        assert local.list_buckets(Prefix=name, BucketRegion="us-east-1")["Buckets"] == []
        assert _error(local.list_buckets, BucketRegion="local-2")[1]["Code"] == "InvalidArgument"
    finally:
        local.delete_bucket(Bucket=name)
