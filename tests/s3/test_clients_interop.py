"""The gateway beside other NATS clients: what boto3 wrote over HTTPS (aws-chunked, multipart)
is read byte for byte by natsobj and by nats-py's object store, and what nats-py wrote is
listed and served by the gateway (its live index sees nats-py's puts and deletes)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import AsyncIterator

import nats
import pytest
from botocore.exceptions import ClientError
from nats.js.api import ObjectMeta

from natsobj._wire import DEFAULT_CHUNK_SIZE as CHUNK

from .conftest import Gateway

MIB = 1024 * 1024


@pytest.fixture
async def nats_py_js(server) -> AsyncIterator[object]:
    nc = await nats.connect(server.url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


def sha256_digest(data: bytes) -> str:
    return "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()


async def test_what_boto3_wrote_over_https_is_read_by_natsobj_and_nats_py(
    gateway_tls: Gateway, bucket, client, nats_py_js, tmp_path
) -> None:
    s3 = gateway_tls.client()
    bodies = {'&+-é"/x': os.urandom(1), "a//b": os.urandom(CHUNK + 1), "dir/": b""}
    for key, body in bodies.items():
        await asyncio.to_thread(
            s3.put_object, Bucket=bucket, Key=key, Body=body, ContentType="text/x",
            Metadata={"Who": "boto3"},
        )  # fmt: skip
    big = tmp_path / "big"
    big.write_bytes(os.urandom(8 * MIB + 1))
    await asyncio.to_thread(s3.upload_file, str(big), bucket, "multi/part")
    bodies["multi/part"] = big.read_bytes()
    store = await client.object_store(bucket)
    nats_py = await nats_py_js.object_store(bucket)
    for key, body in bodies.items():
        assert await store.get(key) == body, key
        result = await nats_py.get(key)
        assert result.data == body, key
        assert result.info.size == len(body) and result.info.digest == sha256_digest(body)
    info = (await nats_py.get('&+-é"/x')).info
    assert info.headers["Content-Type"] == ["text/x"]
    assert (await store.get_info('&+-é"/x')).metadata == {"who": "boto3"}  # nats-py drops it
    names = sorted(i.name for i in await nats_py.list())
    assert names == sorted(bodies)


async def test_what_nats_py_wrote_is_listed_and_served_by_the_gateway(
    gateway: Gateway, bucket, nats_py_js
) -> None:
    s3 = gateway.client()
    nats_py = await nats_py_js.object_store(bucket)
    bodies = {"n/empty": b"", "n/one": b"1", "n/chunky é+": os.urandom(CHUNK + 1)}
    bodies["n/mib"] = os.urandom(MIB)
    for key, body in bodies.items():
        await nats_py.put(key, body, meta=ObjectMeta(name=key, description="from nats-py"))
    etags = {k: f'"{hashlib.sha256(b).hexdigest()}-1"' for k, b in bodies.items()}

    def listed() -> dict[str, tuple[str, int]]:
        page = s3.list_objects_v2(Bucket=bucket, Prefix="n/")
        return {o["Key"]: (o["ETag"], o["Size"]) for o in page.get("Contents", [])}

    assert await asyncio.to_thread(listed) == {k: (etags[k], len(b)) for k, b in bodies.items()}
    for key, body in bodies.items():
        got = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key=key)
        assert got["Body"].read() == body and got["ETag"] == etags[key]
        head = await asyncio.to_thread(s3.head_object, Bucket=bucket, Key=key)
        assert head["ETag"] == etags[key] and head["ContentLength"] == len(body)
    ranged = await asyncio.to_thread(
        s3.get_object, Bucket=bucket, Key="n/mib", Range=f"bytes={CHUNK - 5}-{CHUNK + 5}"
    )
    assert ranged["Body"].read() == bodies["n/mib"][CHUNK - 5 : CHUNK + 6]
    await nats_py.delete("n/one")
    for _ in range(400):  # the gateway's index follows a live watch of the bucket (20 s)
        if "n/one" not in await asyncio.to_thread(listed):
            break
        await asyncio.sleep(0.05)
    assert set(await asyncio.to_thread(listed)) == set(bodies) - {"n/one"}


async def test_links_made_by_nats_clients_are_listed_as_what_get_serves(
    gateway: Gateway, bucket, client
) -> None:
    """A link to an object (nats.go, natscli and natsobj make them) is listed with its
    target's size and ETag, as HEAD and GET show it; a link to a bucket is no object: it is
    not listed and GET answers NoSuchKey. Both used to be listed with Size 0 and ETag "-1",
    and a GET of a bucket link was a 500."""
    s3 = gateway.client()
    store = await client.object_store(bucket)
    body = os.urandom(CHUNK + 1)
    target = await store.put("target", body)
    await store.add_link("alias", target)
    await store.add_bucket_link("whole", bucket)
    etag = f'"{hashlib.sha256(body).hexdigest()}-1"'

    def listed() -> dict[str, tuple[str, int]]:
        page = s3.list_objects_v2(Bucket=bucket)
        return {o["Key"]: (o["ETag"], o["Size"]) for o in page.get("Contents", [])}

    assert await asyncio.to_thread(listed) == {
        "alias": (etag, len(body)),
        "target": (etag, len(body)),
    }
    head = await asyncio.to_thread(s3.head_object, Bucket=bucket, Key="alias")
    assert head["ETag"] == etag and head["ContentLength"] == len(body)
    got = await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="alias", IfMatch=etag)
    assert got["Body"].read() == body
    with pytest.raises(ClientError) as caught:
        await asyncio.to_thread(s3.get_object, Bucket=bucket, Key="whole")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as caught:
        await asyncio.to_thread(s3.head_object, Bucket=bucket, Key="whole")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # a conditional PUT compares the ETag HEAD showed
    await asyncio.to_thread(s3.put_object, Bucket=bucket, Key="alias", Body=b"new", IfMatch=etag)
    assert (await store.get_info("alias")).is_link is False
    await store.add_link("dangling", await store.get_info("alias"))
    await store.delete("alias")  # its target is gone: GET would say NoSuchKey, so no listing
    assert set(await asyncio.to_thread(listed)) == {"target"}
    await asyncio.to_thread(s3.delete_object, Bucket=bucket, Key="target")
    # what is left lists as nothing, so the bucket is empty for S3 (the fixture deletes it)
    assert await asyncio.to_thread(listed) == {}


async def test_copying_a_link_onto_itself_gives_the_key_its_own_object(
    gateway: Gateway, bucket, client
) -> None:
    """rclone touch and `aws s3 cp --metadata-directive REPLACE` copy a key onto itself. For a
    link this used to update the meta of the link's *target name* in this bucket: here another
    object, "same", whose metadata changed while the link stayed as it was."""
    s3 = gateway.client()
    store = await client.object_store(bucket)
    await store.put("same", b"this bucket's own object", metadata={"keep": "me"})
    other_name = f"o{os.urandom(6).hex()}"
    other = await client.create_object_store(other_name)
    try:
        target = await other.put("same", b"the bytes in the other bucket")
        await store.add_link("via", target)
        await asyncio.to_thread(
            s3.copy_object, Bucket=bucket, Key="via", CopySource={"Bucket": bucket, "Key": "via"},
            MetadataDirective="REPLACE", Metadata={"new": "1"},
        )  # fmt: skip
        via = await store.get_info("via")
        assert not via.is_link and via.metadata == {"new": "1"}
        assert await store.get("via") == b"the bytes in the other bucket"
        assert (await store.get_info("same")).metadata == {"keep": "me"}
        assert (await other.get_info("same")).metadata == {}
    finally:
        await client.delete_object_store(other_name)
