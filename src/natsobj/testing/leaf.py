"""A real hub + leaf pair on 127.0.0.1: two nats-servers, two JetStream domains, one leafnode link.

The hub has JetStream domain ``hub`` and a leafnode listener; the leaf has domain ``leaf`` and
connects to it (one account, no auth, as in shared/spec/mirrors.md §4). Each server also has an
HTTP monitor, which is how readiness and the link are observed. Every signal goes to a PID we
spawned; ``stop_leaf()``/``start_leaf()`` make the origin of a hub mirror unreachable and back,
``stop_hub()``/``kill_hub()``/``start_hub()`` take the copies' side away and back.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from ._nodes import _server_bin, wait_until
from .cluster import ClusterError

__all__ = ["LeafPair"]

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 1.0
LOG_TAIL = 30
ROLES = ("hub", "leaf")


def _free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (free unless someone races for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kill_leftovers(procs: dict[str, subprocess.Popen[bytes] | None]) -> None:
    """Last resort when a LeafPair is collected or the interpreter exits without shutdown()."""
    for p in procs.values():
        if p is not None and p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=STOP_TIMEOUT)


class LeafPair:
    """A hub nats-server and a leaf node nats-server, each with its own JetStream domain.

    ``start()`` and ``shutdown()`` (or ``with LeafPair() as pair:``) bracket its life. Ports are
    picked once, so a restarted leaf comes back at the same URL with the same data.
    """

    def __init__(
        self,
        *,
        hub_domain: str = "hub",
        leaf_domain: str = "leaf",
        data_dir: Path | None = None,
        server_bin: str | None = None,
    ) -> None:
        self.domains = {"hub": hub_domain, "leaf": leaf_domain}
        self.data_dir = Path(
            data_dir if data_dir is not None else tempfile.mkdtemp(prefix="natsobj-leaf-")
        )
        self.server_bin = _server_bin(server_bin)
        self.ports = {
            "hub": _free_port(),
            "hub_leafnodes": _free_port(),
            "hub_http": _free_port(),
            "leaf": _free_port(),
            "leaf_http": _free_port(),
        }
        self._procs: dict[str, subprocess.Popen[bytes] | None] = dict.fromkeys(ROLES)
        self._finalizer = weakref.finalize(self, _kill_leftovers, self._procs)

    # ---- addresses --------------------------------------------------------------------------

    @property
    def hub_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['hub']}"

    @property
    def leaf_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['leaf']}"

    @property
    def hub_domain(self) -> str:
        return self.domains["hub"]

    @property
    def leaf_domain(self) -> str:
        return self.domains["leaf"]

    def log_path(self, role: str) -> Path:
        return self.data_dir / f"{role}.log"

    def pid(self, role: str) -> int | None:
        """PID of the hub or the leaf, or None if it is not running."""
        p = self._procs[role]
        return p.pid if p is not None and p.poll() is None else None

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the hub, then the leaf, and wait until the leafnode link is up."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._spawn("hub")
            self._wait(lambda: self._healthy("hub"), READY_TIMEOUT, "hub healthy")
            self.start_leaf()
        except ClusterError:
            self.shutdown()
            raise

    def stop_leaf(self) -> None:
        """SIGTERM the leaf and wait for it (SIGKILL after 10 s): the hub loses its origin."""
        self._stop("leaf")

    def start_leaf(self, timeout: float = READY_TIMEOUT) -> None:
        """Start the leaf (same port, same data) and wait until it is linked to the hub."""
        if self.pid("leaf") is not None:
            raise ClusterError("the leaf is already running; stop_leaf() first")
        self._spawn("leaf")
        self._wait(self._linked, timeout, "leaf healthy and linked to the hub")

    def pause_leaf(self) -> None:
        """SIGSTOP the leaf: it keeps its sockets but answers nothing and cannot relink, so a
        restarted hub cannot reach it (until ``resume_leaf()``)."""
        self._signal("leaf", signal.SIGSTOP)

    def resume_leaf(self) -> None:
        """SIGCONT the leaf after ``pause_leaf()``."""
        self._signal("leaf", signal.SIGCONT)

    def stop_hub(self) -> None:
        """SIGTERM the hub and wait for it (SIGKILL after 10 s): the leaf loses its link."""
        self._stop("hub")

    def kill_hub(self) -> None:
        """SIGKILL the hub (kill -9): no clean shutdown, so it recovers its streams on start."""
        self._stop("hub", signal.SIGKILL)

    def start_hub(self, timeout: float = READY_TIMEOUT, *, linked: bool = True) -> None:
        """Start the hub (same ports, same data) and wait until it is healthy, and, if `linked`,
        until the leaf has reconnected to it."""
        if self.pid("hub") is not None:
            raise ClusterError("the hub is already running; stop_hub() first")
        self._spawn("hub")
        self._wait(lambda: self._healthy("hub"), timeout, "hub healthy")
        if linked:
            self._wait(self._linked, timeout, "leaf linked to the restarted hub")

    def shutdown(self) -> None:
        """Stop both servers, leaf first."""
        self._stop("leaf")
        self._stop("hub")

    def remove_data(self) -> None:
        """Delete the data directory (after shutdown)."""
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LeafPair:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    # ---- introspection ----------------------------------------------------------------------

    def leaf_linked(self) -> bool | None:
        """True if the hub's monitor shows the leaf's link, False if it shows none, None if the
        monitor does not answer."""
        body = self._get_json("hub", "/leafz")
        return None if body is None else bool(body.get("leafnodes"))

    def stream_state(self, role: str, stream: str) -> dict[str, Any] | None:
        """The state (messages, bytes, last_seq, ...) of `stream` on the hub or the leaf, read
        from the HTTP monitor; None if that server does not hold it or does not answer."""
        body = self._get_json(role, "/jsz?accounts=true&streams=true")
        for acc in (body or {}).get("account_details") or []:
            for detail in acc.get("stream_detail") or []:
                if detail.get("name") == stream:
                    return dict(detail.get("state") or {})
        return None

    def wait_synced(
        self, hub_stream: str, leaf_stream: str, timeout: float = 20.0
    ) -> dict[str, Any]:
        """Wait until the hub's mirror `hub_stream` reaches the last sequence the leaf's
        `leaf_stream` had when called (a mirror keeps its origin's sequences, renamed or not);
        returns the leaf's state. Not for aggregates: their sequences are their own.

        Waiting for `lag == 0` would pass at once: lag counts only while connected.
        """
        origin = self.stream_state("leaf", leaf_stream)
        if origin is None:
            raise ClusterError(f"the leaf holds no stream {leaf_stream}")

        def caught_up() -> bool:
            here = self.stream_state("hub", hub_stream)
            return here is not None and int(here.get("last_seq") or 0) >= int(
                origin.get("last_seq") or 0
            )

        self._wait(caught_up, timeout, f"{hub_stream} on the hub caught up with {leaf_stream}")
        return origin

    # ---- internals --------------------------------------------------------------------------

    def _config(self, role: str) -> str:
        store = json.dumps(str(self.data_dir / f"{role}-store"))
        lines = [
            f"server_name: {role}",
            f"listen: 127.0.0.1:{self.ports[role]}",
            f"http: 127.0.0.1:{self.ports[role + '_http']}",
            f"jetstream {{ store_dir: {store}, domain: {self.domains[role]} }}",
        ]
        if role == "hub":
            lines.append(f"leafnodes {{ listen: 127.0.0.1:{self.ports['hub_leafnodes']} }}")
        else:
            url = f"nats-leaf://127.0.0.1:{self.ports['hub_leafnodes']}"
            # reconnect fast after the hub restarts (default 1 s)
            lines.append(f'leafnodes {{ reconnect: "0.2s", remotes: [ {{ url: "{url}" }} ] }}')
        return "\n".join(lines) + "\n"

    def _spawn(self, role: str) -> None:
        conf = self.data_dir / f"{role}.conf"
        conf.write_text(self._config(role))
        with open(self.log_path(role), "ab") as log:
            self._procs[role] = subprocess.Popen(
                [self.server_bin, "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _signal(self, role: str, sig: signal.Signals) -> None:
        p = self._procs[role]
        if p is None or p.poll() is not None:
            raise ClusterError(f"{role} is not running")
        p.send_signal(sig)

    def _stop(self, role: str, sig: signal.Signals = signal.SIGTERM) -> None:
        p = self._procs[role]
        if p is None:
            return
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(sig)
                p.send_signal(signal.SIGCONT)  # a paused process acts on it only once resumed
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        self._procs[role] = None

    def _get_json(self, role: str, path: str) -> dict[str, Any] | None:
        url = f"http://127.0.0.1:{self.ports[role + '_http']}{path}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as r:
                body = json.loads(r.read())
        except (OSError, ValueError, urllib.error.HTTPError):
            return None
        return body if isinstance(body, dict) else None

    def _healthy(self, role: str) -> bool:
        p = self._procs[role]
        if p is None or p.poll() is not None:
            code = None if p is None else p.returncode
            raise ClusterError(f"{role} is not running (exit code {code})")
        body = self._get_json(role, "/healthz")
        return body is not None and body.get("status") == "ok"

    def _linked(self) -> bool:
        return self._healthy("leaf") and self.leaf_linked() is True

    def _wait(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        wait_until(cond, timeout, what, self._tails)

    def _tails(self) -> str:
        parts = []
        for role in ROLES:
            try:
                lines = self.log_path(role).read_text(errors="replace").splitlines()[-LOG_TAIL:]
            except OSError:
                lines = ["<no log>"]
            parts.append(f"--- {role} {self.log_path(role)} ---\n" + "\n".join(lines))
        return "\n".join(parts)
