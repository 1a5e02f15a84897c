#!/usr/bin/env python3
"""s3bench: the natsobj S3 gateway beside natsobj's direct calls, rclone serve s3 and moto.

    python bench/s3bench.py [--quick] [--runs N] [--json out.json] [--only get,put,...]

Starts its own nats-server, a `natsobj s3 serve` process over it, `rclone serve s3` over a
temporary directory and moto's S3 server; writes random test files (in /dev/shm when it has
room); measures, run by run and interleaved (the order of the servers rotates every run),
curl GET and PUT on presigned URLs, 1 MiB ranges, boto3 upload_file, many small PutObjects,
and, for the gateway alone, its RSS under big and slow transfers and listings of a big bucket.
Prints a markdown table: median [min–max], ratios, and each goal of issue 14 with PASS/FAIL.
MB = 10^6 bytes. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _s3servers as servers  # noqa: E402
from _s3report import Report  # noqa: E402
from _s3servers import GATEWAY, MOTO, RCLONE, Target  # noqa: E402
from _s3workers import worker_main  # noqa: E402

MiB, GiB, MB = 1 << 20, 1 << 30, 1e6
BUCKET, LIST_BUCKET = "s3bench", "s3benchlist"
DIRECT = "direct"


@dataclass
class Plan:
    quick: bool
    runs: int
    big: int  # GET / PUT / range / upload_file object
    rss_big: int  # the RSS row's single PUT and GET
    rss_parallel: int  # parallel GETs of `big`
    slow_rate: int  # bytes/s of the slow reader
    slow_seconds: float
    range_length: int
    range_reads: int
    list_count: int
    list_warm: int
    part: int
    threads: int
    small_count: int
    small_threads: int
    small_size: int

    @classmethod
    def make(cls, quick: bool, runs: int) -> Plan:
        common = dict(
            rss_parallel=8, slow_rate=20 * 1000 * 1000, range_length=MiB, range_reads=11,
            list_warm=5, part=8 * MiB, threads=10, small_threads=16, small_size=1024,
        )  # fmt: skip
        if quick:
            return cls(
                quick=True, runs=runs or 1, big=64 * MiB, rss_big=256 * MiB, slow_seconds=4,
                list_count=5000, small_count=400, **common,  # type: ignore[arg-type]
            )  # fmt: skip
        return cls(
            quick=False, runs=runs or 3, big=GiB, rss_big=4 * GiB, slow_seconds=15,
            list_count=100_000, small_count=2000, **common,  # type: ignore[arg-type]
        )  # fmt: skip


def data_dir() -> str | None:
    """/dev/shm if it has room for the test files (and more), else the default tmp dir."""
    try:
        free = shutil.disk_usage("/dev/shm").free
    except OSError:
        return None
    return "/dev/shm" if free > 8 * GiB else None


def write_random(path: Path, size: int) -> None:
    block = os.urandom(8 * MiB)
    with path.open("wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)
            block = block[1:] + block[:1]  # not a repeating 8 MiB pattern


STEPS = ("get", "put", "range", "upload_file", "small", "rss", "listing")
"""The steps --only may pick (default: all)."""


class Bench:
    def __init__(
        self, plan: Plan, tmp: Path, data: Path, only: frozenset[str] = frozenset(STEPS)
    ) -> None:
        self.plan, self.tmp, self.data, self.only = plan, tmp, data, only
        self.report = Report(plan)
        self.t0 = time.monotonic()
        self.nats_url = ""
        self.targets: dict[str, Target] = {}
        self.clients: dict[str, Any] = {}
        self.big_file = data / "big.bin"
        self.rss_file = data / "rss.bin"

    def log(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=sys.stderr, flush=True)

    # -- processes --------------------------------------------------------------------------

    def worker(self, kind: str, params: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
        args = [sys.executable, str(HERE / "s3bench.py"), "--worker", kind]
        out = subprocess.run(
            [*args, "--params", json.dumps(params)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"worker {kind} failed: {out.stderr.strip()[-1500:]}")
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    def direct(self, op: str, **params: Any) -> dict[str, Any]:
        return self.worker("direct", {"op": op, "url": self.nats_url, "bucket": BUCKET, **params})

    def curl(self, url: str, *extra: str, timeout: float = 900) -> tuple[float, int, int]:
        """(seconds, bytes moved, curl's exit status) of one curl transfer."""
        fmt = "%{time_total} %{size_download} %{size_upload} %{http_code}"
        args = ["curl", "-sS", "-o", "/dev/null", "-H", "Expect:", "-w", fmt, *extra, url]
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        total, down, up, code = out.stdout.split()
        if out.returncode not in (0, 28) or code not in ("200", "206"):
            raise RuntimeError(f"curl {extra}: exit {out.returncode}, HTTP {code} {out.stderr}")
        return float(total), max(int(float(down)), int(float(up))), out.returncode

    def url(self, name: str, method: str, key: str, bucket: str = BUCKET) -> str:
        return servers.presign(self.clients[name], method, bucket, key)

    def start(self) -> None:
        from natsobj.server import EmbeddedServer

        self.nats = EmbeddedServer(store_dir=self.tmp / "nats")
        self.nats.start_sync()
        self.nats_url = self.nats.url
        made = [
            servers.gateway(self.nats_url, self.tmp),
            servers.rclone(self.tmp),
            servers.moto(self.tmp),
        ]
        for target in made:
            if target is None:
                continue
            target.start()
            self.targets[target.name] = target
            self.clients[target.name] = servers.s3_client(target.endpoint)
            self.log(f"{target.name} pid {target.pid} at {target.endpoint}")
        missing = {GATEWAY, RCLONE, MOTO} - set(self.targets)
        if missing:
            self.report.note(f"not installed, not measured: {', '.join(sorted(missing))}")

    def stop(self) -> None:
        for target in self.targets.values():
            target.stop()
        if getattr(self, "nats", None) is not None:
            self.nats.stop_sync()

    def order(self, run: int, names: list[str]) -> list[str]:
        """The servers in an order that rotates run by run."""
        k = run % len(names)
        return names[k:] + names[:k]

    # -- setup ------------------------------------------------------------------------------

    def prepare(self) -> None:
        p = self.plan
        write_random(self.big_file, p.big)
        if "rss" in self.only:
            write_random(self.rss_file, p.rss_big)
        self.log(f"test files in {self.data}: {p.big >> 20} MiB, {p.rss_big >> 20} MiB")
        for name, client in self.clients.items():
            client.create_bucket(Bucket=BUCKET)
            self.curl(self.url(name, "PUT", "src"), "-T", str(self.big_file))
        self.log("seeded the GET object on every server")
        if "listing" not in self.only:
            return
        res = self.worker(
            "direct",
            {"op": "fill", "url": self.nats_url, "bucket": LIST_BUCKET, "count": p.list_count,
             "size": 64},
        )  # fmt: skip
        self.log(f"filled {LIST_BUCKET}: {res['count']} objects in {res['seconds']:.1f}s")

    # -- rows, one run each -----------------------------------------------------------------

    def transfer(self, run: int, method: str) -> None:
        """curl GET / PUT of the big object on each server, beside natsobj's direct call."""
        row = method.lower()
        for name in self.order(run, [*self.targets, DIRECT]):
            if name == DIRECT:
                res = (
                    self.direct("get", name="src", size=self.plan.big)
                    if method == "GET"
                    else self.direct("put", name="put-direct", file=str(self.big_file))
                )
                self.report.add(row, DIRECT, res["bytes"] / res["seconds"] / MB)
                if method == "PUT" and "upload_file" in self.only:  # its goal: the same put
                    self.report.add("upload", DIRECT, res["bytes"] / res["seconds"] / MB)
                continue
            pid = self.targets[name].pid
            cpu0 = servers.cpu_seconds(pid)
            if method == "GET":
                seconds, moved, _ = self.curl(self.url(name, "GET", "src"))
            else:
                put = self.url(name, "PUT", "dst")
                seconds, moved, _ = self.curl(put, "-T", str(self.big_file))
            cpu = servers.cpu_seconds(pid) - cpu0
            if moved != self.plan.big:
                raise RuntimeError(f"{name} {method}: moved {moved} bytes")
            self.report.add(row, name, moved / seconds / MB, cpu=cpu / seconds)
            if method == "PUT":
                self.clients[name].delete_object(Bucket=BUCKET, Key="dst")

    def ranges(self, run: int) -> None:
        p = self.plan
        offsets = {"0": 0, "mid": p.big // 2, "end": p.big - p.range_length}
        for name in self.order(run, list(self.targets)):
            params = {"endpoint": self.targets[name].endpoint, "bucket": BUCKET, "key": "src"}
            res = self.worker(
                "range", {**params, "offsets": offsets, "length": p.range_length,
                          "reads": p.range_reads},
            )  # fmt: skip
            for label in offsets:
                self.report.add(f"range-{label}", name, res[label])

    def upload(self, run: int) -> None:
        """boto3 upload_file through the gateway and rclone, and natsobj's direct copy of the
        big object (what a Complete does: stream the staged parts into one object)."""
        p = self.plan
        names = [n for n in (GATEWAY, RCLONE) if n in self.targets]
        for which in self.order(run, [*names, DIRECT]):
            if which == DIRECT:
                res = self.direct("copy", name="src", new_name="copy-direct")
                self.report.add("complete", DIRECT, res["seconds"] * 1000)
                continue
            res = self.worker(
                "upload",
                {"endpoint": self.targets[which].endpoint, "bucket": BUCKET, "key": "up",
                 "file": str(self.big_file), "part": p.part, "threads": p.threads},
            )  # fmt: skip
            self.report.add("upload", which, res["bytes"] / res["seconds"] / MB)
            self.report.add("complete", which, res["complete"] * 1000)

    def small(self, run: int) -> None:
        p = self.plan
        for name in self.order(run, list(self.targets)):
            res = self.worker(
                "small",
                {"endpoint": self.targets[name].endpoint, "bucket": BUCKET, "count": p.small_count,
                 "size": p.small_size, "threads": p.small_threads, "prefix": f"small-{run}"},
            )  # fmt: skip
            self.report.add("small", name, res["rate"])

    def listing(self, run: int) -> None:
        """A restarted gateway's first 1000-key page (cold), then warm pages, then every key."""
        gw = self.targets[GATEWAY]
        gw.restart()
        params = {"endpoint": gw.endpoint, "bucket": LIST_BUCKET, "count": self.plan.list_count}
        res = self.worker("list", {**params, "warm_reads": self.plan.list_warm})
        self.report.add("list-cold", GATEWAY, res["first_ms"])
        self.report.add("list-warm", GATEWAY, res["warm_ms"], boto3=res["boto3_ms"])
        res = self.worker("ls", params)
        self.report.add("ls", GATEWAY, res["seconds"])
        self.report.ls_client = res["client"]
        res = self.worker("pages", params)
        self.report.add("pages", GATEWAY, res["seconds"])

    # -- gateway memory ---------------------------------------------------------------------

    def rss(self) -> None:
        """Gateway RSS across big, parallel and slow transfers (once, not per run): each case's
        peak against the RSS of a freshly started gateway that served one small GET and PUT."""
        p = self.plan
        gw = self.targets[GATEWAY]
        gw.restart()
        s3 = self.clients[GATEWAY]
        s3.put_object(Bucket=BUCKET, Key="rss-warm", Body=os.urandom(MiB))
        s3.get_object(Bucket=BUCKET, Key="src", Range=f"bytes=0-{MiB - 1}")["Body"].read()
        s3.delete_object(Bucket=BUCKET, Key="rss-warm")
        time.sleep(0.5)
        base = servers.proc_status(gw.pid, "VmRSS")
        self.report.note(
            f"gateway RSS after a restart and one small GET and PUT: {base / MiB:.0f} MiB"
        )
        put4 = self.url(GATEWAY, "PUT", "rss")
        get4 = self.url(GATEWAY, "GET", "rss")
        get1 = self.url(GATEWAY, "GET", "src")
        slow = ["--limit-rate", str(p.slow_rate), "--max-time", str(p.slow_seconds)]
        cases: list[tuple[str, list[tuple[str, list[str]]]]] = [
            ("rss-put", [(put4, ["-T", str(self.rss_file)])]),
            ("rss-get", [(get4, [])]),
            ("rss-parallel", [(get1, [])] * p.rss_parallel),
            ("rss-slow", [(get4, slow)]),
        ]
        for row, transfers in cases:
            peak, seconds, moved, failed = self.watch_rss(gw.pid, transfers)
            self.report.add(row, GATEWAY, (peak - base) / MiB, rate=moved / seconds / MB)
            if failed:
                self.report.fail(row, f"{len(failed)} of {len(transfers)} transfers failed")
                self.report.note(f"{row}: {len(failed)} transfers failed, e.g. {failed[0]}"[:600])
                said = [x for x in gw.log.read_text().splitlines() if "body stopped" in x]
                if said:
                    self.report.note(f"{row}: the gateway's log: {said[-1]}"[:600])
        s3.delete_object(Bucket=BUCKET, Key="rss")

    def watch_rss(
        self, pid: int, transfers: list[tuple[str, list[str]]]
    ) -> tuple[int, float, int, list[str]]:
        """(the gateway's peak RSS, seconds, bytes, errors) of curl transfers run together."""
        reset = servers.reset_peak(pid)
        peak = [servers.proc_status(pid, "VmRSS")]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], servers.proc_status(pid, "VmRSS"))

        results: list[tuple[float, int, int]] = []
        failed: list[str] = []

        def one(url: str, extra: list[str]) -> None:
            try:
                results.append(self.curl(url, *extra))
            except Exception as exc:
                failed.append(str(exc).strip())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=one, args=(u, e)) for u, e in transfers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(1800)
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        hwm = servers.proc_status(pid, "VmHWM") if reset else 0
        return max(peak[0], hwm), seconds, sum(r[1] for r in results), failed

    # -- the whole run ----------------------------------------------------------------------

    def run_all(self) -> None:
        steps = [
            ("GET", lambda r: self.transfer(r, "GET")),
            ("PUT", lambda r: self.transfer(r, "PUT")),
            ("range", self.ranges),
            ("upload_file", self.upload),
            ("small puts", self.small),
        ]
        steps = [(label, step) for label, step in steps if label.split()[0].lower() in self.only]
        for run in range(self.plan.runs):
            for label, step in steps:
                self.log(f"run {run + 1}/{self.plan.runs}: {label}")
                self.guarded(label, lambda step=step, run=run: step(run))
        if "rss" in self.only:
            self.log("gateway RSS")
            self.guarded("rss", self.rss)
        for run in range(self.plan.runs if "listing" in self.only else 0):
            self.log(f"run {run + 1}/{self.plan.runs}: listing")
            self.guarded("listing", lambda run=run: self.listing(run))

    def guarded(self, label: str, step: Any) -> None:
        try:
            step()
        except Exception as exc:
            self.log(f"{label} failed: {exc}")
            self.report.note(f"{label}: {exc}"[:400])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 run: under 2 minutes")
    ap.add_argument("--runs", type=int, default=0, help="runs per row (default 3; --quick 1)")
    ap.add_argument("--json", help="write every measurement and verdict to this file")
    ap.add_argument(
        "--only", help=f"run only these steps, comma-separated (of: {', '.join(STEPS)})"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.params)
    if not 0 <= args.runs <= 20:
        raise SystemExit("--runs must be between 1 and 20")
    if shutil.which("curl") is None:
        raise SystemExit("s3bench needs curl")
    only = frozenset(STEPS)
    if args.only:
        only = frozenset(s.strip().lower() for s in args.only.split(",") if s.strip())
        if not only <= set(STEPS):
            raise SystemExit(f"--only takes steps of: {', '.join(STEPS)}")
    plan = Plan.make(args.quick, args.runs)
    with (
        tempfile.TemporaryDirectory(prefix="s3bench-") as tmpname,
        tempfile.TemporaryDirectory(prefix="s3bench-data-", dir=data_dir()) as dataname,
    ):
        bench = Bench(plan, Path(tmpname), Path(dataname), only)
        try:
            bench.start()
            bench.prepare()
            bench.run_all()
        finally:
            bench.stop()
        bench.log("done")
        print(bench.report.table())
        if args.json:
            Path(args.json).write_text(json.dumps(bench.report.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
