"""Multipart parts placed straight into the target's chunks (s3/_placement, s3/_assembly),
against the real gateway process and nats-server: what is placed and what is staged, the
object a Complete commits either way (byte for byte, and its meta as the copy stores it), a
second gateway completing, Abort, and purge_orphans sparing a paused upload."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from datetime import timedelta

import nats
from boto3.s3.transfer import TransferConfig

import natsobj
from natsobj import _wire as wire
from natsobj.server import EmbeddedServer

from ._raw import signed_request
from .conftest import start_gateway, stop_gateway

MiB = 1 << 20
STAGING = "natsobj_s3_uploads"


async def record_of(client: natsobj.Client, bucket: str, key: str, uid: str) -> dict:
    """The upload's record (a completed upload's has moved from u/ to d/)."""
    staging = await client.object_store(STAGING)
    try:
        return json.loads(await staging.get(f"u/{bucket}/{key}/{uid}"))
    except natsobj.ObjectNotFoundError:
        return json.loads(await staging.get(f"d/{bucket}/{key}/{uid}"))


async def part_sizes(client: natsobj.Client, uid: str, numbers: list[int]) -> list[int]:
    """The sizes of the parts' records in the staging bucket (0 for a placed part)."""
    staging = await client.object_store(STAGING)
    return [(await staging.get_info(f"p/{uid}/{n:05d}")).size for n in numbers]


async def run_chunks(client: natsobj.Client, bucket: str, nuid: str) -> int:
    store = await client.object_store(bucket)
    subject = wire.chunk_subject(bucket, nuid)
    info = await client.js.stream_info(store.stream, bucket=bucket, subjects_filter=subject)
    return int((info.get("state", {}).get("subjects") or {}).get(subject, 0))


def upload(s3, bucket: str, key: str, parts: dict[int, bytes], order: list[int]) -> str:
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="a/b",
                                     Metadata={"m": "1"})["UploadId"]  # fmt: skip
    etags = {}
    for n in order:
        etags[n] = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=parts[n]
        )["ETag"]
    return uid, etags


def complete(s3, bucket: str, key: str, uid: str, etags: dict[int, str], numbers=None) -> None:
    asked = [{"PartNumber": n, "ETag": etags[n]} for n in (numbers or sorted(etags))]
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": asked}
    )


def meta_fields(info: natsobj.ObjectInfo) -> tuple:
    return (info.size, info.chunks, info.digest, dict(info.headers), dict(info.metadata),
            info.options.max_chunk_size if info.options else None)  # fmt: skip


async def eventually_zero(client: natsobj.Client, bucket: str, nuid: str) -> None:
    for _ in range(100):
        if await run_chunks(client, bucket, nuid) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the run {nuid} was not discarded")


async def test_parts_in_order_are_placed_and_committed_as_the_copy_would(
    s3, bucket: str, client: natsobj.Client, server: EmbeddedServer
) -> None:
    parts = {1: os.urandom(5 * MiB), 2: os.urandom(5 * MiB), 3: os.urandom(MiB + 3)}
    data = parts[1] + parts[2] + parts[3]
    uid, etags = upload(s3, bucket, "placed", parts, [1, 2, 3])
    assert await part_sizes(client, uid, [1, 2, 3]) == [0, 0, 0]  # no part data staged
    nuid = (await record_of(client, bucket, "placed", uid))["nuid"]
    assert await run_chunks(client, bucket, nuid) == 89
    complete(s3, bucket, "placed", uid, etags)
    store = await client.object_store(bucket)
    placed = await store.get_info("placed")
    assert placed.nuid == nuid  # committed where the parts lie: no copy
    assert await store.get("placed") == data
    nc = await nats.connect(server.url)
    try:
        obs = await nc.jetstream().object_store(bucket)
        assert (await obs.get("placed")).data == data
    finally:
        await nc.close()
    # the same parts out of order are staged and copied: the same meta, but the nuid
    uid2, etags2 = upload(s3, bucket, "copied", parts, [3, 2, 1])
    assert await part_sizes(client, uid2, [1, 2, 3]) == [len(parts[n]) for n in (1, 2, 3)]
    complete(s3, bucket, "copied", uid2, etags2)
    copied = await store.get_info("copied")
    assert copied.nuid != (await record_of(client, bucket, "copied", uid2))["nuid"]
    assert meta_fields(copied) == meta_fields(placed)
    assert etags == etags2
    got = s3.get_object(Bucket=bucket, Key="placed", Range="bytes=5242000-5243000")
    assert got["Body"].read() == data[5242000:5243001]
    assert s3.get_object(Bucket=bucket, Key="placed", PartNumber=2)["Body"].read() == parts[2]


async def test_a_part_uploaded_again_or_left_out_falls_back_to_a_copy(
    s3, bucket: str, client: natsobj.Client
) -> None:
    parts = {n: os.urandom(5 * MiB) for n in (1, 2, 3)}
    uid, etags = upload(s3, bucket, "again", parts, [1, 2])
    parts[1] = os.urandom(5 * MiB)
    _, again = upload_part(s3, bucket, "again", uid, 1, parts[1])
    etags[1] = again
    _, etags[3] = upload_part(s3, bucket, "again", uid, 3, parts[3])
    assert await part_sizes(client, uid, [1, 2, 3]) == [5 * MiB, 0, 5 * MiB]
    nuid = (await record_of(client, bucket, "again", uid))["nuid"]
    complete(s3, bucket, "again", uid, etags)
    store = await client.object_store(bucket)
    assert await store.get("again") == parts[1] + parts[2] + parts[3]
    await eventually_zero(client, bucket, nuid)

    uid, etags = upload(s3, bucket, "left", parts, [1, 2, 3])
    nuid = (await record_of(client, bucket, "left", uid))["nuid"]
    complete(s3, bucket, "left", uid, etags, numbers=[1, 3])
    info = await store.get_info("left")
    assert info.nuid != nuid and await store.get("left") == parts[1] + parts[3]
    await eventually_zero(client, bucket, nuid)


def upload_part(s3, bucket: str, key: str, uid: str, number: int, body: bytes) -> tuple[int, str]:
    answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=number, Body=body)
    return number, answer["ETag"]


async def test_a_second_gateway_completes_from_the_placed_chunks(
    s3, bucket: str, client: natsobj.Client, server: EmbeddedServer, tmp_path
) -> None:
    parts = {1: os.urandom(5 * MiB), 2: os.urandom(2 * MiB + 1)}
    uid, etags = upload(s3, bucket, "k", parts, [1, 2])
    nuid = (await record_of(client, bucket, "k", uid))["nuid"]
    other = start_gateway(server.url, tmp_path)
    try:
        complete(other.client(), bucket, "k", uid, etags)
        # retried on the first gateway: answered from the record
        complete(s3, bucket, "k", uid, etags)
    finally:
        assert stop_gateway(other) == 0
    store = await client.object_store(bucket)
    info = await store.get_info("k")
    assert info.nuid == nuid and await store.get("k") == parts[1] + parts[2]


async def test_abort_leaves_no_chunks_and_purge_orphans_spares_a_paused_upload(
    s3, bucket: str, client: natsobj.Client
) -> None:
    parts = {1: os.urandom(5 * MiB)}
    uid, etags = upload(s3, bucket, "paused", parts, [1])
    nuid = (await record_of(client, bucket, "paused", uid))["nuid"]
    store = await client.object_store(bucket)
    await asyncio.sleep(0.05)
    assert await store.purge_orphans(min_age=timedelta(milliseconds=1)) == 0
    assert await run_chunks(client, bucket, nuid) == 40
    parts[2] = os.urandom(100)
    etags[2] = upload_part(s3, bucket, "paused", uid, 2, parts[2])[1]
    complete(s3, bucket, "paused", uid, etags)
    assert await store.get("paused") == parts[1] + parts[2]

    uid, _ = upload(s3, bucket, "aborted", parts, [1, 2])
    nuid = (await record_of(client, bucket, "aborted", uid))["nuid"]
    assert await run_chunks(client, bucket, nuid) == 41
    s3.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=uid)
    assert await run_chunks(client, bucket, nuid) == 0
    assert not await store.orphan_chunk_subjects(min_age=timedelta(0))


async def test_upload_file_with_ten_threads_places_its_parts(
    gateway, bucket: str, client: natsobj.Client, tmp_path
) -> None:
    s3 = gateway.client(max_pool_connections=10)
    src = tmp_path / "big"
    src.write_bytes(os.urandom(60 * MiB + 5))
    config = TransferConfig(multipart_chunksize=8 * MiB, max_concurrency=10)
    s3.upload_file(str(src), bucket, "big", Config=config)
    staging = await client.object_store(STAGING)
    names = [i.name for i in await staging.list() if i.name.startswith(f"d/{bucket}/big/")]
    record = json.loads(await staging.get(names[0]))
    store = await client.object_store(bucket)
    info = await store.get_info("big")
    assert info.nuid == record["nuid"], "the parts were copied, not placed"
    assert await store.get("big") == src.read_bytes()


async def test_a_placed_part_is_checked_against_its_sha256_before_its_record(
    gateway, bucket: str, client: natsobj.Client
) -> None:
    s3 = gateway.client()
    body = os.urandom(3 * MiB + 7)
    sha_b64 = base64.b64encode(hashlib.sha256(body).digest()).decode()
    other_b64 = base64.b64encode(hashlib.sha256(body[1:]).digest()).decode()
    wrong_payload = {"payload": hashlib.sha256(body + b"x").hexdigest()}
    wrong_checksum = {"headers": {"x-amz-checksum-sha256": other_b64}}
    for key, bad, code in [("p", wrong_payload, "XAmzContentSHA256Mismatch"),
                           ("c", wrong_checksum, "BadDigest")]:  # fmt: skip
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")[
            "UploadId"
        ]
        nuid = (await record_of(client, bucket, key, uid))["nuid"]
        target = f"/{bucket}/{key}?partNumber=1&uploadId={uid}"
        answer = signed_request(gateway.endpoint, "PUT", target, body=body, **bad)
        assert (answer.status, answer.error()[0]) == (400, code)
        assert await run_chunks(client, bucket, nuid) == 0, "a refused placed part left chunks"
    uid = s3.create_multipart_upload(Bucket=bucket, Key="ok", ChecksumAlgorithm="SHA256")[
        "UploadId"
    ]
    s3.upload_part(Bucket=bucket, Key="ok", UploadId=uid, PartNumber=1, Body=body,
                   ChecksumSHA256=sha_b64)  # fmt: skip
    assert await part_sizes(client, uid, [1]) == [0], "the part was staged, not placed"


async def test_a_part_that_waited_for_its_turn_and_is_staged_keeps_its_whole_body(
    s3, bucket: str, client: natsobj.Client
) -> None:
    # part 2 comes alone: it reads the start of its body while it waits for part 1, which
    # does not come within the grace, so it is staged, from its first byte
    parts = {1: os.urandom(5 * MiB), 2: os.urandom(3 * MiB + 1)}
    uid, etags = upload(s3, bucket, "late", parts, [2, 1])
    assert await part_sizes(client, uid, [1, 2]) == [5 * MiB, 3 * MiB + 1]
    complete(s3, bucket, "late", uid, etags)
    store = await client.object_store(bucket)
    assert await store.get("late") == parts[1] + parts[2]
