"""`natsobj verify`: re-read objects to check them, find (or purge) orphan chunks, and name
streams that break the bucket's reads."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click

import natsobj
from natsobj import ObjectInfo, OrphanChunks
from natsobj._options import parse_timeout

from ._common import App, Transfer
from ._render import (
    digest_hex,
    echo_json,
    human_size,
    link_target,
    replication_json,
    replication_rows,
    stale_origins,
)


@dataclass
class _Check:
    name: str
    status: str  # "ok", "failed" or "skipped"
    info: ObjectInfo | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "name": self.name,
            "status": self.status,
            "size": info.size if info else None,
            "chunks": info.chunks if info else None,
            "digest": info.digest if info else None,
            "digest_hex": digest_hex(info) if info else None,
            "error": self.error,
        }


@dataclass
class _Report:
    checks: list[_Check]
    orphans: OrphanChunks
    purged: int | None
    hazards: list[str]
    refused: str | None
    """Why --purge-orphans purged nothing (an origin that cannot be asked), or None."""
    replication: natsobj.Replication | None = None

    @property
    def kept(self) -> dict[str, dict[str, int]]:
        return {
            "at_origin": dict(self.orphans.at_origin),
            "unknown": dict(self.orphans.unknown),
            "recent": dict(self.orphans.recent),
        }


KEPT_WHY = {
    "at_origin": "kept: the origin still has it (an upload in flight there?)",
    "unknown": "kept: the origin cannot be asked",
    "recent": "kept: younger than --older-than",
}


async def _read_through(store: natsobj.ObjectStore, name: str, bar: Transfer) -> ObjectInfo:
    """Stream the object and drop the bytes: the reader checks size, chunks and digest."""
    async with store.open(name) as reader:
        async for chunk in reader:
            bar.advance(len(chunk))
        assert reader.info is not None
        return reader.info


@click.command("verify")
@click.argument("bucket")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--purge-orphans", is_flag=True, help="Remove the orphan chunks found.")
@click.option(
    "--older-than",
    default="10m",
    show_default=True,
    help="Only purge orphans whose newest chunk is older than this (spares uploads running).",
)
@click.option(
    "--allow-stale",
    is_flag=True,
    help="Do not fail a copy whose origin has not been heard from for over 10s (or at all "
    "since the copy's server started).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def verify(
    app: App,
    bucket: str,
    names: tuple[str, ...],
    purge_orphans: bool,
    older_than: str,
    allow_stale: bool,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Re-read objects (all, or NAME...) checking digest, size and chunk count; report
    orphan chunks (chunks no object points to, left by failed puts) and streams that break
    the bucket's reads (a same-domain transformed mirror with mirror_direct on).

    Exit code 1 if any object fails or a stream breaks reads, or if the bucket is a copy
    whose origin has not been heard from for over 10s, or at all since the copy's server
    started (unless --allow-stale: what was read may be behind the origin). Orphans alone
    do not fail the check. --purge-orphans removes only orphans older than --older-than
    (10m), so uploads in progress are spared. In a mirror, replica or aggregate it removes,
    whatever their age, only the orphans the origins confirm they no longer have (left by
    purges there, which never replicate), and purges nothing (exit 1) if an origin cannot be
    asked.

    \b
    Examples:
      natsobj verify media
      natsobj verify media photo.jpg --json
      natsobj verify media --purge-orphans --older-than 1h
      natsobj --js-domain hub verify media --purge-orphans     # a mirror of media@edge
    """
    min_age = _parse_age(older_than)

    async def go(client: natsobj.Client) -> _Report:
        store = await client.object_store(bucket)
        replication = (await store.status()).replication if store.kind else None
        checks = await _read_all(store, names, no_progress or as_json)
        orphans = await store.orphan_chunks(min_age=min_age)
        hazards = await store.read_hazards()
        purged, refused = None, None
        if purge_orphans:
            try:
                purged = await store.purge_orphans(min_age=min_age) if orphans.subjects else 0
            except natsobj.OriginUnreachableError as exc:
                refused = str(exc)
        return _Report(checks, orphans, purged, hazards, refused, replication)

    report = app.run(go)
    failed = sum(1 for c in report.checks if c.status == "failed")
    rep = report.replication
    stale = rep is not None and rep.stale and not allow_stale
    if as_json:
        echo_json(
            {
                "bucket": bucket,
                "ok": not (failed or report.hazards or report.refused or stale),
                "objects": [c.to_json() for c in report.checks],
                "failed": failed,
                "orphans": report.orphans.subjects,
                "removable": dict(report.orphans.removable),
                "kept": report.kept,
                "unreachable_origins": list(report.orphans.unreachable),
                "purged": report.purged,
                "purge_refused": report.refused,
                "read_hazards": report.hazards,
                "replication": replication_json(rep),
            }
        )
    else:
        _print_report(report, failed)
    if report.refused:
        click.echo(f"natsobj: error: {report.refused}", err=True)
    if stale:
        click.echo(
            f"natsobj: error: bucket {bucket!r} is stale (last contact with origin "
            f"{stale_origins(rep)}), so what was read may be behind it (--allow-stale accepts "
            "that)",
            err=True,
        )
    if failed or report.hazards or report.refused or stale:
        sys.exit(1)


async def _read_all(
    store: natsobj.ObjectStore, names: tuple[str, ...], quiet: bool
) -> list[_Check]:
    """Read every object (or NAME...) through; links are skipped, naming their target."""
    if names:
        todo: list[tuple[str, ObjectInfo | None]] = [(name, None) for name in names]
    else:
        todo = [(info.name, info) for info in await store.list()]
    total = None if names else sum(info.size for _, info in todo if info is not None)
    checks: list[_Check] = []
    with Transfer(enabled=not quiet, total=total) as bar:
        for name, listed in todo:
            if listed is not None and listed.is_link:
                target = link_target(listed)
                checks.append(_Check(name, "skipped", listed, f"link to {target}"))
                continue
            bar.describe(name)
            try:
                checks.append(_Check(name, "ok", await _read_through(store, name, bar)))
            except natsobj.ObjectStoreError as exc:
                checks.append(_Check(name, "failed", error=str(exc)))
    return checks


def _print_report(report: _Report, failed: int) -> None:
    for key, value in replication_rows(report.replication):
        click.echo(f"{key:>12}: {value}")
    for check in report.checks:
        info = check.info
        if check.status == "ok" and info is not None:
            detail = f"{human_size(info.size)}  SHA-256 {digest_hex(info)}"
        else:
            detail = check.error or ""
        click.echo(f"{check.status.upper():<7} {check.name}  {detail}")
    orphans = report.orphans.subjects
    if orphans:
        click.echo(
            f"orphan chunks: {sum(orphans.values())} messages on {len(orphans)} subjects "
            "no object points to"
        )
        why = {s: "" for s in report.orphans.removable}
        for kind, subjects in report.kept.items():
            why.update(dict.fromkeys(subjects, f"  ({KEPT_WHY[kind]})"))
        for subject, count in sorted(orphans.items()):
            click.echo(f"  {subject}  {count} chunks{why[subject]}")
        if report.purged is None and report.orphans.removable:
            click.echo("remove them with --purge-orphans")
    else:
        click.echo("orphan chunks: none")
    if report.purged:
        click.echo(f"purged {report.purged} orphan chunk messages")
    for hazard in report.hazards:
        click.echo(f"FAILED  {hazard}")
    ok = sum(1 for c in report.checks if c.status == "ok")
    click.echo(f"{ok} ok, {failed} failed")


def _parse_age(text: str) -> timedelta:
    """A duration like '10m' or '1h'; '0' means any age."""
    if text.strip() in ("0", "0s"):
        return timedelta(0)
    try:
        return timedelta(seconds=parse_timeout(text))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from exc
