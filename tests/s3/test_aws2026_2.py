"""Answers checked against AWS S3's as recorded on 21-02-2026 (localemu/localemu, commit 3098669,
tests/aws/services/s3/test_s3.snapshot.json): each test's comment names the snapshot entry and
key it follows; the values asserted are AWS's."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError

JSON_BODY = '{"key": "value"}'  # the body of test_s3_copy_object_with_checksum


def _error(call: Any, **kwargs: Any) -> tuple[int, dict[str, str]]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


def _parts(s3: Any, bucket: str, key: str, count: int) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number in range(1, count + 1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, Body=b"data", PartNumber=number, UploadId=upload_id
        )
        parts.append({"ETag": answer["ETag"], "PartNumber": number})
    return upload_id, parts


def test_upload_part_number_out_of_range_names_the_argument(s3, bucket) -> None:
    # TestS3::test_complete_multipart_parts_order: upload-part-negative-part-number
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    status, err = _error(
        s3.upload_part, Bucket=bucket, Key="k", Body=b"", PartNumber=-1, UploadId=upload_id
    )
    assert (status, err["Code"], err["ArgumentName"], err["ArgumentValue"]) == (
        400, "InvalidArgument", "partNumber", "-1",
    )  # fmt: skip
    assert err["Message"] == "Part number must be an integer between 1 and 10000, inclusive"


def test_complete_with_unordered_parts_names_the_upload(s3, bucket) -> None:
    # TestS3::test_complete_multipart_parts_order: complete-multipart-unordered
    upload_id, parts = _parts(s3, bucket, "k", 2)
    status, err = _error(
        s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id,
        MultipartUpload={"Parts": list(reversed(parts))},
    )  # fmt: skip
    assert (status, err["Code"], err["UploadId"]) == (400, "InvalidPartOrder", upload_id)
    assert err["Message"] == (
        "The list of parts was not in ascending order. Parts must be ordered by part number."
    )


NO_SUCH_UPLOAD = (
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
    "been aborted or completed."
)


def test_an_unknown_upload_is_no_such_upload_even_for_a_complete_without_parts(s3, bucket) -> None:
    # TestS3::test_multipart_no_such_upload: upload-exc, complete-exc, abort-exc
    for call, extra in [
        (s3.upload_part, {"Body": b"data", "PartNumber": 1}),
        (s3.complete_multipart_upload, {}),
        (s3.abort_multipart_upload, {}),
    ]:
        status, err = _error(call, Bucket=bucket, Key="fake-key", UploadId="fakeid", **extra)
        assert (status, err["Code"], err["Message"], err["UploadId"]) == (
            404, "NoSuchUpload", NO_SUCH_UPLOAD, "fakeid",
        )  # fmt: skip


def test_complete_without_parts_and_with_a_too_small_part(s3, bucket) -> None:
    # TestS3::test_multipart_complete_multipart_too_small: complete-exc-no-parts,
    # complete-exc-too-small
    upload_id, parts = _parts(s3, bucket, "k", 2)
    status, err = _error(s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id)
    assert (status, err["Code"], err["Message"]) == (
        400, "InvalidRequest", "You must specify at least one part",
    )  # fmt: skip
    status, err = _error(
        s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id,
        MultipartUpload={"Parts": parts},
    )  # fmt: skip
    assert status == 400
    assert {k: v for k, v in err.items() if k != "Resource"} == {
        "Code": "EntityTooSmall",
        "ETag": "8d777f385d3dfec8815d20f7496026dc",
        "Message": "Your proposed upload is smaller than the minimum allowed size",
        "MinSizeAllowed": "5242880",
        "PartNumber": "1",
        "ProposedSize": "4",
    }


def test_complete_with_a_wrong_part_names_the_upload(s3, bucket) -> None:
    # TestS3::test_multipart_complete_multipart_wrong_part: complete-exc-wrong-part-number,
    # complete-exc-wrong-etag
    upload_id, parts = _parts(s3, bucket, "k", 1)
    etag = parts[0]["ETag"]
    for asked, number, shown in [
        (etag, 2, "8d777f385d3dfec8815d20f7496026dc"),
        ("d41d8cd98f00b204e9800998ecf8427e", 1, "d41d8cd98f00b204e9800998ecf8427e"),
    ]:
        status, err = _error(
            s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id,
            MultipartUpload={"Parts": [{"ETag": asked, "PartNumber": number}]},
        )  # fmt: skip
        assert status == 400
        assert {k: v for k, v in err.items() if k != "Resource"} == {
            "Code": "InvalidPart",
            "ETag": shown,
            "Message": "One or more of the specified parts could not be found.  The part may "
            "not have been uploaded, or the specified entity tag may not match the part's "
            "entity tag.",
            "PartNumber": str(number),
            "UploadId": upload_id,
        }


def test_a_failed_if_match_says_what_s3_says(s3, bucket) -> None:
    # TestS3::test_s3_get_object_headers: if_match_err_1
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    status, err = _error(s3.get_object, Bucket=bucket, Key="k", IfMatch="etag")
    assert (status, err["Code"], err["Condition"]) == (412, "PreconditionFailed", "If-Match")
    assert err["Message"] == "At least one of the pre-conditions you specified did not hold"


@pytest.mark.parametrize(
    ("algorithm", "value"),
    [
        ("CRC32C", "078Ilw=="),
        ("SHA1", "5zXdjmjYk4EJ8Cw4PMnQVslCpRQ="),
        ("SHA256", "lyTB4g5uPk1/V+0l+dTvsAblCFkNUoyQ2ll/andcE+U="),
    ],
)
def test_a_copy_takes_the_checksum_algorithm_it_asks_for(s3, bucket, algorithm, value) -> None:
    # TestS3::test_s3_copy_object_with_checksum[CRC32C|SHA1|SHA256]:
    # copy-object-in-place-with-checksum, object-attrs-after-copy,
    # copy-object-to-dest-keep-checksum
    s3.put_object(
        Bucket=bucket, Key="source-object", Body=JSON_BODY, ContentType="application/json",
        Metadata={"key": "value"},
    )  # fmt: skip
    wanted = {f"Checksum{algorithm}": value, "ChecksumType": "FULL_OBJECT"}
    copied = s3.copy_object(
        Bucket=bucket, CopySource=f"{bucket}/source-object", Key="source-object",
        ChecksumAlgorithm=algorithm, Metadata={"key1": "value1"}, MetadataDirective="REPLACE",
    )["CopyObjectResult"]  # fmt: skip
    assert {k: v for k, v in copied.items() if k.startswith("Checksum")} == wanted
    assert copied["ETag"] == '"88bac95f31528d13a072c05f2a1cf371"'
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="source-object", ObjectAttributes=["Checksum"]
    )
    assert attrs["Checksum"] == wanted
    kept = s3.copy_object(Bucket=bucket, CopySource=f"{bucket}/source-object", Key="dest-object")
    assert {k: v for k, v in kept["CopyObjectResult"].items() if k.startswith("Checksum")} == (
        wanted
    )
    assert s3.get_object(Bucket=bucket, Key="dest-object")["Body"].read() == JSON_BODY.encode()


def test_a_copy_onto_itself_with_storage_class_and_checksum_algorithm(s3, bucket) -> None:
    # TestS3::test_s3_copy_object_in_place: copy-object-in-place-with-storage-class
    s3.put_object(Bucket=bucket, Key="k", Body=JSON_BODY, Metadata={"key": "value"})
    copied = s3.copy_object(
        Bucket=bucket, CopySource=f"{bucket}/k", Key="k", ChecksumAlgorithm="SHA256",
        StorageClass="STANDARD",
    )["CopyObjectResult"]  # fmt: skip
    assert {k: v for k, v in copied.items() if k.startswith("Checksum")} == {
        "ChecksumSHA256": "lyTB4g5uPk1/V+0l+dTvsAblCFkNUoyQ2ll/andcE+U=",
        "ChecksumType": "FULL_OBJECT",
    }
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"key": "value"}


def test_complete_with_a_part_checksum_of_another_algorithm_is_bad_digest(s3, bucket) -> None:
    # TestS3MultipartUploadChecksum::test_multipart_parts_checksum_exceptions_composite:
    # complete-part-with-checksum (a CRC32 upload, a part given with its right SHA-256)
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumType="COMPOSITE", ChecksumAlgorithm="CRC32"
    )["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="k", Body=b"abc", PartNumber=1, UploadId=upload_id)
    assert part["ChecksumCRC32"] == "NSRBwg=="
    sha = base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    status, err = _error(
        s3.complete_multipart_upload, Bucket=bucket, Key="k", UploadId=upload_id,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1, "ChecksumSHA256": sha}]},
    )  # fmt: skip
    assert (status, err["Code"], err["Message"]) == (
        400, "BadDigest", "The sha256 you specified for part 1 did not match what we received.",
    )  # fmt: skip
