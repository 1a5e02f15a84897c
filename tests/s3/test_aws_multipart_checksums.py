"""Multipart upload checksums as AWS S3 answers them: the values and errors below are AWS's own
(LocalStack's AWS-validated snapshots of test_s3.py, TestS3MultipartUploadChecksum and
TestS3::test_get_object_part_checksum, named in each test's comments)."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from awscrt import checksums as crt
from botocore.exceptions import ClientError

PART = b"a" * (5 * 1024 * 1024 + 1)
DATA = [PART, PART, PART[:10]]  # the parts of test_complete_multipart_parts_checksum_*


def _error(call: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    err = response["Error"]
    return response["ResponseMetadata"]["HTTPStatusCode"], err["Code"], err.get("Message", "")


def _upload(s3: Any, bucket: str, key: str, algorithm: str, data: list[bytes], **create: Any):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    parts = []
    for number, body in enumerate(data, 1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body,
            ChecksumAlgorithm=algorithm,
        )  # fmt: skip
        parts.append({"ETag": answer["ETag"], "PartNumber": number, **_sums(answer)})
    return upload_id, parts


def _sums(answer: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in answer.items() if k.startswith("Checksum") and k != "ChecksumType"}


def test_create_echoes_and_checks_the_checksum_type(s3, bucket) -> None:
    # test_multipart_checksum_type_default_for_checksum[*], ..._compatibility[*],
    # test_multipart_parts_checksum_exceptions_full_object: create-mpu-no-checksum-algo-with-type
    for alg, kind in [
        ("CRC32", "COMPOSITE"),
        ("SHA256", "COMPOSITE"),
        ("CRC64NVME", "FULL_OBJECT"),
    ]:
        made = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm=alg)
        assert (made["ChecksumAlgorithm"], made["ChecksumType"]) == (alg, kind)
    made = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )
    assert made["ChecksumType"] == "FULL_OBJECT"
    assert _error(s3.create_multipart_upload, Bucket=bucket, Key="k", ChecksumType="COMPOSITE") == (
        400, "InvalidRequest",
        "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
    )  # fmt: skip
    status, code, message = _error(
        s3.create_multipart_upload, Bucket=bucket, Key="k", ChecksumAlgorithm="SHA1",
        ChecksumType="FULL_OBJECT",
    )  # fmt: skip
    assert (status, code) == (400, "InvalidRequest")
    assert (
        message == "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm."
    )
    status, code, message = _error(
        s3.create_multipart_upload, Bucket=bucket, Key="k", ChecksumAlgorithm="CRC64NVME",
        ChecksumType="COMPOSITE",
    )  # fmt: skip
    assert message == (
        "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."
    )


def test_a_composite_upload_from_parts_to_copy(s3, bucket) -> None:
    # test_complete_multipart_parts_checksum_composite[CRC32]
    upload_id, parts = _upload(s3, bucket, "mp", "CRC32", DATA, ChecksumAlgorithm="CRC32")
    assert [p["ChecksumCRC32"] for p in parts] == ["NRU+Sw==", "NRU+Sw==", "TBHN8A=="]
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC32", "COMPOSITE")
    assert [p["ChecksumCRC32"] for p in listed["Parts"]] == ["NRU+Sw==", "NRU+Sw==", "TBHN8A=="]
    bare = [{"ETag": p["ETag"], "PartNumber": p["PartNumber"]} for p in parts]
    complete = s3.complete_multipart_upload
    assert _error(complete, Bucket=bucket, Key="mp", UploadId=upload_id,
                  MultipartUpload={"Parts": bare}) == (
        400, "InvalidRequest",
        "The upload was created using a crc32 checksum. The complete request must include the "
        "checksum for each part. It was missing for part 1 in the request.",
    )  # fmt: skip
    wrong = [{**p, "ChecksumCRC32": "AAAAAA=="} for p in parts]
    status, code, _ = _error(
        complete, Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": wrong}
    )
    assert (status, code) == (400, "InvalidPart")
    done = complete(Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == ("5FRUiw==-3", "COMPOSITE")
    head = s3.head_object(Bucket=bucket, Key="mp", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == ("5FRUiw==-3", "COMPOSITE")
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="mp", ObjectAttributes=["Checksum", "ObjectParts"]
    )
    assert attrs["Checksum"] == {"ChecksumCRC32": "5FRUiw==", "ChecksumType": "COMPOSITE"}
    assert [p["ChecksumCRC32"] for p in attrs["ObjectParts"]["Parts"]][2] == "TBHN8A=="
    part = s3.get_object(Bucket=bucket, Key="mp", PartNumber=3, ChecksumMode="ENABLED")
    assert (part["ChecksumCRC32"], part["ChecksumType"]) == ("TBHN8A==", "COMPOSITE")
    assert part["Body"].read() == b"a" * 10  # botocore checked it against TBHN8A==
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"{bucket}/mp")
    result = copied["CopyObjectResult"]  # copy-obj-checksum: the whole object's CRC32
    assert (result["ChecksumCRC32"], result["ChecksumType"]) == ("qSEQSA==", "FULL_OBJECT")
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]  # each object's own type
    assert [(o["Key"], o["ChecksumAlgorithm"], o["ChecksumType"]) for o in listed] == [
        ("copy", ["CRC32"], "FULL_OBJECT"), ("mp", ["CRC32"], "COMPOSITE"),
    ]  # fmt: skip


def test_a_full_object_upload_checks_complete(s3, bucket) -> None:
    # test_multipart_parts_checksum_exceptions_full_object
    made = dict(ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
    upload_id, parts = _upload(s3, bucket, "fo", "CRC32C", [b"abc"], **made)
    assert parts[0]["ChecksumCRC32C"] == "Nks/tw=="  # upload-part-no-checksum-ok
    kwargs = dict(Bucket=bucket, Key="fo", UploadId=upload_id, MultipartUpload={"Parts": parts})
    complete = s3.complete_multipart_upload
    assert _error(complete, **kwargs, ChecksumType="COMPOSITE") == (
        400, "InvalidRequest",
        "The upload was created using the FULL_OBJECT checksum mode. The complete request must "
        "use the same checksum mode.",
    )  # fmt: skip
    bad = (400, "BadDigest", "The crc32c you specified did not match the calculated checksum.")
    assert _error(complete, **kwargs, ChecksumCRC32C="Nks/tw==") == bad  # no type: refused
    assert _error(complete, **kwargs, ChecksumCRC32C="AAAAAA==", ChecksumType="FULL_OBJECT") == bad
    done = complete(**kwargs, ChecksumCRC32C="Nks/tw==", ChecksumType="FULL_OBJECT")
    assert (done["ChecksumCRC32C"], done["ChecksumType"]) == ("Nks/tw==", "FULL_OBJECT")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="fo", **made)["UploadId"]
    assert _error(
        s3.upload_part, Bucket=bucket, Key="fo", UploadId=upload_id, PartNumber=1, Body=b"abc",
        ChecksumAlgorithm="CRC32",
    ) == (
        400, "InvalidRequest",
        "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum Type: "
        "crc32",
    )  # fmt: skip


def test_an_upload_without_an_algorithm_gets_s3s_default(s3, bucket) -> None:
    # test_complete_multipart_parts_checksum_default
    upload_id, parts = _upload(s3, bucket, "d", "CRC32C", [b"aaa"])
    assert parts[0]["ChecksumCRC32C"] == "45fn2Q=="
    listed = s3.list_parts(Bucket=bucket, Key="d", UploadId=upload_id)
    assert "ChecksumCRC32C" not in listed["Parts"][0] and "ChecksumType" not in listed
    kwargs = dict(Bucket=bucket, Key="d", UploadId=upload_id)
    complete = s3.complete_multipart_upload
    status, code, _ = _error(complete, **kwargs, MultipartUpload={"Parts": parts})
    assert (status, code) == (400, "InvalidPart")
    bare = {"Parts": [{"ETag": parts[0]["ETag"], "PartNumber": 1}]}
    assert _error(complete, **kwargs, MultipartUpload=bare, ChecksumType="FULL_OBJECT") == (
        400, "InvalidRequest",
        "The upload was created using the null checksum mode. The complete request must use the "
        "same checksum mode.",
    )  # fmt: skip
    done = complete(**kwargs, MultipartUpload=bare, ChecksumCRC32C="AAAAAA==")  # ignored
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == ("Rnr2/5P7Gsk=", "FULL_OBJECT")
    head = s3.head_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == ("Rnr2/5P7Gsk=", "FULL_OBJECT")
    attrs = s3.get_object_attributes(Bucket=bucket, Key="d", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"] == {"ChecksumCRC64NVME": "Rnr2/5P7Gsk=", "ChecksumType": "FULL_OBJECT"}


def test_a_copied_part_has_the_uploads_checksum(s3, bucket) -> None:
    # test_multipart_upload_part_copy_checksum[COMPOSITE]
    s3.put_object(Bucket=bucket, Key="src", Body=b"this is a part")
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="pc", ChecksumAlgorithm="CRC32C", ChecksumType="COMPOSITE"
    )["UploadId"]
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="pc", UploadId=upload_id, PartNumber=1, CopySource=f"{bucket}/src"
    )["CopyPartResult"]
    assert copied["ChecksumCRC32C"] == "iqJrOQ=="
    part = {"ETag": copied["ETag"], "PartNumber": 1, "ChecksumCRC32C": "iqJrOQ=="}
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="pc", UploadId=upload_id, MultipartUpload={"Parts": [part]}
    )
    assert (done["ChecksumCRC32C"], done["ChecksumType"]) == ("F9bAnw==-1", "COMPOSITE")
    got = s3.get_object(Bucket=bucket, Key="pc", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"this is a part" and got["ChecksumCRC32C"] == "F9bAnw==-1"


def test_uploads_are_listed_with_their_checksum(s3, bucket) -> None:
    # ListMultipartUploads' Upload carries ChecksumAlgorithm and ChecksumType (S3's
    # MultipartUpload type), none for an upload created without an algorithm
    made = {
        "crc": s3.create_multipart_upload(Bucket=bucket, Key="crc", ChecksumAlgorithm="CRC32C"),
        "full": s3.create_multipart_upload(
            Bucket=bucket, Key="full", ChecksumAlgorithm="CRC64NVME"
        ),
        "none": s3.create_multipart_upload(Bucket=bucket, Key="none"),
    }
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u.get("ChecksumAlgorithm"), u.get("ChecksumType")) for u in listed] == [
        ("crc", "CRC32C", "COMPOSITE"), ("full", "CRC64NVME", "FULL_OBJECT"), ("none", None, None),
    ]  # fmt: skip
    for key, answer in made.items():
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=answer["UploadId"])


def test_complete_checks_the_declared_object_size(s3, bucket) -> None:
    # CompleteMultipartUpload's MpuObjectSize (x-amz-mp-object-size): a size other than the
    # parts' total is 400 InvalidRequest, and the upload can still be completed
    upload_id, parts = _upload(s3, bucket, "sized", "CRC32", [b"abc"], ChecksumAlgorithm="CRC32")
    kwargs = dict(Bucket=bucket, Key="sized", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert _error(s3.complete_multipart_upload, **kwargs, MpuObjectSize=4) == (
        400, "InvalidRequest",
        "The provided 'x-amz-mp-object-size' header value 4 does not match what was computed: 3",
    )  # fmt: skip
    s3.complete_multipart_upload(**kwargs, MpuObjectSize=3)
    assert s3.get_object(Bucket=bucket, Key="sized")["Body"].read() == b"abc"


def test_a_copied_part_and_an_uploaded_one_combine_into_the_whole_objects_crc(s3, bucket) -> None:
    """An upload created without an algorithm gets S3's CRC64NVME, FULL_OBJECT: the part
    UploadPartCopy wrote and the part uploaded combine into the CRC of the whole object (here
    computed over all its bytes at once)."""
    source, tail = os.urandom(5 * 1024 * 1024 + 7), os.urandom(1000)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mixed")["UploadId"]
    copied = s3.upload_part_copy(
        Bucket=bucket, Key="mixed", UploadId=upload_id, PartNumber=1, CopySource=f"{bucket}/src"
    )
    sent = s3.upload_part(Bucket=bucket, Key="mixed", UploadId=upload_id, PartNumber=2, Body=tail)
    parts = [
        {"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": sent["ETag"]},
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mixed", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    whole = base64.b64encode(crt.crc64nvme(source + tail).to_bytes(8, "big")).decode()
    head = s3.head_object(Bucket=bucket, Key="mixed", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
