"""Listings as AWS S3 answers them, pinned from the responses real AWS gave to LocalStack's
validated list-operation tests (tests/aws/services/s3/test_s3_list_operations, snapshot keys
named in each test): where the gateway answered otherwise, a test here says what AWS does."""

from __future__ import annotations

import contextlib
import json
import os

import pytest
from botocore.exceptions import ClientError

import natsobj

from ._raw import signed_request
from .test_objects import error_code

STAGING = "natsobj_s3_uploads"


def _error(call) -> tuple[int, dict]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["ResponseMetadata"]["HTTPStatusCode"], caught.value.response[
        "Error"
    ]


def _uploads(page: dict) -> list[tuple[str, str]]:
    return [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]


def _markers(page: dict) -> tuple[str, str, bool]:
    return page["NextKeyMarker"], page["NextUploadIdMarker"], page["IsTruncated"]


def _complete(s3, bucket: str, key: str, upload_id: str, parts: list[bytes]) -> tuple[str, dict]:
    """Upload `parts` and complete the upload: its ETag, and the parts as Complete took them."""
    tags = [
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=body)["ETag"]
        for n, body in enumerate(parts, 1)
    ]
    listed = {"Parts": [{"PartNumber": n, "ETag": tag} for n, tag in enumerate(tags, 1)]}
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=listed
    )
    return str(done["ETag"]), listed


def test_a_completed_upload_is_gone_from_every_upload_operation(s3, bucket) -> None:
    """A completed upload is no upload any more: not listed, and UploadPart, ListParts and
    Abort answer NoSuchUpload (an Abort used to succeed and purge the completed object's
    data); a retried Complete still answers as the first did."""
    body = [os.urandom(5 * 1024 * 1024), b"tail"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etag, parts = _complete(s3, bucket, "k", upload_id, body)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    calls = {
        "UploadPart": lambda: s3.upload_part(
            Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=3, Body=b"x"
        ),
        "ListParts": lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id),
        "Abort": lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as caught:
            call()
        assert error_code(caught.value) == "NoSuchUpload", name
        assert caught.value.response["Error"]["UploadId"] == upload_id, name
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["ETag"] == etag and got["Body"].read() == b"".join(body)
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts
    )
    assert again["ETag"] == etag


async def test_an_abort_spares_an_upload_an_older_gateway_left_marked_done(
    s3, bucket, client: natsobj.Client
) -> None:
    """A gateway from before completed records moved to d/ left them at u/, marked done: an
    Abort of such an upload is NoSuchUpload too, and does not purge the object's chunks (it
    took the record for a live upload's and discarded the run the object was made of)."""
    body = [os.urandom(5 * 1024 * 1024), b"tail"]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etag, _ = _complete(s3, bucket, "k", upload_id, body)
    staging = await client.object_store(STAGING)
    done = await staging.get(f"d/{bucket}/k/{upload_id}")
    assert json.loads(done)["done"] and json.loads(done).get("nuid")  # the object's own run
    await staging.put(f"u/{bucket}/k/{upload_id}", done)
    try:
        with pytest.raises(ClientError) as caught:
            s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
        assert error_code(caught.value) == "NoSuchUpload"
        assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    finally:
        with contextlib.suppress(natsobj.ObjectNotFoundError):
            await staging.delete(f"u/{bucket}/k/{upload_id}")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["ETag"] == etag and got["Body"].read() == b"".join(body)


# ---------------------------------------------------------------------------------------------
# ListMultipartUploads: TestS3ListMultipartUploads


def test_uploads_list_by_key_then_in_the_order_they_were_started(s3, bucket) -> None:
    """test_list_multiparts_next_marker: a key's uploads in the order they were started (not
    by id); NextKeyMarker and NextUploadIdMarker name the page's last upload (empty strings
    when it has none), truncated or not; upload-id-marker continues after that upload of
    key-marker, is ignored without key-marker, and is InvalidArgument for another key's."""
    empty = s3.list_multipart_uploads(Bucket=bucket)
    assert _markers(empty) == ("", "", False) and "Prefix" not in empty
    started = []
    for key in ["test_c", "test_b", "test_a"]:
        for _ in range(6 if key == "test_a" else 1):
            started.append((key, s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]))
    ordered = [*started[2:], started[1], started[0]]
    everything = s3.list_multipart_uploads(Bucket=bucket)
    assert _uploads(everything) == ordered
    assert _markers(everything) == (*ordered[-1], False)
    first = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1)
    assert _uploads(first) == ordered[:1] and _markers(first) == (*ordered[0], True)
    pages = {
        ("test_a", ""): ordered[6:7],
        ("test_a", ordered[0][1]): ordered[1:2],
        ("test_a", ordered[5][1]): ordered[6:7],
        ("test_b", ordered[6][1]): ordered[7:8],
        ("test_c", ""): [],
    }
    for (key_marker, id_marker), expected in pages.items():
        page = s3.list_multipart_uploads(
            Bucket=bucket, MaxUploads=1, KeyMarker=key_marker, UploadIdMarker=id_marker
        )
        assert _uploads(page) == expected, (key_marker, id_marker)
        assert _markers(page)[:2] == (expected[0] if expected else ("", ""))
    alone = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, UploadIdMarker=ordered[3][1])
    assert _uploads(alone) == ordered[:1] and alone["UploadIdMarker"] == ""
    status, error = _error(
        lambda: s3.list_multipart_uploads(
            Bucket=bucket, MaxUploads=1, KeyMarker="test_c", UploadIdMarker=ordered[6][1]
        )
    )
    assert (status, error["Code"], error["ArgumentName"]) == (
        400, "InvalidArgument", "upload-id-marker",
    )  # fmt: skip
    for key, upload_id in started:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


def test_upload_listing_counts_common_prefixes_and_encodes_keys(gateway, s3, bucket) -> None:
    """test_list_multipart_uploads_marker_common_prefixes and ..._with_prefix_and_delimiter:
    a common prefix counts against max-uploads, is not listed again past a key-marker inside
    or equal to it, and encoding-type=url is echoed and applied."""
    keys = ["folder/aSubfolder/subFile1", "folder/aSubfolder/subFile2", "folder/file1", "f ile"]
    ids = {key: s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in keys}
    ask = {"Bucket": bucket, "Prefix": "folder/", "Delimiter": "/", "MaxUploads": 1}
    start = s3.list_multipart_uploads(**ask)
    assert [p["Prefix"] for p in start["CommonPrefixes"]] == ["folder/aSubfolder/"]
    assert "Uploads" not in start and start["IsTruncated"]
    for marker in ["folder/aSubfolder/", "folder/aSubfolder/subFile1"]:
        page = s3.list_multipart_uploads(**ask, KeyMarker=marker)
        assert _uploads(page) == [("folder/file1", ids["folder/file1"])], marker
        assert "CommonPrefixes" not in page and not page["IsTruncated"]
    url = s3.list_multipart_uploads(Bucket=bucket, Prefix="f ", EncodingType="url")
    assert url["EncodingType"] == "url" and url["Prefix"] == "f%20"
    assert _uploads(url) == [("f%20ile", ids["f ile"])]
    for key, upload_id in ids.items():
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


@pytest.mark.parametrize("query", ["", "list-type=2&", "versions&", "uploads&"])
@pytest.mark.parametrize("value", ["value", ""])
def test_a_listing_refuses_an_encoding_type_other_than_url(gateway, bucket, query, value) -> None:
    """test_list_ops_encoding_type_validation: 400 InvalidArgument on every listing."""
    answer = signed_request(gateway.endpoint, "GET", f"/{bucket}?{query}encoding-type={value}")
    assert answer.status == 400 and answer.error()[0] == "InvalidArgument"
    assert b"<ArgumentName>encoding-type</ArgumentName>" in answer.body


# ---------------------------------------------------------------------------------------------
# ListParts: TestS3ListParts


def test_list_parts_always_says_where_the_next_page_starts(s3, bucket) -> None:
    """test_list_parts_pagination: NextPartNumberMarker is the page's last part, or 0 when it
    lists none, truncated or not."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    ask = {"Bucket": bucket, "Key": "k", "UploadId": upload_id}

    def page(**more: int) -> tuple[list[int], int, bool]:
        got = s3.list_parts(**ask, **more)
        numbers = [p["PartNumber"] for p in got.get("Parts", [])]
        return numbers, got["NextPartNumberMarker"], got["IsTruncated"]

    assert page() == ([], 0, False)
    for number in (1, 2):
        s3.upload_part(**ask, PartNumber=number, Body=b"data")
    assert page() == ([1, 2], 2, False)
    assert page(MaxParts=1) == ([1], 1, True)
    assert page(MaxParts=1, PartNumberMarker=1) == ([2], 2, False)
    assert page(MaxParts=1, PartNumberMarker=10) == ([], 0, False)
    s3.abort_multipart_upload(**ask)


# ---------------------------------------------------------------------------------------------
# ListObjects (v1): TestS3ListObjects


def test_list_objects_gives_next_marker_only_with_a_delimiter(s3, bucket) -> None:
    """test_list_objects_next_marker ("list-objects-max-1", "list-objects-rest",
    "list-objects-marker-empty"): without a delimiter a truncated v1 page has no NextMarker
    (clients go on from its last Key); with one, it is the last key or common prefix."""
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"test_{i}", Body=b"content 123")
    with_delimiter = s3.list_objects(Bucket=bucket, MaxKeys=1, Delimiter="/")
    assert with_delimiter["IsTruncated"] and with_delimiter["NextMarker"] == "test_0"
    for marker in ["test_0", ""]:
        page = s3.list_objects(Bucket=bucket, Marker=marker, MaxKeys=1)
        assert page["IsTruncated"] and "NextMarker" not in page, marker
        assert page["Marker"] == marker
    paginated = s3.get_paginator("list_objects").paginate(Bucket=bucket, MaxKeys=1)
    assert [o["Key"] for p in paginated for o in p["Contents"]] == ["test_0", "test_1", "test_2"]


# ---------------------------------------------------------------------------------------------
# ListObjectsV2: TestS3ListObjectsV2


def test_an_empty_continuation_token_is_refused(s3, bucket) -> None:
    """test_list_objects_v2_continuation_start_after ("exc-continuation-token"): an empty
    ContinuationToken is 400 InvalidArgument (it listed from the start), a real one wins over
    StartAfter."""
    for i in range(12):
        s3.put_object(Bucket=bucket, Key=f"test_{i}", Body=b"content 123")
    status, error = _error(lambda: s3.list_objects_v2(Bucket=bucket, ContinuationToken=""))
    assert (status, error["Code"], error["ArgumentName"]) == (
        400, "InvalidArgument", "continuation-token",
    )  # fmt: skip
    token = s3.list_objects_v2(Bucket=bucket, MaxKeys=5)["NextContinuationToken"]
    rest = s3.list_objects_v2(Bucket=bucket, StartAfter="test_7", ContinuationToken=token)
    assert [o["Key"] for o in rest["Contents"]] == [f"test_{i}" for i in range(3, 10)]
    assert rest["KeyCount"] == 7 and rest["StartAfter"] == "test_7"


# ---------------------------------------------------------------------------------------------
# ListObjectVersions: TestS3ListObjectVersions (one version per object here)


def test_a_version_page_ending_on_a_common_prefix_has_no_version_marker(s3, bucket) -> None:
    """test_list_object_versions_pagination_common_prefixes ("list-object-versions-start",
    "-next-1"): NextVersionIdMarker comes with a key, not with a common prefix; and
    test_list_objects_versions_markers ("list-objects-next-version-only"): a version-id
    marker without a key marker is InvalidArgument naming it."""
    for key in ["folder/aSubfolder/subFile1", "folder/aSubfolder/subFile2", "folder/file1"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"content 123")
    ask = {"Bucket": bucket, "Prefix": "folder/", "Delimiter": "/", "MaxKeys": 1}
    start = s3.list_object_versions(**ask)
    assert start["IsTruncated"] and start["NextKeyMarker"] == "folder/aSubfolder/"
    assert "NextVersionIdMarker" not in start
    after = s3.list_object_versions(**ask, KeyMarker="folder/aSubfolder/")
    assert [v["Key"] for v in after["Versions"]] == ["folder/file1"]
    assert "CommonPrefixes" not in after and not after["IsTruncated"]
    more = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    assert (more["NextKeyMarker"], more["NextVersionIdMarker"]) == (
        "folder/aSubfolder/subFile1", "null",
    )  # fmt: skip
    status, error = _error(
        lambda: s3.list_object_versions(Bucket=bucket, MaxKeys=1, VersionIdMarker="null")
    )
    assert (status, error["Code"], error["ArgumentName"], error["ArgumentValue"]) == (
        400, "InvalidArgument", "version-id-marker", "null",
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# ListBuckets: TestS3ListBuckets


def test_list_buckets_filters_by_region(s3, bucket) -> None:
    """test_list_buckets_by_bucket_region: BucketRegion keeps the buckets of that region
    (every bucket is in the gateway's), with Prefix echoed."""
    mine = s3.list_buckets(Prefix=bucket, BucketRegion="us-east-1")
    assert [(b["Name"], b["BucketRegion"]) for b in mine["Buckets"]] == [(bucket, "us-east-1")]
    other = s3.list_buckets(Prefix=bucket, BucketRegion="eu-west-1")
    assert other["Buckets"] == [] and other["Prefix"] == bucket


def test_list_buckets_names_the_arn_and_the_region_only_when_paged(s3, bucket) -> None:
    """AWS 2026 (localemu's test_s3.snapshot.json, test_delete_bucket_with_content,
    "list-buckets"): a plain ListBuckets gives each bucket's Name, CreationDate and BucketArn,
    no BucketRegion; S3 adds BucketRegion when the request has one of its parameters."""
    plain = [b for b in s3.list_buckets()["Buckets"] if b["Name"] == bucket]
    assert [sorted(b) for b in plain] == [["BucketArn", "CreationDate", "Name"]]
    assert plain[0]["BucketArn"] == f"arn:aws:s3:::{bucket}"
    paged = s3.list_buckets(Prefix=bucket, MaxBuckets=5)["Buckets"]
    assert [sorted(b) for b in paged] == [["BucketArn", "BucketRegion", "CreationDate", "Name"]]


# ---------------------------------------------------------------------------------------------
# every listing: ChecksumAlgorithm and ChecksumType


def test_listings_name_the_checksum_an_object_was_stored_with(gateway, bucket) -> None:
    """Every AWS snapshot of these tests lists an object put with a checksum (boto3 sends a
    CRC32 by default) with ChecksumAlgorithm ["CRC32"] and ChecksumType FULL_OBJECT; one put
    without a checksum has S3's default, CRC64NVME (AWS since 2025; the 2023 snapshots had
    neither)."""
    plain = gateway.client(request_checksum_calculation="when_required")
    s3 = gateway.client()
    s3.put_object(Bucket=bucket, Key="a-crc32", Body=b"content 123")
    plain.put_object(Bucket=bucket, Key="b-none", Body=b"content 123")
    s3.put_object(Bucket=bucket, Key="c-sha1", Body=b"x", ChecksumAlgorithm="SHA1")
    expected = {
        "a-crc32": (["CRC32"], "FULL_OBJECT"),
        "b-none": (["CRC64NVME"], "FULL_OBJECT"),
        "c-sha1": (["SHA1"], "FULL_OBJECT"),
    }

    def listed(items: list[dict]) -> dict:
        return {o["Key"]: (o.get("ChecksumAlgorithm"), o.get("ChecksumType")) for o in items}

    assert listed(s3.list_objects_v2(Bucket=bucket)["Contents"]) == expected
    s3.put_object(Bucket=bucket, Key="d-crc32c", Body=b"y", ChecksumAlgorithm="CRC32C")
    expected["d-crc32c"] = (["CRC32C"], "FULL_OBJECT")
    assert listed(s3.list_objects_v2(Bucket=bucket)["Contents"]) == expected
    assert listed(s3.list_objects(Bucket=bucket)["Contents"]) == expected
    assert listed(s3.list_object_versions(Bucket=bucket)["Versions"]) == expected


def test_object_attributes_page_the_parts_as_list_parts_does(s3, bucket) -> None:
    """test_list_parts_via_object_attrs_pagination ("get-object-attrs-all", "-next",
    "-wrong-part"): ObjectParts carries TotalPartsCount (the PartsCount element: boto3 read
    none), MaxParts, PartNumberMarker and NextPartNumberMarker, and pages by MaxParts and
    PartNumberMarker (the whole list came whatever was asked). The upload is COMPOSITE (CRC32):
    of a FULL_OBJECT one, as one created without an algorithm is since S3's default checksums,
    AWS gives the count alone (test_aws2026_1)."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    sent = [
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=n, Body=b"a" * size)
        for n, size in ((1, 5 * 1024 * 1024 + 1), (2, 5 * 1024 * 1024 + 1))
    ]
    listed = [
        {"PartNumber": n, "ETag": p["ETag"], "ChecksumCRC32": p["ChecksumCRC32"]}
        for n, p in enumerate(sent, 1)
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": listed}
    )

    def attrs(**more: int) -> dict:
        got = s3.get_object_attributes(
            Bucket=bucket, Key="k", ObjectAttributes=["ObjectParts"], **more
        )["ObjectParts"]
        got["Parts"] = [(p["PartNumber"], p["Size"]) for p in got.get("Parts", [])]
        return got

    size = 5 * 1024 * 1024 + 1
    page = {"IsTruncated": False, "TotalPartsCount": 2, "PartNumberMarker": 0}
    assert attrs() == {
        **page, "MaxParts": 1000, "NextPartNumberMarker": 2, "Parts": [(1, size), (2, size)],
    }  # fmt: skip
    assert attrs(MaxParts=1) == {
        **page, "IsTruncated": True, "MaxParts": 1, "NextPartNumberMarker": 1,
        "Parts": [(1, size)],
    }  # fmt: skip
    assert attrs(MaxParts=1, PartNumberMarker=1) == {
        **page, "PartNumberMarker": 1, "MaxParts": 1, "NextPartNumberMarker": 2,
        "Parts": [(2, size)],
    }  # fmt: skip
    assert attrs(MaxParts=1, PartNumberMarker=10) == {
        **page, "PartNumberMarker": 10, "MaxParts": 1, "NextPartNumberMarker": 0, "Parts": [],
    }  # fmt: skip
