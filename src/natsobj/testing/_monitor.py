"""What the test cluster's HTTP monitors say: health, the meta and stream leaders, and whether a
stream's replicas are in sync."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

from ._nodes import HTTP_TIMEOUT, NODES, ClusterError, Nodes


class MonitoredNodes(Nodes):
    """The nodes as their /healthz and /jsz monitors see them."""

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
