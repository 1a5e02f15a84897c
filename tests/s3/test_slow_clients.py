"""A slow reader of a big GET, against a gateway process of its own: the gateway's memory stays
flat while the client reads at a trickle (it reads from NATS only as fast as the client takes
the bytes), and once the client goes away the gateway stops reading the object."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import natsobj
from natsobj.server import EmbeddedServer

from ._raw import connect, head_bytes, sign
from .conftest import Gateway, start_gateway, stop_gateway

MiB = 1 << 20
SIZE = 256 * MiB
SLOW_READ = 32 * MiB
"""Bytes read slowly before the client goes away."""
PIECE = 32 * 1024
PAUSE = 0.003
"""Seconds between reads: at most ~10 MiB/s, some 30 times slower than the gateway can send."""
MAX_GROWTH = 64 * MiB
BUCKET = "slow-readers"


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    assert match is not None
    return int(match.group(1)) * 1024


def piece(block: bytes, i: int) -> bytes:
    """MiB number i of the object (a random block, numbered)."""
    return i.to_bytes(8, "big") + block[8:]


@pytest.fixture(scope="module")
def lone(server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway no other test uses, so its RSS is this test's."""
    gw = start_gateway(server.url, tmp_path_factory.mktemp("slow"))
    yield gw
    assert stop_gateway(gw) == 0


async def test_a_slow_reader_keeps_the_gateway_flat_and_its_leaving_stops_the_read(
    lone: Gateway, client: natsobj.Client
) -> None:
    block = os.urandom(MiB)
    store = await client.create_object_store(BUCKET)
    try:

        async def source() -> AsyncIterator[bytes]:
            for i in range(SIZE // MiB):
                yield piece(block, i)

        await store.put("big", source())
        warm = lone.client().get_object(Bucket=BUCKET, Key="big", Range="bytes=0-1048575")  # type: ignore[attr-defined]
        assert warm["Body"].read() == piece(block, 0)  # the gateway's one-time costs paid
        target = f"/{BUCKET}/big"
        sock = connect(lone.endpoint, timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(head_bytes("GET", target, sign(lone.endpoint, "GET", target)))
        before = rss(lone.process.pid)
        got, peak, took = read_slowly(sock, lone.process.pid)
        sock.close()
        closed = time.monotonic()
        expected = b"".join(piece(block, i) for i in range(SLOW_READ // MiB))
        head, _, data = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and data[:SLOW_READ] == expected
        growth = peak - before
        print(f"\nslow GET: {len(data) / MiB:.0f} MiB in {took:.1f} s "
              f"({len(data) / MiB / took:.1f} MiB/s); gateway RSS {before / MiB:.0f} MiB "
              f"before, peak {peak / MiB:.0f} MiB (+{growth / MiB:.1f} MiB)")  # fmt: skip
        assert growth <= MAX_GROWTH
        sent = await stopped_reading(lone, closed)
        print(f"after the client left: the gateway stopped at {sent / MiB:.0f} MiB of "
              f"{SIZE / MiB:.0f}, RSS {rss(lone.process.pid) / MiB:.0f} MiB")  # fmt: skip
        assert sent < SIZE // 2
        assert "Traceback" not in lone.log_text()
    finally:
        await client.delete_object_store(BUCKET)


def read_slowly(sock: socket.socket, pid: int) -> tuple[bytes, int, float]:
    """SLOW_READ bytes and a little more, read at a trickle: (bytes, peak RSS, seconds)."""
    got = bytearray()
    peak = rss(pid)
    started = sampled = time.monotonic()
    while len(got) < SLOW_READ + 4096:
        data = sock.recv(PIECE)
        assert data, "the gateway closed the connection"
        got += data
        time.sleep(PAUSE)
        if time.monotonic() - sampled > 0.1:
            peak, sampled = max(peak, rss(pid)), time.monotonic()
    return bytes(got), max(peak, rss(pid)), time.monotonic() - started


async def stopped_reading(gateway: Gateway, closed: float) -> int:
    """The body bytes the gateway's access line says it sent for the slow GET (the only 200),
    once it is logged (fails if it is not within 10 s of the client leaving)."""
    while time.monotonic() - closed < 10:
        found = re.findall(rf'"GET /{BUCKET}/big" 200 in=\d+ out=(\d+)', gateway.log_text())
        if found:
            return int(found[-1])
        await asyncio.sleep(0.1)
    pytest.fail("the slow GET did not end within 10 s of its client leaving")
