"""`natsobj verify`: re-read objects to check them, and find (or purge) orphan chunks."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click

import natsobj
from natsobj import ObjectInfo
from natsobj._options import parse_timeout

from ._common import App, Transfer
from ._render import digest_hex, echo_json, human_size, link_target


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
    orphans: dict[str, int]
    purged: int | None


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
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def verify(
    app: App,
    bucket: str,
    names: tuple[str, ...],
    purge_orphans: bool,
    older_than: str,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Re-read objects (all, or NAME...) checking digest, size and chunk count; report
    orphan chunks (chunks no object points to, left by failed puts).

    Exit code 1 if any object fails. Orphans alone do not fail the check. --purge-orphans
    removes only orphans older than --older-than (10m), so uploads in progress are spared.

    \b
    Examples:
      natsobj verify media
      natsobj verify media photo.jpg --json
      natsobj verify media --purge-orphans --older-than 1h
    """
    min_age = _parse_age(older_than)

    async def go(client: natsobj.Client) -> _Report:
        store = await client.object_store(bucket)
        if names:
            todo: list[tuple[str, ObjectInfo | None]] = [(name, None) for name in names]
        else:
            todo = [(info.name, info) for info in await store.list()]
        total = None if names else sum(info.size for _, info in todo if info is not None)
        checks: list[_Check] = []
        with Transfer(enabled=not no_progress and not as_json, total=total) as bar:
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
        orphans = await store.orphan_chunk_subjects()
        purged = None
        if purge_orphans:
            purged = await store.purge_orphans(min_age=min_age) if orphans else 0
        return _Report(checks, orphans, purged)

    report = app.run(go)
    failed = sum(1 for c in report.checks if c.status == "failed")
    if as_json:
        echo_json(
            {
                "bucket": bucket,
                "ok": failed == 0,
                "objects": [c.to_json() for c in report.checks],
                "failed": failed,
                "orphans": report.orphans,
                "purged": report.purged,
            }
        )
    else:
        _print_report(report, failed)
    if failed:
        sys.exit(1)


def _print_report(report: _Report, failed: int) -> None:
    for check in report.checks:
        info = check.info
        if check.status == "ok" and info is not None:
            detail = f"{human_size(info.size)}  SHA-256 {digest_hex(info)}"
        else:
            detail = check.error or ""
        click.echo(f"{check.status.upper():<7} {check.name}  {detail}")
    if report.orphans:
        messages = sum(report.orphans.values())
        click.echo(
            f"orphan chunks: {messages} messages on {len(report.orphans)} subjects "
            "no object points to"
        )
        for subject, count in sorted(report.orphans.items()):
            click.echo(f"  {subject}  {count} chunks")
        if report.purged is None:
            click.echo("remove them with --purge-orphans")
    else:
        click.echo("orphan chunks: none")
    if report.purged:
        click.echo(f"purged {report.purged} orphan chunk messages")
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
