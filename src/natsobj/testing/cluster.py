"""A real 3-node JetStream cluster on 127.0.0.1 for tests and benchmarks, with fault injection.

Node i listens on base+3i (client), base+3i+1 (route) and base+3i+2 (HTTP monitor) and is named
``n<i>``. Everything is observed through the HTTP monitor and every signal goes to a PID we spawned.
See /work/shared/spec/cluster-testing.md for the timings behind the defaults.

The nodes as processes are in _nodes, what their monitors say in _monitor; here the cluster's
lifecycle and fault injection.
"""

from __future__ import annotations

import signal
from types import TracebackType

from ._monitor import MonitoredNodes

# The harness's constants stay importable from here (scripts/soak.py uses NODES).
from ._nodes import BLOCK as BLOCK
from ._nodes import DEFAULT_BASE as DEFAULT_BASE
from ._nodes import HTTP_TIMEOUT as HTTP_TIMEOUT
from ._nodes import LOG_TAIL as LOG_TAIL
from ._nodes import MAX_PORT as MAX_PORT
from ._nodes import NODES as NODES
from ._nodes import POLL as POLL
from ._nodes import PORTS_PER_NODE as PORTS_PER_NODE
from ._nodes import READY_TIMEOUT as READY_TIMEOUT
from ._nodes import STOP_TIMEOUT as STOP_TIMEOUT
from ._nodes import ClusterError, pick_base, taken_ports

__all__ = ["Cluster", "ClusterError"]


class Cluster(MonitoredNodes):
    """Three nats-server processes forming one JetStream cluster on loopback.

    ``start()`` and ``shutdown()`` (or ``with Cluster() as c:``) bracket its life. Faults are
    injected by node index; ``heal()`` undoes them all.
    """

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self, wipe: bool = True) -> None:
        """Spawn all nodes at once and wait until ready; raise ClusterError with log tails if not.

        Starting all nodes together matters: staggered starts split the first Raft vote and
        take 4-9 s instead of about 0.3 s.
        """
        if any(self.is_alive(i) for i in range(NODES)):
            raise ClusterError("cluster is already running; shutdown() first")
        taken = taken_ports(self.base_port)
        if taken and self._auto_base:
            self.base_port = pick_base()
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
