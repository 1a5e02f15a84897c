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
import s3fs
from nats.js.api import ObjectMeta

from natsobj._wire import DEFAULT_CHUNK_SIZE as CHUNK

from .conftest import Gateway
from .test_clients_s3fs import storage_options

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
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **storage_options(gateway))
    checksum = await asyncio.to_thread(fs.checksum, f"{bucket}/n/mib")
    assert checksum == int(hashlib.sha256(bodies["n/mib"]).hexdigest(), 16)
    await nats_py.delete("n/one")
    for _ in range(100):  # the gateway's index follows a live watch of the bucket
        if "n/one" not in await asyncio.to_thread(listed):
            break
        await asyncio.sleep(0.05)
    assert set(await asyncio.to_thread(listed)) == set(bodies) - {"n/one"}
