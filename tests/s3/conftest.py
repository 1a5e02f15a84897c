"""Fixtures for the S3 gateway: a real `natsobj s3 serve` process over the session's
nats-server, on a free loopback port, and boto3 clients signed as each of its identities."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from natsobj.server import EmbeddedServer

from ._tls import TlsFiles, make_tls_files

KEYS = [("AKIDNATSOBJ1", "secret-one"), ("AKIDNATSOBJ2", "secret-two")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Gateway:
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path
    ca: Path | None = None  # the CA to verify an HTTPS gateway with

    @property
    def verify(self) -> str | bool:
        """What boto3's `verify=` wants: the CA file over HTTPS."""
        return str(self.ca) if self.ca is not None else True

    def client(self, key: int = 0, region: str = "us-east-1", **config: object) -> object:
        access, secret = KEYS[key]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            verify=self.verify,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                **{"retries": {"max_attempts": 1, "mode": "standard"}, **config},  # type: ignore[arg-type]
            ),
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_gateway(
    server_url: str,
    tmp: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    keys: list[tuple[str, str]] | None = None,
) -> Gateway:
    port = free_port()
    log = tmp / f"gateway-{port}.log"
    args = [
        sys.executable,
        "-c",
        "from natsobj.cli import main; main()",
        "-s",
        server_url,
        "s3",
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
    ]
    for access, secret in KEYS if keys is None else keys:
        args += ["--auth-key", f"{access},{secret}"]
    args += list(extra)
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    scheme = "https" if "--tls-cert" in extra else "http"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited: {log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return Gateway(f"{scheme}://127.0.0.1:{port}", process, log)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the gateway did not listen within 20 s: {log.read_text()}")


def stop_gateway(gateway: Gateway) -> int:
    if gateway.process.poll() is None:
        gateway.process.send_signal(signal.SIGTERM)
        try:
            return gateway.process.wait(35)
        except subprocess.TimeoutExpired:
            gateway.process.kill()
            gateway.process.wait()
            return -9
    return gateway.process.returncode


@pytest.fixture(scope="session")
def gateway(server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(server.url, tmp_path_factory.mktemp("s3"))
    try:
        yield gw
    finally:
        stop_gateway(gw)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def gateway_tls(
    server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles
) -> Iterator[Gateway]:
    """The gateway over HTTPS, with a certificate from a throwaway CA (`gateway_tls.ca`)."""
    gw = start_gateway(
        server.url,
        tmp_path_factory.mktemp("s3tls"),
        "--tls-cert",
        str(tls_files.cert),
        "--tls-key",
        str(tls_files.key),
    )
    gw.ca = tls_files.ca
    try:
        yield gw
    finally:
        stop_gateway(gw)


@pytest.fixture
def s3(gateway: Gateway) -> object:
    return gateway.client()


@pytest.fixture
def bucket(s3: object) -> Iterator[str]:
    """A fresh S3 bucket, emptied and deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)  # type: ignore[attr-defined]
    try:
        yield name
    finally:
        paginator = s3.get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        for page in paginator.paginate(Bucket=name):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=item["Key"])  # type: ignore[attr-defined]
        s3.delete_bucket(Bucket=name)  # type: ignore[attr-defined]
