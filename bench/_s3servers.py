"""The servers s3bench measures: the natsobj gateway (a `natsobj s3 serve` process over the
bench's own nats-server) and its anchors, `rclone serve s3` over a local directory and moto's
S3 server; each a process of its own on a free loopback port, with its PID for RSS readings.
Also presigned URLs and the /proc readings (RSS, peak RSS, CPU) of another process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCESS, SECRET = "AKIDS3BENCH", "s3bench-secret"
GATEWAY, RCLONE, MOTO = "natsobj", "rclone", "moto"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str | None:
    """An executable of this venv (rclone, moto_server, aws), else one on PATH."""
    here = VENV_BIN / name
    return str(here) if here.exists() else shutil.which(name)


@dataclass
class Target:
    """One S3 server process."""

    name: str
    args: list[str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 30.0) -> None:
        """Start on the same port as before (a restart) or a new free one; wait until it
        answers HTTP."""
        self.port = self.port or free_port()
        args = [a.replace("{port}", str(self.port)) for a in self.args]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.extra_env}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen within {timeout:.0f} s")

    def stop(self) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def spec(self) -> dict[str, Any]:
        """What a worker needs to reach it."""
        return {"name": self.name, "endpoint": self.endpoint, "pid": self.pid}


def gateway(nats_url: str, tmp: Path) -> Target:
    args = [sys.executable, "-c", "from natsobj.cli import main; main()", "-s", nats_url]
    args += ["s3", "serve", "--listen", "127.0.0.1:{port}", "--auth-key", f"{ACCESS},{SECRET}"]
    return Target(GATEWAY, args, tmp / "gateway.log")


def rclone(tmp: Path) -> Target | None:
    binary = tool("rclone")
    if binary is None:
        return None
    root = rclone_root(tmp)
    root.mkdir(exist_ok=True)
    args = [binary, "serve", "s3", "--addr", "127.0.0.1:{port}", "--auth-key"]
    args += [f"{ACCESS},{SECRET}", "--config", "/dev/null", str(root)]
    return Target(RCLONE, args, tmp / "rclone.log")


def rclone_root(tmp: Path) -> Path:
    """The directory rclone serves: each directory in it is a bucket."""
    return tmp / "rclone-root"


def moto(tmp: Path) -> Target | None:
    binary = tool("moto_server")
    if binary is None:
        return None
    args = [binary, "-H", "127.0.0.1", "-p", "{port}"]
    return Target(MOTO, args, tmp / "moto.log", extra_env={"TMPDIR": str(tmp)})


def s3_client(endpoint: str, threads: int = 10) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(10, threads),
            read_timeout=300,
        ),
    )


def presign(client: Any, method: str, bucket: str, key: str) -> str:
    op = {"GET": "get_object", "PUT": "put_object"}[method]
    return str(
        client.generate_presigned_url(op, Params={"Bucket": bucket, "Key": key}, ExpiresIn=7200)
    )


# ---------------------------------------------------------------------------------------------
# /proc of another process


def proc_status(pid: int, name: str) -> int:
    """`VmRSS` / `VmHWM` of a process, in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux clear_refs 5); False if refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return 0.0
