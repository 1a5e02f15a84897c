"""Clients that misbehave mid-request, against the real gateway process: one that disconnects
mid-PUT or mid-UploadPart, one that sends less than its Content-Length and goes idle. Each
leaves no object and no orphan chunk (the stream's message count returns to where it was),
and the gateway goes on serving."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

import natsobj
from natsobj.s3 import _multipart, create_app
from natsobj.server import EmbeddedServer

from ._raw import UNSIGNED, connect, head_bytes, read_answer, sign
from .conftest import KEYS, Gateway, start_gateway, stop_gateway

MiB = 1 << 20
DECLARED = 20 * MiB
SENT = 6 * MiB
SETTLE = 15.0
"""Seconds for the gateway to notice a client gone and roll its chunks back."""
IDLE = 1.5
STAGING = "natsobj_s3_uploads"


async def messages(store: natsobj.ObjectStore) -> int:
    return int((await store.status()).stream_info["state"]["messages"])


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> float:
    """Poll `check` until true; the seconds it took (fails the test after `seconds`)."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > seconds:
            pytest.fail(f"{what}: not within {seconds:g} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def left_nothing(store: natsobj.ObjectStore, name: str, baseline: int) -> bool:
    """No object `name`, no orphan chunk, and the stream back to `baseline` messages."""
    names = {info.name for info in await store.list()}
    orphans = await store.orphan_chunk_subjects(min_age=timedelta(0))
    return name not in names and not orphans and await messages(store) == baseline


async def send_part_of_a_body(
    gateway: Gateway, store: natsobj.ObjectStore, target: str, baseline: int
) -> socket.socket:
    """Open `PUT target` declaring DECLARED bytes, send SENT of them, and return the socket
    once the gateway has stored some of them as chunks."""
    sock = connect(gateway.endpoint)
    headers = sign(gateway.endpoint, "PUT", target, {"Content-Length": str(DECLARED)},
                   payload=UNSIGNED)  # fmt: skip
    sock.sendall(head_bytes("PUT", target, headers))
    piece = b"x" * (256 * 1024)
    for _ in range(SENT // len(piece)):
        await asyncio.to_thread(sock.sendall, piece)

    async def chunks_stored() -> bool:
        return await messages(store) > baseline

    await eventually(chunks_stored, SETTLE, "the gateway stored chunks of the partial body")
    return sock


async def test_a_client_gone_mid_put_leaves_no_object_and_no_orphans(
    gateway: Gateway, s3: object, bucket: str, client: natsobj.Client
) -> None:
    store = await client.object_store(bucket)
    baseline = await messages(store)
    sock = await send_part_of_a_body(gateway, store, f"/{bucket}/gone", baseline)
    sock.close()
    took = await eventually(lambda: left_nothing(store, "gone", baseline), SETTLE, "rollback")
    print(f"mid-PUT disconnect: chunks rolled back {took:.2f} s after the close")
    etag = s3.put_object(Bucket=bucket, Key="kept", Body=b"old")["ETag"]  # type: ignore[attr-defined]
    baseline = await messages(store)
    sock = await send_part_of_a_body(gateway, store, f"/{bucket}/kept", baseline)
    sock.close()
    await eventually(lambda: left_nothing(store, "gone", baseline), SETTLE, "rollback")
    kept = s3.get_object(Bucket=bucket, Key="kept")  # type: ignore[attr-defined]
    assert kept["Body"].read() == b"old" and kept["ETag"] == etag
    assert gateway.process.poll() is None
    s3.put_object(Bucket=bucket, Key="after", Body=b"still serving")  # type: ignore[attr-defined]
    got = s3.get_object(Bucket=bucket, Key="after")  # type: ignore[attr-defined]
    assert got["Body"].read() == b"still serving"
    assert "Traceback" not in gateway.log_text()


@pytest.mark.parametrize("number", [1, 2], ids=["placed", "staged"])
async def test_a_client_gone_mid_upload_part_leaves_no_part_and_no_orphans(
    gateway: Gateway, s3: object, bucket: str, client: natsobj.Client, number: int
) -> None:
    """Part 1, first to come, is placed straight into the target bucket's chunks; part 2,
    with no part 1 before it, is staged: either way nothing is left."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")  # type: ignore[attr-defined]
    uid = upload["UploadId"]
    staging = await client.object_store(STAGING if number == 2 else bucket)
    baseline = await messages(staging)
    target = f"/{bucket}/big?partNumber={number}&uploadId={uid}"
    sock = await send_part_of_a_body(gateway, staging, target, baseline)
    sock.close()
    part = f"p/{uid}/{number:05d}"
    took = await eventually(lambda: left_nothing(staging, part, baseline), SETTLE, "rollback")
    print(f"mid-UploadPart disconnect: chunks rolled back {took:.2f} s after the close")
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)  # type: ignore[attr-defined]
    assert listed.get("Parts", []) == []
    s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=b"p")  # type: ignore[attr-defined]
    s3.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=uid)  # type: ignore[attr-defined]
    assert gateway.process.poll() is None
    assert "Traceback" not in gateway.log_text()


@pytest.fixture(scope="module")
def impatient(server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Gateway:
    """A gateway that fails a request body idle for IDLE seconds."""
    gw = start_gateway(server.url, tmp_path_factory.mktemp("idle"), "--idle-timeout", str(IDLE))
    yield gw  # type: ignore[misc]
    assert stop_gateway(gw) == 0


async def test_a_short_body_then_an_idle_client_times_out_and_stores_nothing(
    impatient: Gateway, bucket: str, client: natsobj.Client
) -> None:
    store = await client.object_store(bucket)
    baseline = await messages(store)
    sock = await send_part_of_a_body(impatient, store, f"/{bucket}/idle", baseline)
    started = time.monotonic()
    sock.settimeout(IDLE + 15)
    answer = await asyncio.to_thread(read_answer, sock, "PUT")
    waited = time.monotonic() - started
    print(f"idle body: RequestTimeout after {waited:.2f} s (idle timeout {IDLE} s)")
    assert answer.status == 400 and answer.error()[0] == "RequestTimeout"
    assert answer.headers.get("connection") == "close"
    assert IDLE * 0.5 < waited < IDLE + 10
    assert sock.recv(1) == b""  # the gateway closed the connection
    sock.close()
    await eventually(lambda: left_nothing(store, "idle", baseline), SETTLE, "rollback")
    assert impatient.process.poll() is None
    assert "Traceback" not in impatient.log_text()


def test_the_idle_timeout_must_be_positive(server: EmbeddedServer, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="idle-timeout"):
        start_gateway(server.url, tmp_path, "--idle-timeout", "0")


ENDPOINT = "http://testserver"


async def staged_upload(app: object, bucket: str) -> tuple[str, bytes, list[bytes]]:
    """An upload of two parts through the in-process app: (its Complete's target, the
    Complete's body, the parts)."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=ENDPOINT)  # type: ignore[arg-type]

    async def call(method: str, target: str, body: bytes = b"") -> httpx.Response:
        headers = sign(ENDPOINT, method, target, {"Content-Length": str(len(body))}, body)
        return await http.request(method, target, headers=headers, content=body)

    created = await call("POST", f"/{bucket}/m?uploads")
    uid = re.search(r"<UploadId>(.+)</UploadId>", created.text).group(1)  # type: ignore[union-attr]
    parts = [os.urandom(5 * MiB), b"tail"]
    xml = ""
    for number, part in enumerate(parts, 1):
        answer = await call("PUT", f"/{bucket}/m?partNumber={number}&uploadId={uid}", part)
        etag = answer.headers["etag"]
        xml += f"<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
    await http.aclose()
    body = f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>".encode()
    return f"/{bucket}/m?uploadId={uid}", body, parts


async def test_a_complete_whose_client_leaves_still_completes(
    client: natsobj.Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process, so the Complete can outlast its keep-alive beat: the client leaves while
    the parts are assembled, and the object is stored all the same."""
    monkeypatch.setattr(_multipart, "KEEPALIVE_EVERY", 0.001)
    app = create_app(client, credentials=dict(KEYS))
    target, body, parts = await staged_upload(app, bucket)
    headers = sign(ENDPOINT, "POST", target, {"Content-Length": str(len(body))}, body)
    messages: list[dict[str, object]] = [{"type": "http.request", "body": body}]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}  # it left at once

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    path, _, query = target.partition("?")
    scope = {
        "type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    await app(scope, receive, send)
    assert not any(b"CompleteMultipartUploadResult" in m.get("body", b"") for m in sent)  # type: ignore[operator]
    store = await client.object_store(bucket)

    async def stored() -> bool:
        return "m" in {info.name for info in await store.list()}

    await eventually(stored, SETTLE, "the upload completed after its client left")
    assert await store.get("m") == b"".join(parts)


async def test_a_complete_failing_for_nats_answers_service_unavailable(
    client: natsobj.Client, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Complete has answered 200 before it assembles: a store error then must still say
    what it was (ServiceUnavailable, which SDKs retry), not InternalError."""

    async def stalled(*args: object) -> natsobj.ObjectInfo:
        raise natsobj.StoreTimeoutError("no ack from the stream for 30 s")

    app = create_app(client, credentials=dict(KEYS))
    target, body, _ = await staged_upload(app, bucket)
    monkeypatch.setattr(_multipart, "assemble", stalled)
    headers = sign(ENDPOINT, "POST", target, {"Content-Length": str(len(body))}, body)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=ENDPOINT) as http:
        answer = await http.post(target, headers=headers, content=body)
    assert answer.status_code == 200  # the status line went out before the assembly
    assert "<Code>ServiceUnavailable</Code>" in answer.text, answer.text
