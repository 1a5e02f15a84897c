"""Where the gateway answered otherwise than AWS S3 does, found by replaying LocalStack's
AWS-validated object API tests (tests/aws/services/s3/test_s3_api.py, whose snapshots hold
what real AWS answered) against the gateway; each test names the snapshot key it follows."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _error(call: Callable[[], Any]) -> tuple[int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


# ---------------------------------------------------------------------------------------------
# ranges (TestS3ObjectCRUD::test_get_object_range, TestS3Multipart::test_upload_part_copy_range)


@pytest.mark.parametrize("asked", ["bytes=-0", "bytes=100-200"])
def test_an_unsatisfiable_range_is_echoed_in_range_requested(s3, bucket, asked) -> None:
    # snapshot keys get--0 and get-100-200: RangeRequested is the Range header as sent
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    status, error = _error(lambda: s3.get_object(Bucket=bucket, Key="k", Range=asked))
    assert status == 416
    assert error["Code"] == "InvalidRange"
    assert error["RangeRequested"] == asked
    assert error["ActualObjectSize"] == "10"


def _copy_part(s3: Any, bucket: str, copy_range: str) -> dict[str, Any]:
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    try:
        return s3.upload_part_copy(
            Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
            CopySource=f"{bucket}/src", CopySourceRange=copy_range,
        )  # fmt: skip
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id)


def test_a_copy_source_range_starting_past_the_end_is_invalid_request(s3, bucket) -> None:
    # snapshot key upload-part-copy-range-exc-100-200: InvalidRequest, no ArgumentName
    status, error = _error(lambda: _copy_part(s3, bucket, "bytes=100-200"))
    assert (status, error["Code"]) == (400, "InvalidRequest")
    assert "ArgumentName" not in error
    # upload-part-copy-range-exc-0-100: one that starts inside but ends past stays InvalidArgument
    status, error = _error(lambda: _copy_part(s3, bucket, "bytes=0-100"))
    assert (status, error["Code"]) == (400, "InvalidArgument")
    assert error["ArgumentValue"] == "bytes=0-100"
    assert "size: 10" in error["Message"]


def test_a_reversed_copy_source_range_is_a_malformed_one(s3, bucket) -> None:
    # snapshot key upload-part-copy-range-exc-1-0: the "must be of the form" message
    status, error = _error(lambda: _copy_part(s3, bucket, "bytes=1-0"))
    assert (status, error["Code"]) == (400, "InvalidArgument")
    assert "must be of the form bytes=first-last" in error["Message"]


def test_a_copy_source_if_modified_since_in_the_future_is_ignored(s3, bucket) -> None:
    # test_upload_part_copy_with_copy_source_if_modified_since_in_future_success: AWS copies
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    part = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
        CopySource=f"{bucket}/src", CopySourceIfModifiedSince=future,
    )  # fmt: skip
    assert part["CopyPartResult"]["ETag"] == '"781e5e245d69b566979b86e28d23f2c7"'
    time.sleep(1.1)  # test_upload_part_copy_with_if_modified_since_failed: now still holds back
    now = datetime.datetime.now(datetime.timezone.utc)
    status, error = _error(
        lambda: s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=upload_id,
            PartNumber=1,
            CopySource=f"{bucket}/src",
            CopySourceIfModifiedSince=now,
        )
    )
    assert (status, error["Code"]) == (412, "PreconditionFailed")
    s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id)


# ---------------------------------------------------------------------------------------------
# conditional writes (TestS3ObjectWritePrecondition)


def test_a_put_over_an_existing_key_with_if_none_match_names_the_condition(s3, bucket) -> None:
    # snapshot key test_put_object_if_none_match/put-obj-if-none-match
    s3.put_object(Bucket=bucket, Key="k", Body=b"", IfNoneMatch="*")
    status, error = _error(lambda: s3.put_object(Bucket=bucket, Key="k", IfNoneMatch="*"))
    assert (status, error["Code"]) == (412, "PreconditionFailed")
    assert error["Condition"] == "If-None-Match"
    assert "revision" not in error["Message"]  # S3's message, not the store's


@pytest.mark.parametrize(
    ("conditions", "header"),
    [
        ({"IfMatch": "*"}, "If-Match"),  # test_put_object_if_match_validation
        ({"IfNoneMatch": '"d41d8cd98f00b204e9800998ecf8427e"'}, "If-None-Match"),
        ({"IfNoneMatch": "*", "IfMatch": "abcdef"}, "If-Match,If-None-Match"),
    ],
)
def test_a_put_with_conditions_s3_does_not_take_is_501_naming_them(
    s3, bucket, conditions, header
) -> None:
    # snapshot keys put-obj-if-match-star-value, put-obj-if-none-match-bad-value,
    # put-obj-both-precondition: 501 NotImplemented with the header(s), and nothing stored
    status, error = _error(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", **conditions))
    assert (status, error["Code"], error["Header"]) == (501, "NotImplemented", header)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def _upload(s3: Any, bucket: str, key: str) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, Body=b"test", PartNumber=1)
    return upload_id, [{"ETag": part["ETag"], "PartNumber": 1}]


def _complete(s3: Any, bucket: str, key: str, upload: tuple[str, list[Any]], **kw: str) -> Any:
    upload_id, parts = upload
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **kw
    )


def test_complete_multipart_upload_honours_if_none_match(s3, bucket) -> None:
    # test_multipart_if_none_match_with_delete and _with_put
    s3.put_object(Bucket=bucket, Key="k", Body=b"first")
    upload = _upload(s3, bucket, "k")
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfNoneMatch="*"))
    assert (status, error["Code"]) == (412, "PreconditionFailed")
    assert error["Condition"] == "If-None-Match"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"
    # deleted after the upload began: 409, even though the key is absent now
    s3.delete_object(Bucket=bucket, Key="k")
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfNoneMatch="*"))
    assert (status, error["Code"]) == (409, "ConditionalRequestConflict")
    assert error["Condition"] == "If-None-Match"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)  # nothing written
    # a fresh upload onto the absent key completes
    done = _complete(s3, bucket, "k", _upload(s3, bucket, "k"), IfNoneMatch="*")
    assert done["ETag"] == '"60cd54a928cbbcbb6e7b5595bab46a9e-1"'
    # written (not there before) while the upload ran: 412
    upload = _upload(s3, bucket, "k2")
    s3.put_object(Bucket=bucket, Key="k2", Body=b"")
    status, error = _error(lambda: _complete(s3, bucket, "k2", upload, IfNoneMatch="*"))
    assert (status, error["Code"], error["Condition"]) == (
        412, "PreconditionFailed", "If-None-Match"
    )  # fmt: skip
    assert s3.get_object(Bucket=bucket, Key="k2")["Body"].read() == b""  # the PUT's, kept


def test_complete_multipart_upload_honours_if_match(s3, bucket) -> None:
    # test_multipart_if_match_with_put, _with_delete and _etag
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"test")["ETag"]
    upload = _upload(s3, bucket, "k")
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"test2")["ETag"]
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfMatch=first))
    assert (status, error["Code"], error["Condition"]) == (412, "PreconditionFailed", "If-Match")
    # the ETag holds, but the key was written after the upload began
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfMatch=second))
    assert (status, error["Code"], error["Condition"]) == (
        409, "ConditionalRequestConflict", "If-Match"
    )  # fmt: skip
    done = _complete(s3, bucket, "k", _upload(s3, bucket, "k"), IfMatch=second)
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"] == done["ETag"]
    # deleted since: 404 NoSuchKey
    upload = _upload(s3, bucket, "k")
    s3.delete_object(Bucket=bucket, Key="k")
    status, error = _error(lambda: _complete(s3, bucket, "k", upload, IfMatch=done["ETag"]))
    assert (status, error["Code"]) == (404, "NoSuchKey")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


# ---------------------------------------------------------------------------------------------
# version ids on a bucket without versioning (TestS3ObjectCRUD)

VERSION = "HPniJFCxqTsMuIH9KX8K8wEjNUgmABCD"


@pytest.mark.parametrize("operation", ["get_object", "delete_object"])
def test_a_version_id_natsobj_never_issued_is_invalid_argument(s3, bucket, operation) -> None:
    # snapshot keys get-obj-with-version (test_get_object_with_version_unversioned_bucket) and
    # delete-nonexistent-object-versionid (test_delete_object)
    s3.put_object(Bucket=bucket, Key="k", Body=b"test-version")
    call = getattr(s3, operation)
    status, error = _error(lambda: call(Bucket=bucket, Key="k", VersionId=VERSION))
    assert (status, error["Code"]) == (400, "InvalidArgument")
    assert (error["ArgumentName"], error["ArgumentValue"]) == ("versionId", VERSION)
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"test-version"


def test_delete_objects_names_the_version_it_does_not_have(s3, bucket) -> None:
    # snapshot key test_delete_objects/delete-object-wrong-version-id
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": VERSION}]})
    assert out["Errors"] == [
        {
            "Key": "k",
            "Code": "NoSuchVersion",
            "Message": "The specified version does not exist.",
            "VersionId": VERSION,
        }
    ]
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLength"] == 1


# ---------------------------------------------------------------------------------------------
# bucket versioning (TestS3BucketVersioning::test_bucket_versioning_crud)


def test_suspended_versioning_is_remembered(s3, bucket) -> None:
    # snapshot keys get-versioning-before, put-versioning-suspended-before,
    # get-versioning-after-suspended
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")  # objects are served as before
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_a_versioning_configuration_without_status_is_illegal(s3, bucket) -> None:
    # snapshot key put-versioning-empty
    status, error = _error(
        lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={})
    )
    assert (status, error["Code"]) == (400, "IllegalVersioningConfigurationException")
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


# ---------------------------------------------------------------------------------------------
# Object Lock (TestS3ObjectLock::test_delete_object_with_no_locking)


@pytest.mark.parametrize("bypass", [True, False])
def test_a_governance_bypass_is_refused_on_a_bucket_without_object_lock(s3, bucket, bypass) -> None:
    # snapshot keys delete-object-bypass-no-lock(-false), delete-objects-bypass-no-lock
    s3.put_object(Bucket=bucket, Key="k", Body=b"test")
    calls = [
        lambda: s3.delete_object(Bucket=bucket, Key="k", BypassGovernanceRetention=bypass),
        lambda: s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": "k"}]}, BypassGovernanceRetention=bypass
        ),
    ]
    for call in calls:
        status, error = _error(call)
        assert (status, error["Code"]) == (400, "InvalidArgument")
        assert error["ArgumentName"] == "x-amz-bypass-governance-retention"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"test"


# ---------------------------------------------------------------------------------------------
# ListParts (TestS3Multipart::test_upload_part_copy_no_copy_source_range, list-parts)


# ---------------------------------------------------------------------------------------------
# conditional deletes (TestS3DeletePrecondition: AWS refuses each of these deletes; the
# stored snapshot has no entries for them, so only "refused, object kept" is asserted for the
# headers natsobj does not implement)


def test_a_delete_whose_if_match_does_not_hold_deletes_nothing(s3, bucket) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"")["ETag"]
    status, error = _error(lambda: s3.delete_object(Bucket=bucket, Key="k", IfMatch="badvalue"))
    assert (status, error["Code"], error["Condition"]) == (412, "PreconditionFailed", "If-Match")
    earlier = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    for condition in ({"IfMatchSize": 10}, {"IfMatchLastModifiedTime": earlier}):
        status, error = _error(lambda: s3.delete_object(Bucket=bucket, Key="k", **condition))  # noqa: B023
        assert status >= 400
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"] == etag
    s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    status, error = _error(lambda: s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag))
    assert (status, error["Code"]) == (404, "NoSuchKey")


# ---------------------------------------------------------------------------------------------
# PutObject's answer (every put-object snapshot: ChecksumCRC32 with ChecksumType FULL_OBJECT)


def test_a_put_with_a_checksum_answers_its_type(s3, bucket) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"test-delete", ChecksumAlgorithm="CRC32")
    assert (put["ChecksumCRC32"], put["ChecksumType"]) == ("1jy6qw==", "FULL_OBJECT")
    sha = s3.put_object(Bucket=bucket, Key="k", Body=b"x", ChecksumAlgorithm="SHA256")
    assert sha["ChecksumType"] == "FULL_OBJECT"
