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

from .test_objects import error_code

STAGING = "natsobj_s3_uploads"


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
