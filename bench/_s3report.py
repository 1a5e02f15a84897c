"""s3bench's results: every measurement by row and server, the goals of issue 14, and the
markdown table (median [min–max], ratios gateway/anchor, PASS/FAIL)."""

from __future__ import annotations

import os
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _s3servers import GATEWAY, MOTO, RCLONE

DIRECT = "direct"
COLUMNS = (GATEWAY, DIRECT, RCLONE, MOTO)
COLUMN_NAMES = {
    GATEWAY: "natsobj gateway",
    DIRECT: "natsobj direct",
    RCLONE: "rclone serve s3",
    MOTO: "moto server",
}
Series = dict[str, list[float]]
Verdict = Callable[["Report", Series], tuple[bool | None, str]]


@dataclass
class Row:
    title: str
    unit: str
    higher: bool  # a higher figure is better (rates); else lower (times, memory)
    goal: str
    verdict: Verdict | None


def med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def ratio_goal(other: str, at_least: float) -> Verdict:
    """gateway / `other` (rates) ≥ at_least."""

    def check(report: Report, s: Series) -> tuple[bool | None, str]:
        gw, ref = med(s.get(GATEWAY)), med(s.get(other))
        if gw is None or ref is None:
            return None, ""
        return gw / ref >= at_least, f"{gw / ref:.2f}× {COLUMN_NAMES[other]}"

    return check


def both(*checks: Verdict) -> Verdict:
    def check(report: Report, s: Series) -> tuple[bool | None, str]:
        results = [c(report, s) for c in checks]
        if any(ok is None for ok, _ in results):
            return None, ""
        return all(ok for ok, _ in results), ", ".join(text for _, text in results)

    return check


def below(limit: float) -> Verdict:
    def check(report: Report, s: Series) -> tuple[bool | None, str]:
        gw = med(s.get(GATEWAY))
        return (None, "") if gw is None else (gw < limit, "")

    return check


def range_goal(report: Report, s: Series) -> tuple[bool | None, str]:
    """Each range < 30 ms, and the three within 2× of each other."""
    values = [med(report.data[f"range-{k}"].get(GATEWAY)) for k in ("0", "mid", "end")]
    gw = med(s.get(GATEWAY))
    if gw is None or any(v is None for v in values):
        return None, ""
    spread = max(values) / min(values)  # type: ignore[type-var, operator]
    return gw < 30 and spread <= 2, f"spread {spread:.2f}×"


def upload_goal(report: Report, s: Series) -> tuple[bool | None, str]:
    gw, direct = med(s.get(GATEWAY)), med(s.get(DIRECT))
    if gw is None or direct is None:
        return None, ""
    return gw / direct >= 0.6, f"{gw / direct:.2f}× direct put"


def complete_goal(report: Report, s: Series) -> tuple[bool | None, str]:
    gw, copy = med(s.get(GATEWAY)), med(s.get(DIRECT))
    if gw is None or copy is None:
        return None, ""
    return gw / copy <= 1.5, f"{gw / copy:.2f}× the copy's time"


RSS_GOAL = "≤ 64 MiB over a fresh gateway"
ROWS = {
    "get": Row("GET {big} (curl, presigned URL; direct: store.open)", "MB/s", True,
               "≥ 80% direct, ≥ 1.3× rclone",
               both(ratio_goal(DIRECT, 0.8), ratio_goal(RCLONE, 1.3))),
    "put": Row("PUT {big} (curl -T, presigned URL; direct: store.put)", "MB/s", True,
               "≥ 70% direct, ≥ 1.2× rclone",
               both(ratio_goal(DIRECT, 0.7), ratio_goal(RCLONE, 1.2))),
    "range-0": Row("1 MiB range at offset 0 of {big} (boto3)", "ms", False, "< 30 ms, spread ≤ 2×",
                   range_goal),
    "range-mid": Row("1 MiB range in the middle", "ms", False, "< 30 ms, spread ≤ 2×",
                     range_goal),
    "range-end": Row("1 MiB range at the end", "ms", False, "< 30 ms, spread ≤ 2×", range_goal),
    "upload": Row("boto3 upload_file {big} (8 MiB parts, 10 threads; direct: store.put)",
                  "MB/s", True,
                  "≥ 60% direct put", upload_goal),
    "complete": Row("its CompleteMultipartUpload (direct: store.copy of {big})", "ms", False,
                    "≤ 1.5× copy", complete_goal),
    "small": Row("1 KiB PutObject, 16 boto3 threads", "obj/s", True, "≥ 1.5× rclone",
                 ratio_goal(RCLONE, 1.5)),
    "rss-put": Row("gateway RSS growth: PUT of {rss}", "MiB", False, RSS_GOAL,
                   below(64.0001)),
    "rss-get": Row("gateway RSS growth: GET of {rss}", "MiB", False, RSS_GOAL, below(64.0001)),
    "rss-parallel": Row("gateway RSS growth: 8 parallel GETs of {big}", "MiB", False,
                        RSS_GOAL, below(64.0001)),
    "rss-slow": Row("gateway RSS growth: a client reading {rss} at 20 MB/s", "MiB", False, RSS_GOAL,
                    below(64.0001)),
    "list-warm": Row("ListObjectsV2 page of 1000 keys (raw HTTP), warm", "ms", False,
                     "< 50 ms", below(50)),
    "list-cold": Row("the same page, first request after a gateway restart", "ms", False,
                     "< 1.5 s", below(1500)),
    "ls": Row("every key of the list bucket", "s", False, "< 10 s", below(10)),
    "pages": Row("every page of it over raw HTTP (the server's share of the row above)", "s",
                 False, "info", None),
}  # fmt: skip


class Report:
    def __init__(self, plan: Any) -> None:
        self.plan = plan
        self.data: dict[str, Series] = defaultdict(lambda: defaultdict(list))
        self.extra: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.notes: list[str] = []
        self.ls_client = "boto3"
        self.failed: dict[str, str] = {}

    def add(self, row: str, column: str, value: float, **extra: float) -> None:
        self.data[row][column].append(value)
        for key, v in extra.items():
            self.extra[row][f"{column}.{key}"].append(v)

    def fail(self, row: str, why: str) -> None:
        """The row fails whatever its figures say (a transfer broke off)."""
        self.failed[row] = why

    def note(self, text: str) -> None:
        self.notes.append(text)

    def verdict(self, key: str) -> tuple[str, str]:
        row = ROWS[key]
        if key in self.failed:
            return "**FAIL**", self.failed[key]
        if row.verdict is None:
            return "info", ""
        ok, text = row.verdict(self, self.data[key])
        if ok is None:
            return "incomplete", text
        return ("PASS" if ok else "**FAIL**") + (" (quick)" if self.plan.quick else ""), text

    def table(self) -> str:
        p = self.plan
        out = [
            f"\n## s3bench ({'--quick' if p.quick else 'full'}, {p.runs} run(s) per cell; big "
            f"object {p.big >> 20} MiB, RSS object {p.rss_big >> 20} MiB, list bucket "
            f"{p.list_count} objects; {os.cpu_count()} cores)\n",
            "| row | unit | " + " | ".join(f"{COLUMN_NAMES[c]} median [min–max]" for c in COLUMNS)
            + " | gateway/direct | gateway/rclone | gateway/moto | goal | result |",
            "|" + " --- |" * (2 + len(COLUMNS) + 5),
        ]  # fmt: skip
        for key, row in ROWS.items():
            series = self.data.get(key)
            if not series:
                continue
            title = row.title.format(rss=_size(p.rss_big), big=_size(p.big))
            if key == "ls":
                title += f" ({self.ls_client})"
            cells = [cell(series.get(c)) for c in COLUMNS]
            ratios = [self.ratio(row, series, c) for c in (DIRECT, RCLONE, MOTO)]
            result, why = self.verdict(key)
            out.append(
                f"| {title} | {row.unit} | " + " | ".join(cells + ratios)
                + f" | {row.goal} | {result}{': ' + why if why else ''} |"
            )  # fmt: skip
        out += self.info_lines()
        out += [f"- {n}" for n in self.notes]
        return "\n".join(out)

    def ratio(self, row: Row, series: Series, other: str) -> str:
        gw, ref = med(series.get(GATEWAY)), med(series.get(other))
        if not gw or not ref:
            return "—"
        return f"{gw / ref if row.higher else ref / gw:.2f}×"

    def info_lines(self) -> list[str]:
        lines = [
            "",
            "- ratios: gateway / anchor for rates; anchor / gateway for times (> 1× = the gateway"
            " is faster). Goals are judged on the medians. MB = 10^6 bytes.",
        ]
        cpu = []
        for row in ("get", "put"):
            for col in (GATEWAY, RCLONE, MOTO):
                v = med(self.extra[row].get(f"{col}.cpu"))
                rate = med(self.data[row].get(col))
                if v is not None and rate:
                    cost = v / rate * 1000  # CPU-seconds per GB
                    cpu.append(f"{row.upper()} {COLUMN_NAMES[col]} {v:.0%} ({cost:.1f} s/GB)")
        if cpu:
            lines.append(
                "- server CPU during the transfer (100% = one core; CPU-seconds per GB moved): "
                + ", ".join(cpu)
            )
        rates = [
            f"{k[4:]} {med(v[f'{GATEWAY}.rate']):.0f} MB/s"
            for k, v in self.extra.items()
            if k.startswith("rss-") and v.get(f"{GATEWAY}.rate")
        ]
        lines += self.client_lines()
        boto = med(self.extra["list-warm"].get(f"{GATEWAY}.boto3"))
        if boto is not None:
            lines.append(
                f"- the warm 1000-key page with boto3 (its XML parsing included): {boto:.0f} ms"
            )
        if rates:
            lines.append("- RSS rows' transfer rates (all clients together): " + ", ".join(rates))
        return lines

    def client_lines(self) -> list[str]:
        """The clients' own CPU beside the servers': small puts and the full listing."""
        lines = []
        small = []
        for col in (GATEWAY, RCLONE, MOTO):
            client = med(self.extra["small"].get(f"{col}.client_ms"))
            server = med(self.extra["small"].get(f"{col}.server_ms"))
            if client is not None and server is not None:
                small.append(f"{COLUMN_NAMES[col]} {client:.2f} + {server:.2f}")
        if small:
            lines.append(
                "- small puts, CPU-ms per put, the boto3 client + the server (the gateway: its "
                "process and nats-server's): " + ", ".join(small)
            )
        ls = []
        for col in (GATEWAY, RCLONE):
            cpu = med(self.extra["ls"].get(f"{col}.client_cpu"))
            if cpu is not None:
                per_page = cpu / max(1, self.plan.list_count / 1000) * 1000
                ls.append(f"{COLUMN_NAMES[col]} {cpu:.1f} s ({per_page:.0f} ms per 1000-key page)")
        if ls:
            lines.append(
                f"- {self.ls_client}: the client's own CPU-seconds (its start-up included): "
                + ", ".join(ls)
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan.__dict__,
            "data": {k: dict(v) for k, v in self.data.items()},
            "extra": {k: dict(v) for k, v in self.extra.items()},
            "verdicts": {k: self.verdict(k) for k in self.data if k in ROWS},
            "notes": self.notes,
        }


def cell(values: list[float] | None) -> str:
    if not values:
        return "—"
    fmt = (lambda v: f"{v:.1f}") if max(values) < 100 else (lambda v: f"{v:.0f}")
    m = statistics.median(values)
    if len(values) == 1:
        return fmt(m)
    return f"{fmt(m)} [{fmt(min(values))}–{fmt(max(values))}]"


def _size(n: int) -> str:
    return f"{n >> 30} GiB" if n >= 1 << 30 else f"{n >> 20} MiB"
