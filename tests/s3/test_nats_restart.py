"""The gateway over a nats-server that dies under load (SIGKILL or SIGTERM, by its PID) and
comes back on the same port and store dir: requests in flight complete or fail cleanly (503
ServiceUnavailable with Retry-After, or, for a GET whose 200 was already sent, a body the
client sees cut short), none hangs, and the same gateway process serves again once NATS is
back, with no traceback in its log."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, IncompleteReadError, ResponseStreamingError
from botocore.exceptions import ConnectionError as BotoConnectionError

import natsobj
import natsobj.sync
from natsobj.server import EmbeddedServer

from .conftest import Gateway, free_port, start_gateway, stop_gateway

MiB = 1 << 20
WORKERS = 4
SHORT, LONG = 3.0, 12.0
"""Seconds NATS stays down: shorter than a GET's chunk timeout (10 s), so requests in flight
ride it out; longer than it and than the gateway's NATS request timeout (NATS_TIMEOUT), so
requests started or stalled in the outage fail."""
NATS_TIMEOUT = "2s"
FAIL_FAST = 2.0
"""A request sent while NATS is away gets its 503 within this, not after the store's 30 s of
retries."""
REQUEST_CAP = 45.0
"""No request may take longer: the store's stall timeout (30 s) plus slack."""
RECOVERY_CAP = 20.0
LISTED_WITHIN = 8.0
"""Seconds until the listing shows another client's write after a restart. Measured: ~3.4 s
after a 3 s outage (the store's watch, nats-py's ordered consumer, re-creates itself only
after missing its 2 s idle heartbeats), ~0.1 s after a 12 s one; within a second otherwise."""
BUCKET = "restart-me"
NO_RETRY = {"total_max_attempts": 1}
"""botocore's `max_attempts` counts retries: this is one attempt, so every outcome is seen."""


@dataclass
class Outcome:
    op: str
    started: float
    took: float
    result: str
    """ok, a 5xx/4xx "<status> <code> retry-after=<value>", or "cut" (a GET body cut short)."""


@dataclass
class Nats:
    server: EmbeddedServer

    def kill(self, sig: signal.Signals) -> float:
        pid = self.server.pid
        assert pid is not None
        os.kill(pid, sig)
        deadline = time.monotonic() + 15
        while self.server.pid is not None:
            assert time.monotonic() < deadline, "nats-server did not exit"
            time.sleep(0.02)
        return time.monotonic()


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[Nats]:
    """A nats-server of this test's own, on a fixed port with a store dir that survives it."""
    server = EmbeddedServer(port=free_port(), store_dir=tmp_path / "nats")
    server.start_sync()
    try:
        yield Nats(server)
    finally:
        server.stop_sync()


def attempt(s3: object, op: str, key: str, body: bytes) -> Outcome:
    """One PUT or GET of `key`, and how it ended."""
    started = time.monotonic()
    try:
        if op == "PUT":
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)  # type: ignore[attr-defined]
        else:
            got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()  # type: ignore[attr-defined]
            assert got == body, "a GET returned other bytes as a success"
        result = "ok"
    except ClientError as exc:
        meta = exc.response["ResponseMetadata"]
        retry = meta.get("HTTPHeaders", {}).get("retry-after")
        result = f"{meta['HTTPStatusCode']} {exc.response['Error']['Code']} retry-after={retry}"
    except (IncompleteReadError, ResponseStreamingError, BotoConnectionError) as exc:
        result = f"cut {type(exc).__name__}" if op == "GET" else f"broken {exc!r}"
    return Outcome(op, started, time.monotonic() - started, result)


def client(gateway: Gateway) -> object:
    return gateway.client(read_timeout=REQUEST_CAP + 15, connect_timeout=5, retries=NO_RETRY)


def work(gateway: Gateway, body: bytes, index: int, stop: threading.Event,
         outcomes: list[Outcome]) -> None:  # fmt: skip
    """PUT (even workers) or GET (odd ones) until `stop`, recording how each ended."""
    s3 = client(gateway)
    n = 0
    while not stop.is_set():
        n += 1
        if index % 2:
            outcome = attempt(s3, "GET", "seed", body)
        else:
            outcome = attempt(s3, "PUT", f"w{index}-{n}", body)
        outcomes.append(outcome)
        if outcome.result != "ok":
            time.sleep(0.1)  # as a client heeding Retry-After would, if less patiently


def wait_serving(gateway: Gateway, body: bytes) -> float:
    """Seconds until a PUT and a GET succeed again (fails after RECOVERY_CAP)."""
    s3 = gateway.client(read_timeout=10, connect_timeout=5)
    start = time.monotonic()
    while True:
        try:
            s3.put_object(Bucket=BUCKET, Key="probe", Body=b"p")  # type: ignore[attr-defined]
            if s3.get_object(Bucket=BUCKET, Key="seed")["Body"].read() == body:  # type: ignore[attr-defined]
                return time.monotonic() - start
        except (ClientError, BotoConnectionError):
            pass
        assert time.monotonic() - start < RECOVERY_CAP, "the gateway did not serve again"
        time.sleep(0.2)


def listed(s3: object) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)  # type: ignore[attr-defined]
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def written_elsewhere(nats: Nats, key: str) -> str:
    """`key` put by a NATS client of its own: the gateway learns of it only by its watch."""
    other = natsobj.sync.connect(nats.server.url)
    try:
        other.object_store(BUCKET).put(key, b"z")
    finally:
        other.close()
    return key


def until_listed(s3: object, key: str) -> float:
    """Seconds until ListObjectsV2 shows `key` (its index follows the bucket again)."""
    start = time.monotonic()
    while key not in listed(s3):
        assert time.monotonic() - start < LISTED_WITHIN, f"{key} not listed after the restart"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.parametrize(
    ("sig", "down"),
    [
        pytest.param(signal.SIGKILL, SHORT, id="kill-3s"),
        pytest.param(signal.SIGTERM, SHORT, id="term-3s", marks=pytest.mark.slow),
        pytest.param(signal.SIGKILL, LONG, id="kill-12s", marks=pytest.mark.slow),
    ],
)
def test_a_nats_restart_under_load_fails_cleanly_and_recovers(
    nats: Nats, tmp_path: Path, sig: signal.Signals, down: float
) -> None:
    gateway = start_gateway(nats.server.url, tmp_path, env={"NATS_TIMEOUT": NATS_TIMEOUT})
    try:
        body = os.urandom(4 * MiB)
        setup = gateway.client()
        setup.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
        setup.put_object(Bucket=BUCKET, Key="seed", Body=body)  # type: ignore[attr-defined]
        assert listed(setup) == ["seed"]  # the bucket's live listing index is up
        stop, outcomes = threading.Event(), []  # type: ignore[var-annotated]
        threads = [
            threading.Thread(target=work, args=(gateway, body, i, stop, outcomes), daemon=True)
            for i in range(WORKERS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        killed = nats.kill(sig)
        time.sleep(0.5)
        probe = attempt(client(gateway), "GET", "seed", body)  # started with NATS away
        time.sleep(max(0.0, killed + down - time.monotonic()))
        nats.server.start_sync()
        back = time.monotonic()
        recovered = wait_serving(gateway, body)
        relisted = until_listed(setup, written_elsewhere(nats, "zz-after"))
        time.sleep(0.5)  # some load after the recovery too
        stop.set()
        for thread in threads:
            thread.join(REQUEST_CAP + 20)
        assert not any(t.is_alive() for t in threads), "a request hung"
        assert gateway.process.poll() is None
    finally:
        stop_gateway(gateway)
    report(outcomes, killed, back, recovered)
    print(f"the listing showed a key another client put after the restart in {relisted:.2f} s")
    print(f"a GET sent {probe.started - killed:.1f} s into the outage: {probe.result} "
          f"after {probe.took:.1f} s")  # fmt: skip
    check([*outcomes, probe], killed, back)
    assert probe.result == "503 ServiceUnavailable retry-after=1" and probe.took < FAIL_FAST
    assert "Traceback" not in gateway.log_text(), gateway.log_text()[-3000:]


def report(outcomes: list[Outcome], killed: float, back: float, recovered: float) -> None:
    during = [o for o in outcomes if o.started < back and o.started + o.took > killed]
    kinds: dict[str, int] = {}
    for o in during:
        kinds[f"{o.op} {o.result}"] = kinds.get(f"{o.op} {o.result}", 0) + 1
    worst = max(o.took for o in outcomes)
    print(f"\nNATS down {back - killed:.1f} s; serving {recovered:.2f} s after it was back; "
          f"{len(outcomes)} requests, slowest {worst:.1f} s; across it: {kinds}")  # fmt: skip


def check(outcomes: list[Outcome], killed: float, back: float) -> None:
    during = [o for o in outcomes if o.started < back and o.started + o.took > killed]
    assert during, "no request overlapped the outage"
    for o in outcomes:
        assert o.took < REQUEST_CAP, o
        ok = o.result == "ok"
        unavailable = o.result == "503 ServiceUnavailable retry-after=1"
        cut = o.op == "GET" and o.result.startswith("cut")
        assert ok or unavailable or cut, o


async def test_a_client_says_whether_it_is_connected(nats: Nats) -> None:
    client = await natsobj.connect(nats.server.url)
    try:
        assert client.is_connected
        nats.kill(signal.SIGKILL)
        await until(lambda: not client.is_connected, "seen disconnected")
        nats.server.start_sync()
        await until(lambda: client.is_connected, "reconnected")
    finally:
        await client.close()
    assert not client.is_connected


async def until(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not {what} within {seconds:g} s"
        await asyncio.sleep(0.02)
