#!/usr/bin/env python3
"""objbench: natsobj vs nats-py's object store, side by side on the same embedded server.

    python bench/objbench.py [--quick] [--runs N] [--rows 1,3,ceil] [--json out.json]

Starts its own nats-server (file storage, temporary store dir) and, for the R3 row, a 3-node
cluster; generates random test files; runs every measurement in its own worker process
(`objbench.py --worker KIND --client natsobj|natspy|raw --url URL --params JSON`, one JSON line
out) so that each client's peak RSS is its own; measures the two ceilings with nats-py's raw
client in the same run; prints a markdown table with medians, min-max, ratios, fractions of
the ceilings, peak RSS and the goals of issue 4 with PASS/FAIL. MB = 10^6 bytes.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPT = Path(__file__).resolve()
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _workers import NATSOBJ, NATSPY, RAW, worker_main  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
MB = 1e6
BUCKET = "bench"
LIST_BUCKET = "benchlist"
R3_BUCKET = "benchr3"
STREAM = f"OBJ_{BUCKET}"
CEIL_SUBJECT = f"$O.{BUCKET}.C.ceiling"
PUB_WINDOW = 256
POOL_SIZE = 64 * MiB
NATSPY_MEM_CAP = 32 * MiB  # nats-py's get() into memory is quadratic: 188 s at 256 MiB
BASELINE = "baseline"  # the job key of a natsobj worker run from --baseline DIR
NAMES = {"natsobj": "natsobj", "natspy": "nats-py", "raw": "nats-py raw"}
JOB_NAMES = {
    "publish": "ceiling (a) raw publish",
    "ceil-push": "ceiling (b) push-consumer drain",
    "ceil-push-1m": "ceiling (b) push-consumer drain, 1 MiB reads",
    "ceil-direct": "ceiling (b) direct-get drain, 1 MiB reads",
    "ceil-push-1m-B": "ceiling (b) push-consumer drain, 1 MiB reads, size B",
    "publish-sha": "reference (a') raw publish + SHA-256",
    "ceil-sha": "reference (b') drain + SHA-256",
    "ceil-sha-file": "reference (b'') drain + SHA-256 + file",
    "ceil-sha-file-B": "reference (b'') drain + SHA-256 + file, size B",
}
DRAIN_KEYS = ("ceil-push", "ceil-push-1m", "ceil-direct")
# The goals' ceilings ("publish", "drain": the fastest drain of the first size; "drain-B": the
# same chunks as row 4), and the verifying references shown beside them: the same raw client
# also doing what every object-store client must (SHA-256 of every byte, and the file write).
CEILING_KEYS = {"publish": ("publish",), "drain": DRAIN_KEYS, "drain-B": ("ceil-push-1m-B",)}
REFERENCE_KEYS = ("publish-sha", "ceil-sha", "ceil-sha-file", "ceil-sha-file-B")
REFERENCE_NAMES = {
    "publish-sha": "(a')",
    "ceil-sha": "(b')",
    "ceil-sha-file": "(b'')",
    "ceil-sha-file-B": "(b'')",
}
TUNED_READ_BUFFER = 1 << 20
Job = tuple[str, str, str]  # (result key, worker kind, client)


def pair(kind: str) -> tuple[Job, Job]:
    """The same worker for natsobj then nats-py."""
    return ((NATSOBJ, kind, NATSOBJ), (NATSPY, kind, NATSPY))


ROW_ALIASES = {
    "put": "1",
    "put-big": "2",
    "get": "3",
    "sink": "3s",
    "get-big": "4",
    "mem": "5",
    "small": "6",
    "concurrent": "7",
    "list": "8",
    "range": "9",
    "r3": "10",
    "rss": "11",
    "overwrite": "12",
    "overwrite-64": "13",
    "ceil": "ceil",
}
ALL_ROWS = ["ceil", "1", "2", "3", "3s", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"]
TABLE_ORDER = [
    "1", "2", "3", "3s", "4", "5a", "5b", "6", "7", "7p", "8", "9", "10", "11", "12", "13", "13p"
]  # fmt: skip


def human(n: int) -> str:
    if n >= GiB and n % GiB == 0:
        return f"{n // GiB} GiB"
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


def mib(n: float) -> str:
    return f"{n / MiB:.0f} MiB"


# ---------------------------------------------------------------------------------------------
# the plan


@dataclass
class Plan:
    quick: bool
    runs: int
    size_a: int  # "256 MiB"
    size_b: int  # "1 GiB"
    mem_small: int
    mem_large: int
    small_count: int
    small_size: int
    conc_count: int
    conc_size: int
    concurrency: int
    overwrite_count: int  # row 12: sequential overwrites
    overwrite_many_count: int  # row 13: overwrites, `concurrency` at a time
    overwrite_size: int
    overwrite_reads: int  # names read back after the overwrites (all of their digests are checked)
    list_count: int
    range_length: int
    range_reads: int
    cluster: bool
    natspy_mem_large: bool

    @property
    def range_offset(self) -> int:
        return self.size_b // 2

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        quick = bool(args.quick)
        runs = args.runs or (1 if quick else 3)
        if quick:
            return cls(
                quick=True,
                runs=runs,
                size_a=32 * MiB,
                size_b=64 * MiB,
                mem_small=8 * MiB,
                mem_large=32 * MiB,
                small_count=200,
                small_size=4096,
                conc_count=1000,
                conc_size=1024,
                concurrency=64,
                overwrite_count=200,
                overwrite_many_count=1000,
                overwrite_size=4096,
                overwrite_reads=200,
                list_count=1000,
                range_length=1 * MiB,
                range_reads=11,
                cluster=bool(args.cluster),
                natspy_mem_large=bool(args.all),
            )
        return cls(
            quick=False,
            runs=runs,
            size_a=256 * MiB,
            size_b=1 * GiB,
            mem_small=32 * MiB,
            mem_large=256 * MiB,
            small_count=2000,
            small_size=4096,
            conc_count=10_000,
            conc_size=1024,
            concurrency=64,
            overwrite_count=500,
            overwrite_many_count=5000,
            overwrite_size=4096,
            overwrite_reads=500,
            list_count=10_000,
            range_length=1 * MiB,
            range_reads=11,
            cluster=not args.no_cluster,
            natspy_mem_large=bool(args.all),
        )


# ---------------------------------------------------------------------------------------------
# results


@dataclass
class Series:
    """The runs of one client on one row."""

    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    note: str | None = None  # e.g. why it was skipped

    def values(self, unit: str) -> list[float]:
        return [value_of(r, unit) for r in self.results]

    def median(self, unit: str) -> float | None:
        vals = self.values(unit)
        return statistics.median(vals) if vals else None

    def rss_peak(self) -> int | None:
        """Median over the runs of the worker's peak RSS."""
        peaks = [r["rss_peak"] for r in self.results if r.get("rss_peak")]
        return int(statistics.median(peaks)) if peaks else None

    def rss_max(self) -> int | None:
        peaks = [r["rss_peak"] for r in self.results if r.get("rss_peak")]
        return max(peaks) if peaks else None

    def rss_cell(self) -> str:
        med, top = self.rss_peak(), self.rss_max()
        if med is None or top is None:
            return "—"
        return mib(med) if top - med < MiB else f"{mib(med)} (max {top / MiB:.0f})"

    def cpu_cell(self) -> str:
        """Median client / server CPU over the runs, as a share of one core."""
        if not self.results:
            return "—"
        shares = [cpu_shares(r) for r in self.results]
        client = statistics.median(c for c, _ in shares)
        servers = [s for _, s in shares if s is not None]
        if not servers:
            return f"{client:.0%}"
        return f"{client:.0%} / {statistics.median(servers):.0%}"

    def cpu_per_gb(self) -> tuple[float, float | None] | None:
        """Median CPU-seconds per 10^9 bytes moved: (client, server)."""
        moved = [r for r in self.results if r.get("bytes")]
        if not moved:
            return None
        client = statistics.median(r["cpu_client"] / r["bytes"] * 1e9 for r in moved)
        servers = [r["cpu_server"] / r["bytes"] * 1e9 for r in moved if r.get("cpu_server")]
        return client, (statistics.median(servers) if servers else None)

    def cell(self, unit: str) -> str:
        vals = self.values(unit)
        if not vals:
            if self.note:
                return self.note
            return f"error: {self.errors[0][:80]}" if self.errors else "—"
        med = statistics.median(vals)
        if len(vals) == 1:
            return fmt(med, unit)
        return f"{fmt(med, unit)} [{fmt(min(vals), unit)}–{fmt(max(vals), unit)}]"


def cpu_shares(result: dict[str, Any]) -> tuple[float, float | None]:
    """CPU time of the client process and of the server(s) as fractions of the wall time."""
    wall = max(result["seconds"], 1e-9)
    if result.get("worker") == "range":  # seconds is the median read; CPU covers all reads
        wall = max(sum(result.get("reads_seconds") or [wall]), 1e-9)
    server = result.get("cpu_server")
    return result.get("cpu_client", 0.0) / wall, (server / wall if server is not None else None)


def cpu_text(result: dict[str, Any]) -> str:
    client, server = cpu_shares(result)
    return f"client {client:.0%}" + (f" / server {server:.0%}" if server is not None else "")


def value_of(result: dict[str, Any], unit: str) -> float:
    seconds = max(result["seconds"], 1e-9)
    if unit == "MB/s":
        return result["bytes"] / seconds / MB
    if unit == "obj/s":
        return result["ops"] / seconds
    if unit == "ms":
        return seconds * 1e3
    raise ValueError(unit)


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


@dataclass
class Row:
    num: str
    title: str
    unit: str
    natsobj: Series = field(default_factory=Series)
    natspy: Series = field(default_factory=Series)
    baseline: Series = field(default_factory=Series)  # natsobj from --baseline DIR
    ceiling: str | None = None  # a key of CEILING_KEYS
    reference: str | None = None  # a key of REFERENCE_KEYS
    goal: str = ""
    verdict: str = ""
    notes: list[str] = field(default_factory=list)
    natsobj_cell: str | None = None  # overrides for derived rows
    natspy_cell: str | None = None

    def ratio(self, other: str = NATSPY) -> float | None:
        """natsobj against `other` (NATSPY or BASELINE): > 1 means natsobj is faster."""
        a, b = self.natsobj.median(self.unit), getattr(self, other).median(self.unit)
        if a is None or b is None or a <= 0 or b <= 0:
            return None
        return b / a if self.unit == "ms" else a / b


# ---------------------------------------------------------------------------------------------
# the run


class Bench:
    def __init__(self, args: argparse.Namespace, plan: Plan, tmp: Path) -> None:
        self.args = args
        self.plan = plan
        self.tmp = tmp
        self.urls: list[str] = []
        self.server_pids: list[int] = []
        self.rows: dict[str, Row] = {}
        self.ceilings: dict[str, Series] = {}
        self.files: dict[str, Path] = {}
        self.seeds: dict[str, dict[str, Any]] = {}
        self.pool: bytes | None = None
        self.revision = natsobj_revision()  # at the start: src may change while we run
        self.natsobj_file = natsobj_file()  # the copy every natsobj worker must load
        self.baseline: Path | None = Path(args.baseline).resolve() if args.baseline else None
        self.baseline_label, self.baseline_dirty = (
            baseline_revision(self.baseline) if self.baseline else ("", False)
        )
        self.t0 = time.monotonic()
        self.selected = set(args.rows)

    # -- plumbing

    def log(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def want(self, *rows: str) -> bool:
        return any(r in self.selected for r in rows)

    def jobs(self, kind: str) -> tuple[Job, ...]:
        """natsobj, the --baseline natsobj if any, nats-py: the same worker for each."""
        ours, theirs = pair(kind)
        if self.baseline is None:
            return (ours, theirs)
        return (ours, (BASELINE, kind, NATSOBJ), theirs)

    def natsobj_only(self, kind: str) -> tuple[Job, ...]:
        return tuple(job for job in self.jobs(kind) if job[2] == NATSOBJ)

    def who(self, key: str, client: str) -> str:
        if key == BASELINE:
            return f"natsobj {self.baseline_label} (baseline)"
        return JOB_NAMES.get(key, NAMES.get(client, client))

    def worker(
        self,
        kind: str,
        client: str,
        params: dict[str, Any],
        *,
        urls: list[str] | None = None,
        timeout: float = 300.0,
        profile: Path | None = None,
        pids: list[int] | None = None,
        baseline: bool = False,
    ) -> dict[str, Any]:
        """Run one worker process; its JSON result, or {"error": ...}.

        baseline=True: a natsobj worker that imports natsobj from --baseline DIR (DIR/src first
        on PYTHONPATH), checked by the natsobj.__file__ it reports."""
        params = {**params, "timeout": timeout - 5, "server_pids": pids or self.server_pids}
        env = None
        if baseline:
            assert self.baseline is not None and client == NATSOBJ
            paths = [str(self.baseline / "src"), os.environ.get("PYTHONPATH", "")]
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        cmd = [sys.executable]
        if profile is not None:
            cmd += ["-m", "cProfile", "-o", str(profile)]
        cmd += [
            str(SCRIPT),
            "--worker",
            kind,
            "--client",
            client,
            "--url",
            ",".join(urls or self.urls),
            "--params",
            json.dumps(params),
        ]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
            )
        except subprocess.TimeoutExpired:  # run() has killed the worker (its own child)
            return {"error": f"timed out after {timeout:.0f}s"}
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"error": f"exit {proc.returncode}: {tail[0]}"}
        result: dict[str, Any] = json.loads(lines[-1])
        if client == NATSOBJ:
            loaded = Path(result.get("natsobj_file") or "?")
            if baseline:
                assert self.baseline is not None
                if not loaded.is_relative_to(self.baseline):
                    return {
                        "error": f"baseline worker loaded {loaded}, not a file under "
                        f"{self.baseline}"
                    }
            elif str(loaded) != self.natsobj_file:
                return {"error": f"natsobj worker loaded {loaded}, not {self.natsobj_file}"}
        return result

    def series(
        self,
        label: str,
        unit: str,
        jobs: tuple[Job, ...],
        params: Callable[[int, str], dict[str, Any]],
        *,
        runs: int | None = None,
        urls: list[str] | None = None,
        pids: list[int] | None = None,
        timeout: float = 300.0,
    ) -> dict[str, Series]:
        """`runs` runs of each job, interleaved; the order flips every run to cancel drift."""
        out = {key: Series() for key, _, _ in jobs}
        runs = runs or self.plan.runs
        for run in range(runs):
            order = jobs if run % 2 == 0 else tuple(reversed(jobs))
            for key, kind, client in order:
                res = self.worker(
                    kind,
                    client,
                    params(run, key),
                    urls=urls,
                    pids=pids,
                    timeout=timeout,
                    baseline=key == BASELINE,
                )
                who = self.who(key, client)
                if "error" in res:
                    out[key].errors.append(res["error"])
                    self.log(f"{label} | {who} run {run + 1}: ERROR {res['error']}")
                    continue
                out[key].results.append(res)
                self.log(
                    f"{label} | {who} run {run + 1}: {fmt(value_of(res, unit), unit)} {unit}, "
                    f"peak RSS {mib(res['rss_peak'])}, CPU {cpu_text(res)}"
                )
        return out

    @staticmethod
    def timeout_for(nbytes: int, rate: float = 10 * MB) -> float:
        return 60.0 + nbytes / rate

    # -- setup

    def make_file(self, key: str, size: int) -> Path:
        """A file of `size` random bytes: 8 MiB blocks cut at varying offsets of a random pool.

        (os.urandom runs at ~180 MB/s here; neither client nor server compresses or
        deduplicates, so a 64 MiB pool of random bytes is as good as fresh randomness.)
        """
        if key in self.files:
            return self.files[key]
        if self.pool is None:
            self.pool = os.urandom(POOL_SIZE)
        path = self.tmp / f"data-{key}-{size}.bin"
        block = 8 * MiB
        view = memoryview(self.pool)
        with open(path, "wb") as fh:
            left, i = size, 0
            while left > 0:
                n = min(block, left)
                start = (i * 5_000_011 + len(key)) % (POOL_SIZE - block)
                fh.write(view[start : start + n])
                left -= n
                i += 1
        self.files[key] = path
        return path

    def prepare(self) -> None:
        p = self.plan
        need_a = self.want("ceil", "1", "3", "3s", "5", "10")
        need_b = self.want("2", "4", "9")
        need_m = self.want("5")
        t = time.monotonic()
        if need_a:
            self.make_file("A", p.size_a)
        if need_b:
            self.make_file("B", p.size_b)
        if need_m:
            self.make_file("M", p.mem_small)
        self.log(f"generated test files in {time.monotonic() - t:.1f}s")
        asyncio.run(self._seed(need_a, need_b, need_m))

    async def _seed(self, need_a: bool, need_b: bool, need_m: bool) -> None:
        import natsobj

        async with await natsobj.connect(self.urls) as client:
            store = await client.create_object_store(BUCKET)
            for key, needed in (("A", need_a), ("B", need_b), ("M", need_m)):
                if not needed:
                    continue
                t = time.monotonic()
                info = await store.put(f"seed-{key}", self.files[key])
                self.seeds[key] = {
                    "name": info.name,
                    "nuid": info.nuid,
                    "chunks": info.chunks,
                    "digest": digest_hex(info.digest),
                }
                self.log(f"seeded seed-{key} ({human(info.size)}) in {time.monotonic() - t:.1f}s")
            if self.want("8"):
                t = time.monotonic()
                lst = await client.create_object_store(LIST_BUCKET)
                sem = asyncio.Semaphore(64)
                payload = os.urandom(16)

                async def one(i: int) -> None:
                    async with sem:
                        await lst.put(f"obj-{i:05d}", payload)

                await asyncio.wait_for(
                    asyncio.gather(*(one(i) for i in range(self.plan.list_count))), 300
                )
                self.log(
                    f"seeded {self.plan.list_count} objects for list in {time.monotonic() - t:.1f}s"
                )

    # -- the rows

    def run_all(self) -> None:
        p = self.plan
        a, b = p.size_a, p.size_b

        def seed(key: str, size: int) -> Callable[[int, str], dict[str, Any]]:
            return lambda run, client: {
                "bucket": BUCKET,
                "name": f"seed-{key}",
                "size": size,
                "out": str(self.tmp / f"out-{client}-{run}.bin"),
            }

        def put(key: str, size: int, bucket: str = BUCKET) -> Callable[[int, str], dict[str, Any]]:
            return lambda run, client: {
                "bucket": bucket,
                "name": f"put-{key}-{client}-{run}",
                "file": str(self.files[key]),
                "size": size,
            }

        publish_jobs = (("publish", "ceil-publish", RAW), ("publish-sha", "ceil-publish", RAW))
        drain_jobs = (
            ("ceil-push", "ceil-push", RAW),
            ("ceil-push-1m", "ceil-push", RAW),
            ("ceil-direct", "ceil-direct", RAW),
            ("ceil-sha", "ceil-push", RAW),
            ("ceil-sha-file", "ceil-push", RAW),
        )
        drain_jobs_b = (("ceil-push-1m-B", "ceil-push", RAW), ("ceil-sha-file-B", "ceil-push", RAW))

        def ceiling_params(run: int, key: str) -> dict[str, Any] | None:
            if key.startswith("publish"):
                return {
                    "stream": STREAM,
                    "subject": CEIL_SUBJECT,
                    "file": str(self.files["A"]),
                    "size": a,
                    "window": PUB_WINDOW,
                    "verify": key == "publish-sha",
                }
            if key.startswith("ceil-"):
                seed_key, size = ("B", b) if key.endswith("-B") else ("A", a)
                seed = self.seeds[seed_key]
                params = {
                    "stream": STREAM,
                    "subject": f"$O.{BUCKET}.C.{seed['nuid']}",
                    "size": size,
                    "chunks": seed["chunks"],
                    # natsobj reads 1 MiB per socket read (nats-py: 32 KiB): the same here
                    "read_buffer": 0 if key == "ceil-push" else TUNED_READ_BUFFER,
                }
                if "-sha" in key:
                    params.update(verify=True, digest=seed["digest"])
                if "-file" in key:
                    params["out"] = str(self.tmp / f"out-{key}-{run}.bin")
                return params
            return None

        def with_ceilings(
            inner: Callable[[int, str], dict[str, Any]],
        ) -> Callable[[int, str], dict[str, Any]]:
            return lambda run, key: ceiling_params(run, key) or inner(run, key)

        def keep_ceilings(got: dict[str, Series]) -> None:
            for key in (*JOB_NAMES, *REFERENCE_KEYS):
                if key in got and key.startswith(("publish", "ceil-")):
                    self.ceilings[key] = got[key]

        # The ceilings run interleaved with rows 1 and 3 (same conditions), else on their own.
        if self.want("1"):
            row = self.add_row("1", f"put {human(a)} (file → bucket)", "MB/s", ceiling="publish")
            row.reference = "publish-sha"
            got = self.series(
                row.title,
                "MB/s",
                (*publish_jobs, *self.jobs("put")),
                with_ceilings(put("A", a)),
                timeout=self.timeout_for(a),
            )
            keep_ceilings(got)
            self.fill(row, got)
        elif self.want("ceil", "2"):
            keep_ceilings(
                self.series(
                    "ceiling (a)",
                    "MB/s",
                    publish_jobs,
                    with_ceilings(put("A", a)),
                    timeout=self.timeout_for(a),
                )
            )
        if self.want("2"):
            row = self.add_row("2", f"put {human(b)} (file → bucket)", "MB/s", ceiling="publish")
            row.reference = "publish-sha"
            self.fill(
                row,
                self.series(
                    row.title, "MB/s", self.jobs("put"), put("B", b), timeout=self.timeout_for(b)
                ),
            )
        if self.want("3"):
            row = self.add_row(
                "3", f"streamed get {human(a)} (bucket → file)", "MB/s", ceiling="drain"
            )
            row.reference = "ceil-sha-file"
            got = self.series(
                row.title,
                "MB/s",
                (*drain_jobs, *self.jobs("get")),
                with_ceilings(seed("A", a)),
                timeout=self.timeout_for(a, 5 * MB),
            )
            keep_ceilings(got)
            self.fill(row, got)
        elif self.want("ceil", "3s", "4"):
            keep_ceilings(
                self.series(
                    "ceiling (b)",
                    "MB/s",
                    drain_jobs,
                    with_ceilings(seed("A", a)),
                    timeout=self.timeout_for(a),
                )
            )
        if self.want("3s"):
            row = self.add_row(
                "3s", f"streamed get {human(a)} (bucket → sink, no disk)", "MB/s", ceiling="drain"
            )
            row.reference = "ceil-sha"
            self.fill(
                row,
                self.series(
                    row.title,
                    "MB/s",
                    self.jobs("get-sink"),
                    seed("A", a),
                    timeout=self.timeout_for(a, 5 * MB),
                ),
            )
        if self.want("4"):
            row = self.add_row(
                "4", f"streamed get {human(b)} (bucket → file)", "MB/s", ceiling="drain-B"
            )
            row.reference = "ceil-sha-file-B"
            got = self.series(
                row.title,
                "MB/s",
                (*drain_jobs_b, *self.jobs("get")),
                with_ceilings(seed("B", b)),
                timeout=self.timeout_for(b, 5 * MB),
            )
            keep_ceilings(got)
            self.fill(row, got)
        if self.want("5"):
            self.run_mem()
        if self.want("6"):
            row = self.add_row(
                "6", f"{p.small_count} sequential puts of {human(p.small_size)}", "obj/s"
            )
            self.fill(
                row,
                self.series(
                    row.title,
                    "obj/s",
                    self.jobs("small"),
                    lambda run, client: {
                        "bucket": f"small-{client}-{run}",
                        "count": p.small_count,
                        "size": p.small_size,
                    },
                    timeout=120 + p.small_count * 0.05,
                ),
            )
        if self.want("7"):
            conc = f"{p.conc_count} puts of {human(p.conc_size)}, {p.concurrency} concurrent"
            for num, api, how in (
                ("7", "put_many", f"natsobj put_many(concurrency={p.concurrency})"),
                ("7p", "put", "natsobj put() each"),
            ):
                row = self.add_row(
                    num, f"{conc} ({how}; nats-py put() each, gather + semaphore)", "obj/s"
                )
                self.fill(
                    row,
                    self.series(
                        row.title,
                        "obj/s",
                        self.jobs("concurrent"),
                        lambda run, client, api=api: {
                            "bucket": f"conc-{client}-{run}",
                            "count": p.conc_count,
                            "size": p.conc_size,
                            "concurrency": p.concurrency,
                            "api": api,
                        },
                        timeout=120 + p.conc_count * 0.05,
                    ),
                )
        if self.want("12"):
            self.run_overwrite("12", p.overwrite_count, 1, "put")
        if self.want("13"):
            self.run_overwrite("13", p.overwrite_many_count, p.concurrency, "put_many")
            self.run_overwrite("13p", p.overwrite_many_count, p.concurrency, "put")
        if self.want("8"):
            row = self.add_row("8", f"list of {p.list_count} objects", "ms")
            self.fill(
                row,
                self.series(
                    row.title,
                    "ms",
                    self.jobs("list"),
                    lambda run, client: {"bucket": LIST_BUCKET, "count": p.list_count},
                    timeout=120,
                ),
            )
        if self.want("9"):
            self.run_range()
        if self.want("10"):
            self.run_r3()
        if self.args.profile:
            self.run_profiles(Path(self.args.profile))

    def add_row(self, num: str, title: str, unit: str, ceiling: str | None = None) -> Row:
        row = Row(num, title, unit, ceiling=ceiling)
        self.rows[num] = row
        return row

    @staticmethod
    def fill(row: Row, series: dict[str, Series]) -> None:
        row.natsobj = series.get(NATSOBJ, Series())
        row.natspy = series.get(NATSPY, Series())
        row.baseline = series.get(BASELINE, Series())

    def run_mem(self) -> None:
        p = self.plan
        for num, key, size in (("5a", "M", p.mem_small), ("5b", "A", p.mem_large)):
            row = self.add_row(num, f"get into memory (bytes), {human(size)}", "MB/s")
            clients: tuple[str, ...] = (NATSOBJ, NATSPY)
            if size > NATSPY_MEM_CAP and not p.natspy_mem_large:
                clients = (NATSOBJ,)
            params = {"bucket": BUCKET, "name": f"seed-{key}", "size": size}
            slow_rate = 0.5 * MB if NATSPY in clients else 10 * MB  # nats-py is quadratic
            self.fill(
                row,
                self.series(
                    row.title,
                    "MB/s",
                    tuple(j for j in self.jobs("get-mem") if j[2] in clients),
                    lambda r, c, q=params: q,
                    timeout=self.timeout_for(size, slow_rate),
                ),
            )
            if NATSPY not in clients:
                est = 188 if size == 256 * MiB else 188 * (size / (256 * MiB)) ** 2
                row.natspy.note = f"skipped (quadratic, ~{est:.0f} s; --all runs it)"

    def run_overwrite(self, num: str, count: int, concurrency: int, api: str) -> None:
        """Rows 12, 13, 13p: overwrites of `count` names the worker put itself just before."""
        p = self.plan
        size = human(p.overwrite_size)
        if concurrency <= 1:
            title = f"{count} sequential overwrites of {size} (natsobj put(); nats-py put())"
        else:
            how = (
                f"natsobj put_many(concurrency={concurrency})"
                if api == "put_many"
                else "natsobj put() each"
            )
            title = (
                f"{count} overwrites of {size}, {concurrency} concurrent ({how}; nats-py put() "
                "each, gather + semaphore)"
            )
        row = self.add_row(num, title, "obj/s")
        self.fill(
            row,
            self.series(
                row.title,
                "obj/s",
                self.jobs("overwrite"),
                lambda run, client: {
                    "bucket": f"ow{num}-{client}-{run}",
                    "count": count,
                    "size": p.overwrite_size,
                    "concurrency": concurrency,
                    "api": api,
                    "verify_reads": p.overwrite_reads,
                },
                # the untimed first puts, the timed overwrites and the read-back checks
                timeout=120 + count * 0.15,
            ),
        )
        row.notes.append(
            f"each worker first puts the {count} names (untimed, the same way), then overwrites "
            f"each once; afterwards every name's info digest and {min(count, p.overwrite_reads)} "
            "read-backs show the new bytes, and the stream holds no chunk no object points to "
            "(natsobj also: orphan_chunk_subjects() == {})"
        )

    def run_range(self) -> None:
        p = self.plan
        row = self.add_row(
            "9",
            f"range read {human(p.range_length)} at {human(p.range_offset)} of {human(p.size_b)}",
            "ms",
        )
        params = {
            "bucket": BUCKET,
            "name": "seed-B",
            "file": str(self.files["B"]),
            "offset": p.range_offset,
            "length": p.range_length,
            "reads": p.range_reads,
        }
        self.fill(
            row,
            self.series(
                row.title, "ms", self.natsobj_only("range"), lambda r, c: params, timeout=120
            ),
        )
        # nats-py has no range read: it must fetch the whole object (its streamed get).
        full = self.rows.get("4")
        if full is not None and full.natspy.results:
            row.natspy = full.natspy
            row.notes.append("nats-py: the whole-object streamed get of row 4 (no range read)")
        else:
            row.natspy = self.series(
                "full get for range",
                "MB/s",
                pair("get")[1:],
                lambda run, client: {
                    "bucket": BUCKET,
                    "name": "seed-B",
                    "size": p.size_b,
                    "out": str(self.tmp / f"out-range-{run}.bin"),
                },
                timeout=self.timeout_for(p.size_b, 5 * MB),
            )[NATSPY]
            row.notes.append("nats-py: whole-object streamed get (no range read)")

    def run_r3(self) -> None:
        p = self.plan
        if not p.cluster:
            self.log("R3 row skipped (--quick without --cluster, or --no-cluster)")
            return
        try:
            from natsobj.testing import Cluster  # its public name
        except ImportError:  # natsobj up to 370c782 has it in natsobj.testing.cluster only
            from natsobj.testing.cluster import Cluster

        cluster = Cluster(data_dir=self.tmp / "cluster", name="objbench")
        t = time.monotonic()
        cluster.start()
        self.log(f"3-node cluster up in {time.monotonic() - t:.1f}s: {', '.join(cluster.urls)}")
        try:
            asyncio.run(self._create_r3(cluster.urls))
            row = self.add_row(
                "10", f"put {human(p.size_a)} into an R3 bucket (3-node cluster)", "MB/s"
            )
            self.fill(
                row,
                self.series(
                    row.title,
                    "MB/s",
                    self.jobs("put"),
                    lambda run, client: {
                        "bucket": R3_BUCKET,
                        "name": f"r3-{client}-{run}",
                        "file": str(self.files["A"]),
                        "size": p.size_a,
                    },
                    urls=cluster.urls,
                    pids=[pid for pid in (cluster.pid(i) for i in range(3)) if pid],
                    timeout=self.timeout_for(p.size_a, 3 * MB),
                ),
            )
        finally:
            cluster.shutdown()
            self.log("cluster stopped")

    async def _create_r3(self, urls: list[str]) -> None:
        import natsobj

        async with await natsobj.connect(urls) as client:
            await client.create_object_store(R3_BUCKET, replicas=3)

    def run_profiles(self, where: Path) -> None:
        """Extra natsobj runs of the selected rows under cProfile, after (and not part of) the
        measurements: put, streamed get to file and to a sink of the first size, and the
        small-object and list rows. Main thread only: cProfile does not see helper threads."""
        import io
        import pstats

        p = self.plan
        where.mkdir(parents=True, exist_ok=True)
        a = p.size_a
        jobs: list[tuple[str, str, dict[str, Any]]] = []
        if "A" in self.files and self.want("1"):
            put = {"bucket": BUCKET, "name": "put-profile", "file": str(self.files["A"]), "size": a}
            jobs.append(("put", "MB/s", put))
        if "A" in self.seeds and self.want("3"):
            get = {"bucket": BUCKET, "name": "seed-A", "size": a}
            jobs.append(("get", "MB/s", {**get, "out": str(self.tmp / "out-profile.bin")}))
            jobs.append(("get-sink", "MB/s", get))
        if self.want("6"):
            small = {"bucket": "small-profile", "count": p.small_count, "size": p.small_size}
            jobs.append(("small", "obj/s", small))
        if self.want("7"):
            conc = {
                "bucket": "conc-profile",
                "count": p.conc_count,
                "size": p.conc_size,
                "concurrency": p.concurrency,
                "api": "put_many",
            }
            jobs.append(("concurrent", "obj/s", conc))
        if self.want("8"):
            jobs.append(("list", "ms", {"bucket": LIST_BUCKET, "count": p.list_count}))
        for kind, unit, params in jobs:
            prof = where / f"natsobj-{kind}.prof"
            res = self.worker(kind, NATSOBJ, params, timeout=self.timeout_for(a), profile=prof)
            if "error" in res:
                self.log(f"profile {kind}: ERROR {res['error']}")
                continue
            text = io.StringIO()
            stats = pstats.Stats(str(prof), stream=text)
            stats.sort_stats("cumulative").print_stats(40)
            stats.sort_stats("tottime").print_stats(30)
            (where / f"natsobj-{kind}.txt").write_text(text.getvalue())
            self.log(
                f"profiled natsobj {kind}: {fmt(value_of(res, unit), unit)} {unit} under "
                f"cProfile -> {where / f'natsobj-{kind}.txt'}"
            )

    # -- verdicts and output

    def ceiling_rate(self, which: str, best: bool = False) -> float | None:
        """Median rate of a ceiling of CEILING_KEYS (the fastest of its kinds), or of a reference.

        best=True: the fastest single run instead of the median (a stricter yardstick: noise
        only ever slows a run down)."""
        keys = CEILING_KEYS.get(which, (which,))
        rates = []
        for key in keys:
            series = self.ceilings.get(key)
            if series is None or not series.results:
                continue
            vals = series.values("MB/s")
            rates.append(max(vals) if best else statistics.median(vals))
        return max(rates) if rates else None

    def judge(self) -> None:
        p = self.plan
        for row in self.rows.values():
            ratio = row.ratio()
            frac = None
            if row.ceiling:
                c = self.ceiling_rate(row.ceiling)
                m = row.natsobj.median(row.unit)
                frac = m / c if c and m else None
            if row.num in ("1", "2"):
                row.goal = "≥2× nats-py, ≥85% of raw publish"
                row.verdict = verdict(
                    ratio is not None and ratio >= 2, frac is not None and frac >= 0.85, ratio, frac
                )
            elif row.num in ("3", "3s", "4"):
                row.goal = "≥6× nats-py, ≥85% of bare drain"
                row.verdict = verdict(
                    ratio is not None and ratio >= 6, frac is not None and frac >= 0.85, ratio, frac
                )
            elif row.num in ("6", "7"):
                row.goal = "≥3× nats-py"
                row.verdict = verdict(ratio is not None and ratio >= 3, True, ratio)
            elif row.num == "7p":
                row.goal = "(info; row 7 is the goal)"
                row.verdict = "info"
            elif row.num in ("12", "13", "13p"):
                row.goal = "(info: no goal yet)"
                row.verdict = "info"
                failed = [
                    who
                    for who, s in (
                        ("natsobj", row.natsobj),
                        ("nats-py", row.natspy),
                        (self.baseline_label, row.baseline),
                    )
                    if s.errors
                ]
                if failed:  # a failed check (wrong bytes, orphan chunks) must not go unseen
                    row.verdict = f"FAIL: {', '.join(failed)} failed a run (see notes)"
            elif row.num == "8":
                row.goal = "≥2× faster than nats-py"
                row.verdict = verdict(ratio is not None and ratio >= 2, True, ratio)
            elif row.num == "10":
                row.goal = "≥2× nats-py"
                row.verdict = verdict(ratio is not None and ratio >= 2, True, ratio)
            elif row.num == "9":
                row.goal = "(none in the issue)"
                row.verdict = "info"
            elif row.num == "5a":
                row.goal = "(see 5b)"
                row.verdict = "info"
        for row in self.rows.values():
            for who, series in (
                ("natsobj", row.natsobj),
                ("nats-py", row.natspy),
                (f"baseline {self.baseline_label}", row.baseline),
            ):
                row.notes.extend(f"{who} run failed: {err}" for err in series.errors)
        self.judge_mem()
        if self.want("11"):
            self.judge_rss()
        if p.quick:
            for row in self.rows.values():
                if row.verdict in ("PASS", "FAIL"):
                    row.verdict += " (quick)"

    def judge_mem(self) -> None:
        small, large = self.rows.get("5a"), self.rows.get("5b")
        streamed = self.rows.get("3") or self.rows.get("3s")
        if large is None:
            return
        rate_l = large.natsobj.median("MB/s")
        rate_s = small.natsobj.median("MB/s") if small else None
        rate_st = streamed.natsobj.median("MB/s") if streamed else None
        peak = large.natsobj.rss_peak()
        size = self.plan.mem_large
        checks = []
        if rate_l and rate_s:
            lin = rate_l / rate_s
            large.notes.append(
                f"linearity: rate at {human(size)} / rate at "
                f"{human(self.plan.mem_small)} = {lin:.2f}"
            )
            checks.append(lin >= 0.75)
        if rate_l and rate_st:
            f = rate_l / rate_st
            large.notes.append(f"get-into-bytes / streamed get (row {streamed.num}) = {f:.0%}")
            checks.append(f >= 0.8)
        if peak:
            r = peak / size
            bases = [res["rss_base"] for res in large.natsobj.results]
            growth = (peak - min(bases)) / size
            large.notes.append(
                f"peak RSS / object size = {r:.2f} (growth over the worker's RSS before the get: "
                f"{growth:.2f}× the size)"
            )
            checks.append(r < 1.3)
        large.goal = "linear (≥0.75), ≥80% of streamed, peak RSS <1.3× size"
        large.verdict = ("PASS" if all(checks) else "FAIL") if len(checks) == 3 else "incomplete"

    def judge_rss(self) -> None:
        peaks = {
            k: (self.rows[k].natsobj.rss_peak() if k in self.rows else None)
            for k in ("1", "2", "3", "4")
        }
        row = self.add_row(
            "11",
            f"natsobj peak RSS, {human(self.plan.size_a)} vs "
            f"{human(self.plan.size_b)} (file → bucket → file)",
            "MiB",
        )

        def cell(attr: str) -> str:
            parts = []
            for label, ka, kb in (("put", "1", "2"), ("get", "3", "4")):
                med = [
                    getattr(self.rows[k], attr).rss_peak() if k in self.rows else None
                    for k in (ka, kb)
                ]
                top = [
                    getattr(self.rows[k], attr).rss_max() if k in self.rows else None
                    for k in (ka, kb)
                ]
                parts.append(
                    f"{label}: "
                    + " / ".join(f"{v / MiB:.0f}" if v else "—" for v in med)
                    + " MiB (max "
                    + " / ".join(f"{v / MiB:.0f}" if v else "—" for v in top)
                    + ")"
                )
            return "; ".join(parts)

        row.natsobj_cell = cell("natsobj")
        row.natspy_cell = cell("natspy")
        row.notes.append("medians over the runs of each worker's peak RSS (max in brackets)")
        row.goal = (
            f"<100 MiB at {human(self.plan.size_b)}; {human(self.plan.size_a)} and "
            f"{human(self.plan.size_b)} within 10%"
        )
        if any(v is None for v in peaks.values()):
            row.verdict = "incomplete"
            return
        ok_abs = all(peaks[k] < 100 * MiB for k in ("2", "4"))  # type: ignore[operator]
        ok_flat = all(
            abs(peaks[kb] / peaks[ka] - 1) <= 0.10  # type: ignore[operator]
            for ka, kb in (("1", "2"), ("3", "4"))
        )
        row.verdict = "PASS" if ok_abs and ok_flat else "FAIL"

    def table(self) -> str:
        p = self.plan
        out = []
        mode = "quick" if p.quick else "full"
        out.append(f"## objbench ({mode} run, {p.runs} run(s) per cell, MB = 10^6 B)\n")
        out.append(
            f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
            f"{server_version()} · loopback, file storage, each client in its own process\n"
        )
        out.append(f"natsobj {self.revision} · nats-py {package_version('nats-py')}\n")
        if self.baseline is not None:
            dirty = " + uncommitted changes in src" if self.baseline_dirty else ""
            out.append(
                f"baseline {self.baseline_label}{dirty}: natsobj from {self.baseline / 'src'} "
                "(same venv, same worker code), interleaved with the others\n"
            )
        out.append("### Ceilings (nats-py raw client, same server, same run)\n")
        out.append("| ceiling | median [min–max] | peak RSS | CPU client / server |")
        out.append("| --- | --- | --- | --- |")
        labels = {
            "publish": f"(a) pipelined JetStream publish, 128 KiB msgs, {PUB_WINDOW} in flight, "
            f"{human(p.size_a)}",
            "ceil-push": f"(b) push consumer → plain callback counting bytes, {human(p.size_a)}, "
            "nats-py defaults (32 KiB socket reads)",
            "ceil-push-1m": "(b) the same with 1 MiB socket reads (the tuning natsobj applies to "
            "nats-py)",
            "ceil-direct": "(b) batched direct get (8 MiB batches, one in flight) → plain "
            "callback, 1 MiB socket reads",
            "ceil-push-1m-B": f"(b) push consumer, 1 MiB socket reads, the {human(p.size_b)} "
            "object (row 4's chunks)",
            "publish-sha": "reference (a'): (a) + SHA-256 of every chunk, as every put must",
            "ceil-sha": "reference (b'): (b) with 1 MiB reads + SHA-256 of every chunk, as every "
            "verifying get must",
            "ceil-sha-file": "reference (b''): (b') + each chunk written to a file",
            "ceil-sha-file-B": f"reference (b''): the same for the {human(p.size_b)} object",
        }
        for key, series in self.ceilings.items():
            out.append(
                f"| {labels[key]} | {series.cell('MB/s')} MB/s | {series.rss_cell()} | "
                f"{series.cpu_cell()} |"
            )
        drain = self.ceiling_rate("drain")
        if drain:
            out.append(
                f"\nDrain ceiling (b) used below = the fastest median of the {human(p.size_a)} "
                f"drains: {drain:.0f} MB/s; row 4 uses the drain of its own {human(p.size_b)} "
                "object. The references (a'), (b'), (b'') are not goals: they show what the "
                "SHA-256 every client must compute, and the file write, cost on this machine."
            )
        out.append("\n### natsobj vs nats-py\n")
        base = self.baseline_label
        columns = ["#", "row", "unit", "natsobj median [min–max]", "nats-py median [min–max]"]
        columns.append("natsobj/nats-py")
        if self.baseline is not None:
            columns += [f"{base} median [min–max]", f"natsobj/{base}"]
        columns += [
            "natsobj/ceiling",
            "peak RSS natsobj",
            "peak RSS nats-py",
            "CPU client / server: natsobj · nats-py",
            "goal",
            "result",
        ]
        out.append("| " + " | ".join(columns) + " |")
        out.append("|" + " --- |" * len(columns))
        order = TABLE_ORDER
        for num in order:
            row = self.rows.get(num)
            if row is None:
                continue
            ratio = row.ratio()
            frac = best = None
            if row.ceiling:
                c = self.ceiling_rate(row.ceiling)
                m = row.natsobj.median(row.unit)
                frac = m / c if c and m else None
                top = self.ceiling_rate(row.ceiling, best=True)
                best = m / top if top and m else None
            ref_text = ""
            if row.reference:
                r = self.ceiling_rate(row.reference)
                m = row.natsobj.median(row.unit)
                if r and m:
                    ref_text = f"; {m / r:.0%} of {REFERENCE_NAMES[row.reference]}"
            natspy_unit = row.unit
            natspy_cell = row.natspy_cell or row.natspy.cell(natspy_unit)
            if num == "9" and row.natspy.results:
                natspy_cell = row.natspy.cell("ms")
            baseline_cells = []
            if self.baseline is not None:
                vs_base = row.ratio(BASELINE)
                baseline_cells = [
                    row.baseline.cell(row.unit) if num != "11" else "—",
                    f"{vs_base:.2f}×" if vs_base else "—",
                ]
            out.append(
                "| "
                + " | ".join(
                    [
                        num,
                        row.title,
                        row.unit,
                        row.natsobj_cell or row.natsobj.cell(row.unit),
                        natspy_cell,
                        f"{ratio:.2f}×" if ratio else "—",
                        *baseline_cells,
                        frac_text(frac, best) + ref_text,
                        row.natsobj.rss_cell() if num != "11" else "—",
                        row.natspy.rss_cell() if num != "11" else "—",
                        f"{row.natsobj.cpu_cell()} · {row.natspy.cpu_cell()}"
                        if num != "11"
                        else "—",
                        row.goal,
                        f"**{row.verdict}**" if row.verdict.startswith("FAIL") else row.verdict,
                    ]
                )
                + " |"
            )
        out.extend(self.cpu_table())
        notes = [(num, n) for num in order if num in self.rows for n in self.rows[num].notes]
        if notes:
            out.append("")
            out.extend(f"- row {num}: {n}" for num, n in notes)
        out.append("")
        out.append(
            "- ratio = natsobj rate / nats-py rate (for ms rows: nats-py time / natsobj time); "
            "natsobj/ceiling: natsobj median vs the ceiling's median, put rows vs (a), get rows "
            "vs the fastest (b) of the same object; in brackets vs the ceiling's fastest run; "
            "after the semicolon vs the verifying reference (not a goal). The goals are judged "
            "on the medians."
        )
        if self.baseline is not None:
            out.append(
                f"- natsobj/{base} = natsobj rate / the baseline's rate (ms rows: its time / "
                "natsobj's): above 1× this tree is faster than the baseline commit."
            )
        out.append(
            "- peak RSS = VmHWM of the worker process (interpreter + client + transfer), median "
            "over the runs (max in brackets when it differs); each worker does one measurement."
        )
        out.append(
            "- CPU = CPU time (user + system, all threads) of the client worker and of the "
            "nats-server process(es) during the measured part, as a share of the wall time "
            "(100% = one core; the machine has "
            f"{os.cpu_count()}): a client near 100% is bound by its own CPU."
        )
        if p.quick:
            out.append(
                "- --quick: small sizes, so RSS goals and 85% ceilings are only indicative; "
                "verdicts are marked (quick)."
            )
        return "\n".join(out)

    def cpu_table(self) -> list[str]:
        """CPU-seconds per GB of client and server(s): what each transfer costs the machine."""
        cores = os.cpu_count() or 1
        lines = [
            "",
            "### CPU cost per GB moved (medians; CPU-seconds per 10^9 B)\n",
            f"If client and server overlapped perfectly, {cores} cores would cap a transfer at "
            f"{cores} / (client + server) GB/s.\n",
            "| transfer | client | server | client + server | cap on this machine |",
            "| --- | --- | --- | --- | --- |",
        ]
        entries: list[tuple[str, Series]] = [
            (JOB_NAMES.get(k, k), v) for k, v in self.ceilings.items()
        ]
        for num in ("1", "2", "3", "3s", "4", "5b", "10"):
            row = self.rows.get(num)
            if row is not None:
                entries += [(f"{num} {NAMES[c]}", getattr(row, c)) for c in (NATSOBJ, NATSPY)]
                if self.baseline is not None:
                    entries.append((f"{num} natsobj {self.baseline_label}", row.baseline))
        for label, series in entries:
            cost = series.cpu_per_gb()
            if cost is None:
                continue
            client, server = cost
            if server is None:
                lines.append(f"| {label} | {client:.2f} | — | — | — |")
                continue
            total = client + server
            lines.append(
                f"| {label} | {client:.2f} | {server:.2f} | {total:.2f} | "
                f"{cores / total * 1e3:.0f} MB/s |"
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        def ser(s: Series) -> dict[str, Any]:
            return {"results": s.results, "errors": s.errors, "note": s.note}

        return {
            "plan": self.plan.__dict__,
            "natsobj": self.revision,
            "baseline": (
                {
                    "dir": str(self.baseline),
                    "sha": self.baseline_label,
                    "dirty_src": self.baseline_dirty,
                }
                if self.baseline is not None
                else None
            ),
            "ceilings": {k: ser(v) for k, v in self.ceilings.items()},
            "rows": {
                num: {
                    "title": r.title,
                    "unit": r.unit,
                    "natsobj": ser(r.natsobj),
                    "natspy": ser(r.natspy),
                    "baseline": ser(r.baseline),
                    "natsobj_median": r.natsobj.median(r.unit) if r.unit != "MiB" else None,
                    "natspy_median": r.natspy.median(r.unit) if r.unit != "MiB" else None,
                    "ratio": r.ratio() if r.unit != "MiB" else None,
                    "baseline_median": r.baseline.median(r.unit) if r.unit != "MiB" else None,
                    "ratio_baseline": r.ratio(BASELINE) if r.unit != "MiB" else None,
                    "goal": r.goal,
                    "verdict": r.verdict,
                    "notes": r.notes,
                }
                for num, r in self.rows.items()
            },
            "seconds": time.monotonic() - self.t0,
        }


def digest_hex(digest: str) -> str:
    """`SHA-256=<base64url>` (an object's meta digest) as hex."""
    value = digest.split("=", 1)[1]
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()


def frac_text(frac: float | None, best: float | None) -> str:
    if not frac:
        return "—"
    return f"{frac:.0%}" + (f" ({best:.0%} of best run)" if best and best < frac - 0.005 else "")


def verdict(ok_ratio: bool, ok_ceiling: bool, ratio: float | None, frac: Any = 0.0) -> str:
    if ratio is None or frac is None:
        return "incomplete"
    return "PASS" if ok_ratio and ok_ceiling else "FAIL"


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def natsobj_revision() -> str:
    """The git commit natsobj was measured at, and whether src/ had uncommitted changes."""
    import natsobj

    src = Path(natsobj.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return natsobj.__version__
    return f"{natsobj.__version__} @ {head}" + (" + uncommitted changes in src" if dirty else "")


def natsobj_file() -> str:
    """The natsobj this process imports (the venv's): every natsobj worker must load it too."""
    import natsobj

    return str(Path(natsobj.__file__).resolve())


def check_baseline(where: Path) -> None:
    """--baseline DIR must be a natsobj checkout (repo root) that git can name."""
    if not (where / "src" / "natsobj" / "__init__.py").is_file():
        raise SystemExit(f"--baseline {where}: no src/natsobj/__init__.py (give a repo root)")
    if Path(natsobj_file()).is_relative_to(where):
        raise SystemExit(f"--baseline {where}: that is the natsobj this venv already imports")
    baseline_revision(where)


def baseline_revision(where: Path) -> tuple[str, bool]:
    """DIR's short git sha (the column's name) and whether its src/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise SystemExit(f"--baseline {where}: not a git checkout ({exc})") from exc
    return head, bool(dirty)


def server_version() -> str:
    try:
        from natsobj.server import find_server_binary

        out = subprocess.run(
            [find_server_binary(), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return out.stdout.strip() or "nats-server"
    except Exception:
        return "nats-server"


# ---------------------------------------------------------------------------------------------
# CLI


def parse_rows(text: str | None) -> list[str]:
    if not text:
        return list(ALL_ROWS)
    rows = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        key = ROW_ALIASES.get(item, item)
        if key not in ALL_ROWS:
            raise SystemExit(
                f"unknown row {item!r}: one of {', '.join(ALL_ROWS)} or {', '.join(ROW_ALIASES)}"
            )
        rows.append(key)
    if "11" in rows:  # peak RSS is read from the put and get rows
        rows += [r for r in ("1", "2", "3", "4") if r not in rows]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 run: under a minute")
    ap.add_argument("--runs", type=int, default=0, help="runs per cell (default 3; --quick 1)")
    ap.add_argument("--rows", help="comma-separated rows, e.g. 1,3,ceil or put,get,list")
    ap.add_argument("--json", help="write every measurement and verdict to this file")
    ap.add_argument(
        "--all",
        action="store_true",
        help="also run nats-py's quadratic get-into-memory at the large size",
    )
    ap.add_argument("--cluster", action="store_true", help="run the R3 row in --quick mode")
    ap.add_argument("--no-cluster", action="store_true", help="skip the R3 row")
    ap.add_argument(
        "--profile",
        metavar="DIR",
        help="also profile natsobj put/get of the first size with cProfile into DIR",
    )
    ap.add_argument(
        "--baseline",
        metavar="DIR",
        help="also run every natsobj row with the natsobj of DIR (a checkout of another commit, "
        "repo root), interleaved; adds its column and the ratio natsobj/baseline",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--client", default=NATSOBJ, help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.client, args.url or "", args.params)
    if args.runs < 0 or args.runs > 50:
        raise SystemExit("--runs must be between 1 and 50")
    args.rows = parse_rows(args.rows)
    if args.baseline:
        check_baseline(Path(args.baseline).resolve())
    plan = Plan.from_args(args)

    from natsobj.server import EmbeddedServer

    with tempfile.TemporaryDirectory(prefix="objbench-") as tmpname:
        tmp = Path(tmpname)
        bench = Bench(args, plan, tmp)
        server = EmbeddedServer(store_dir=tmp / "server")
        server.start_sync()
        bench.log(f"nats-server pid {server.pid} at {server.url}, store {tmp / 'server'}")
        try:
            bench.urls = [server.url]
            bench.server_pids = [server.pid] if server.pid else []
            bench.prepare()
            bench.run_all()
        finally:
            server.stop_sync()
            bench.log("server stopped")
        bench.judge()
        table = bench.table()
        bench.log(f"done in {time.monotonic() - bench.t0:.0f}s")
        print(table)
        if args.json:
            Path(args.json).write_text(json.dumps(bench.to_json(), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
