"""How the CLI shows things: human sizes and times, tables, key/value blocks, JSON views."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

import natsobj
from natsobj import ObjectInfo, ObjectStoreStatus

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(n: int | None) -> str:
    """1536 -> '1.5 KiB'."""
    if n is None:
        return "unlimited"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            if unit == "B" or value == int(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_time(moment: datetime | None) -> str:
    """Local time to the second, or '' when unknown."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def human_duration(delta: timedelta | float | None) -> str:
    """Go-style: 90061 s -> '25h1m1s'; None -> 'unlimited'."""
    if delta is None:
        return "unlimited"
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    whole, frac = divmod(seconds, 1)
    h, rest = divmod(int(whole), 3600)
    m, s = divmod(rest, 60)
    text = (f"{h}h" if h else "") + (f"{m}m" if h or m else "")
    sec = s + frac
    return text + (f"{sec:g}s" if sec or not text else "")


def iso_utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_GO_TIME = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE
)


def parse_go_time(text: object) -> datetime | None:
    """An RFC 3339 time as the server writes it (nanoseconds, 'Z'); None for Go's zero time.

    datetime.fromisoformat takes neither nine fractional digits nor 'Z' before Python 3.11.
    """
    m = _GO_TIME.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    whole, frac, zone = m.groups()
    micro = (frac or "").ljust(6, "0")[:6]
    offset = "+00:00" if zone.upper() == "Z" else zone
    try:
        moment = datetime.fromisoformat(f"{whole}.{micro}{offset}")
    except ValueError:  # matched the shape but is no date (month 13): show nothing
        return None
    return None if moment.year == 1 else moment


def bucket_created(status: ObjectStoreStatus) -> datetime | None:
    """When the bucket's stream was created."""
    return status.created


def bucket_last_update(status: ObjectStoreStatus) -> datetime | None:
    """When the bucket's last message was stored; None while it holds none."""
    state = status.stream_info.get("state") or {}
    if not state.get("messages"):
        return None
    return parse_go_time(state.get("last_ts"))


def digest_hex(info: ObjectInfo) -> str | None:
    """The hex SHA-256, or None when the digest is missing or not one we can read."""
    try:
        return info.digest_hex
    except natsobj.BadObjectMetaError:  # written by a foreign client: show the raw digest
        return None


def link_target(info: ObjectInfo) -> str | None:
    """'bucket/name' or 'bucket' (a bucket link) for links, else None."""
    link = info.link
    if link is None:
        return None
    return f"{link.bucket}/{link.name}" if link.name else link.bucket


# --- JSON views ---------------------------------------------------------------------------------


def object_json(info: ObjectInfo) -> dict[str, Any]:
    link = info.link
    return {
        "name": info.name,
        "bucket": info.bucket,
        "nuid": info.nuid,
        "size": info.size,
        "chunks": info.chunks,
        "chunk_size": info.chunk_size or None,
        "digest": info.digest,
        "digest_hex": digest_hex(info),
        "mtime": iso_utc(info.mtime),
        "deleted": info.deleted,
        "description": info.description,
        "headers": {k: list(v) for k, v in info.headers.items()},
        "metadata": dict(info.metadata),
        "link": None if link is None else {"bucket": link.bucket, "name": link.name},
        "revision": info.revision,
    }


def bucket_json(status: ObjectStoreStatus) -> dict[str, Any]:
    ttl = status.ttl.total_seconds() if status.ttl is not None else None
    return {
        "bucket": status.bucket,
        "description": status.description,
        "objects": status.objects,
        "size": status.size,
        "storage": status.storage,
        "replicas": status.replicas,
        "sealed": status.sealed,
        "ttl_seconds": ttl,
        "max_bytes": status.max_bytes,
        "compression": status.compression,
        "metadata": dict(status.metadata),
        "backing_store": status.backing_store,
        "stream": status.stream,
        "created": iso_utc(bucket_created(status)),
        "last_update": iso_utc(bucket_last_update(status)),
        "kind": status.replication.kind if status.replication else "bucket",
        "replication": replication_json(status.replication),
    }


def _origin_json(origin: natsobj.Origin) -> dict[str, Any]:
    return {
        "bucket": origin.bucket,
        "domain": origin.domain,
        "api": origin.api,
        "start_seq": origin.start_seq,
    }


def replication_json(rep: natsobj.Replication | None) -> dict[str, Any] | None:
    """What a copy copies from, with each origin's health (None for a plain bucket)."""
    if rep is None:
        return None
    return {
        "kind": rep.kind,
        "read_only": rep.read_only,
        "stale": rep.stale,
        "origins": [
            {
                **_origin_json(o.origin),
                "lag": o.lag,
                "last_contact_seconds": (
                    o.last_contact.total_seconds() if o.last_contact is not None else None
                ),
                "stale": o.stale,
                "error": o.error,
                "origin_last_seq": o.origin_last_seq,
            }
            for o in rep.origins
        ],
        "warnings": list(rep.warnings),
    }


def kind_label(status: ObjectStoreStatus) -> str:
    """'bucket', 'mirror of A@edge', 'replica of A' or 'aggregate of 2' (bucket ls)."""
    rep = status.replication
    if rep is None:
        return "bucket"
    if rep.kind == "aggregate":
        return f"aggregate of {len(rep.origins)}"
    first = rep.origins[0].origin.describe() if rep.origins else "?"
    return f"{rep.kind} of {first}"


def _seen(state: natsobj.OriginStatus) -> str:
    if state.last_contact is None:
        return "none since the server started"
    return f"{state.last_contact.total_seconds():.1f}s ago"


def _contact(state: natsobj.OriginStatus) -> str:
    return f"{_seen(state)} - STALE" if state.stale else _seen(state)


def _origin_seq(state: natsobj.OriginStatus) -> str:
    if state.origin_last_seq is None:
        return "unknown (the origin did not answer)"
    return str(state.origin_last_seq)


def stale_origins(rep: natsobj.Replication) -> str:
    """Each stale origin and its last contact: 'A@edge none since the server started' (right
    after the copy's server restarts) or 'A@edge 61.0s ago'."""
    return ", ".join(f"{o.origin.describe()} {_seen(o)}" for o in rep.origins if o.stale)


def replication_rows(rep: natsobj.Replication | None) -> list[tuple[str, str | None]]:
    """bucket info's Replication section: kind and origin, last contact, lag, error, warnings."""
    if rep is None:
        return []
    access = "read-only" if rep.read_only else "writable"
    rows: list[tuple[str, str | None]] = []
    for state in rep.origins:
        origin = state.origin
        where = f" in domain {origin.domain}" if origin.domain else ""
        api = f" ({origin.api})" if origin.api else ""
        rows += [
            ("Replication", f"{rep.kind} of {origin.bucket}{where}{api}, {access}"),
            ("Last contact", _contact(state)),
            ("Lag", f"{state.lag} messages" + (" (unknown while disconnected)" * state.stale)),
            ("Origin last seq", _origin_seq(state)),
            ("Error", state.error or "-"),
        ]
    if not rep.origins:
        rows.append(("Replication", f"{rep.kind}, {access}"))
    rows += [("Warning", w) for w in rep.warnings]
    return rows


def echo_json(value: Any, *, lines: bool = False) -> None:
    """Print JSON: indented, or compact on one line (JSON lines) and flushed."""
    text = json.dumps(value, ensure_ascii=False) if lines else json.dumps(value, indent=2)
    click.echo(text)
    if lines:
        sys.stdout.flush()


# --- human output ---------------------------------------------------------------------------


def _stdout() -> Console:
    # Piped output must not wrap at 80 columns: scripts cut and grep it.
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=100_000)
    return console


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: set[int]) -> None:
    """A simple table on stdout; cell text is shown literally (no rich markup)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    _stdout().print(table)


def print_fields(rows: Iterable[tuple[str, str | None]]) -> None:
    """Aligned 'Key: value' lines; rows whose value is None are left out."""
    shown = [(k, v) for k, v in rows if v is not None]
    width = max((len(k) for k, _ in shown), default=0)
    for key, value in shown:
        click.echo(f"{key:>{width}}: {value}")


def _mapping(values: Mapping[str, Any], sep: str = "=") -> str | None:
    if not values:
        return None
    parts = []
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        parts.extend(f"{key}{sep}{item}" for item in items)
    return ", ".join(parts)


def print_object(info: ObjectInfo) -> None:
    target = link_target(info)
    hex_digest = digest_hex(info)
    chunking = f"{info.chunks}"
    if info.chunk_size:
        chunking += f" of up to {human_size(info.chunk_size)}"
    print_fields(
        [
            ("Object", info.name),
            ("Bucket", info.bucket),
            ("Link to", target),
            ("Size", None if target else f"{human_size(info.size)} ({info.size} bytes)"),
            ("Chunks", None if target else chunking),
            ("Modified", human_time(info.mtime) or None),
            ("Revision", str(info.revision) if info.revision else None),
            ("NUID", info.nuid or None),
            ("Digest", info.digest),
            ("SHA-256", hex_digest),
            ("Description", info.description),
            ("Headers", _mapping(info.headers, ": ")),
            ("Metadata", _mapping(info.metadata)),
            ("Deleted", "yes" if info.deleted else None),
        ]
    )


def print_bucket(status: ObjectStoreStatus) -> None:
    print_fields(
        [
            ("Bucket", status.bucket),
            ("Description", status.description),
            ("Objects", str(status.objects)),
            ("Size", f"{human_size(status.size)} ({status.size} bytes)"),
            ("Storage", status.storage),
            ("Replicas", str(status.replicas)),
            ("TTL", human_duration(status.ttl)),
            ("Max bytes", human_size(status.max_bytes)),
            ("Compressed", "yes" if status.compression else "no"),
            ("Sealed", "yes" if status.sealed else "no"),
            ("Metadata", _mapping(status.metadata)),
            ("Backing store", f"{status.backing_store} (stream {status.stream})"),
            *replication_rows(status.replication),
        ]
    )


def object_line(info: ObjectInfo) -> str:
    """One line per object: name, size, hex digest (as sha256sum shows it)."""
    target = link_target(info)
    if target is not None:
        return f"{info.name} -> {target}"
    return f"{info.name}  {human_size(info.size)}  SHA-256 {digest_hex(info) or info.digest}"
