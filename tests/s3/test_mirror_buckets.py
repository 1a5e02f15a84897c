"""A mirror bucket (a read-only copy JetStream keeps of another bucket) through the gateway: its
objects are listed and served once they arrive; every S3 write to it (PUT, copy onto it, DELETE,
DeleteObjects, a multipart upload) is refused with 403 AccessDenied saying why, and leaves
nothing behind, while the origin is untouched."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from natsobj import Origin

from .conftest import Gateway


def _refused(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return response["Error"]


async def test_a_mirror_is_served_and_refuses_writes(gateway: Gateway, client) -> None:
    origin, mirror = f"orig-{uuid.uuid4().hex[:8]}", f"mirr-{uuid.uuid4().hex[:8]}"
    source = await client.create_object_store(origin)
    await source.put("doc.txt", b"from the origin")
    await client.create_object_store(mirror, mirror=Origin(origin))
    s3 = gateway.client()

    def checks() -> None:
        deadline = time.monotonic() + 10
        while True:  # the mirror catches up on its own
            listed = s3.list_objects_v2(Bucket=mirror).get("Contents", [])
            if listed or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [o["Key"] for o in listed] == ["doc.txt"]
        assert s3.get_object(Bucket=mirror, Key="doc.txt")["Body"].read() == b"from the origin"
        refusals = [
            _refused(s3.put_object, Bucket=mirror, Key="new", Body=b"x"),
            _refused(s3.copy_object, Bucket=mirror, Key="c", CopySource=f"{origin}/doc.txt"),
            _refused(s3.delete_object, Bucket=mirror, Key="doc.txt"),
            _refused(s3.create_multipart_upload, Bucket=mirror, Key="mp"),
        ]
        for error in refusals:
            assert error["Code"] == "AccessDenied" and "read-only" in error["Message"], error
        deleted = s3.delete_objects(Bucket=mirror, Delete={"Objects": [{"Key": "doc.txt"}]})
        assert [e["Code"] for e in deleted.get("Errors", [])] == ["AccessDenied"]
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=mirror)["Contents"]] == ["doc.txt"]
        assert s3.list_multipart_uploads(Bucket=mirror).get("Uploads", []) == []

    try:
        await asyncio.to_thread(checks)
        assert [i.name for i in await source.list()] == ["doc.txt"]
    finally:
        await client.delete_object_store(mirror)
        await client.delete_object_store(origin)
