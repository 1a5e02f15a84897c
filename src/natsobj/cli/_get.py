"""`natsobj get` and `natsobj cat`: download an object, a prefix (-r) or stdout; cat prints one."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import click

import natsobj
from natsobj import ObjectInfo

from ._common import (
    STDIO,
    App,
    CliError,
    Transfer,
    no_progress_option,
)
from ._render import (
    digest_hex,
    human_size,
)


def _local_path(directory: Path, relative: str) -> Path | None:
    """Where object name `relative` lands under directory; None if it would escape it."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or relative.endswith("/"):
        return None
    return directory.joinpath(*parts)


def _strip_prefix(name: str, prefix: str) -> str:
    """Drop the prefix's directory part, as `cp -r dir/ dest` copies the contents of dir."""
    cut = prefix.rfind("/") + 1
    return name[cut:]


async def _stream_to(out: BinaryIO, store: natsobj.ObjectStore, name: str, bar: Transfer) -> None:
    async with store.open(name) as reader:
        async for chunk in reader:
            await asyncio.to_thread(out.write, chunk)  # a slow pipe must not stall the reader
            bar.advance(len(chunk))
    await asyncio.to_thread(out.flush)


@click.command("get")
@click.argument("bucket")
@click.argument("name", required=False)
@click.option(
    "-O",
    "--output",
    metavar="FILE|DIR|-",
    help="Where to write: a file, a directory, or - for stdout (default: ./NAME's file name).",
)
@click.option("-r", "--recursive", is_flag=True, help="NAME is a prefix: every object under it.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing local files.")
@click.option("--resume", is_flag=True, help="Continue an interrupted download of NAME.")
@no_progress_option
@click.pass_obj
def get(
    app: App,
    bucket: str,
    name: str | None,
    output: str | None,
    recursive: bool,
    force: bool,
    resume: bool,
    no_progress: bool,
) -> None:
    """Download object NAME from BUCKET (or every object under a prefix with -r).

    The digest, size and chunk count are checked; a file is only put in place once it
    verifies. With -r the objects land under DIR (-O, default .) at their names minus the
    prefix's directory part: 'get -r b photos/ -O x' writes photos/a.jpg to x/a.jpg.

    \b
    Examples:
      natsobj get media photo.jpg -O copy.jpg
      natsobj get backups logs.tar -O - | tar x
      natsobj get -r media photos/ -O ./photos
    """
    if recursive:
        if output == STDIO:
            raise click.UsageError("-O - (stdout) cannot be used with -r")
        _get_tree(app, bucket, name or "", Path(output or "."), force, no_progress)
        return
    if not name:
        raise click.UsageError("missing argument NAME (or use -r to get a prefix)")
    if output == STDIO:
        _cat(app, bucket, name, no_progress)
        return
    base = PurePosixPath(name).name
    if base in ("", ".", "..") and (output is None or Path(output).is_dir()):
        raise click.UsageError(f"cannot make a file name from {name!r}; give -O FILE")
    target = Path(output) if output else Path(base)
    if target.is_dir():
        target = target / base
    if target.exists() and not force:
        raise CliError(f"{target} exists; pass -f/--force to overwrite it")
    info = app.run(lambda client: _download(client, bucket, name, target, resume, no_progress))
    click.echo(f"wrote {target}: {human_size(info.size)}  SHA-256 {digest_hex(info)}")


async def _download(
    client: natsobj.Client,
    bucket: str,
    name: str,
    target: Path,
    resume: bool,
    no_progress: bool,
) -> ObjectInfo:
    store = await client.object_store(bucket)
    total = None
    if not no_progress:  # only a bar needs the size up front
        info = await store.get_info(name)
        total = None if info.is_link else info.size
    with Transfer(enabled=not no_progress, total=total, description=name) as bar:
        return await store.get_file(name, target, progress=bar.advance, resume=resume)


def _get_tree(
    app: App, bucket: str, prefix: str, directory: Path, force: bool, no_progress: bool
) -> None:
    async def go(client: natsobj.Client) -> tuple[int, list[str]]:
        store = await client.object_store(bucket)
        infos = [i for i in await store.list() if i.name.startswith(prefix)]
        plan: list[tuple[ObjectInfo, Path]] = []
        problems: list[str] = []
        for info in infos:
            if info.link is not None and info.link.is_bucket_link:
                problems.append(f"skipped {info.name!r}: it links to a whole bucket")
                continue
            path = _local_path(directory, _strip_prefix(info.name, prefix))
            if path is None:
                problems.append(f"skipped {info.name!r}: its name is not a safe local path")
                continue
            if path.exists() and not force:
                raise CliError(f"{path} exists; pass -f/--force to overwrite it")
            plan.append((info, path))
        total = sum(info.size for info, _ in plan)
        with Transfer(enabled=not no_progress, total=total) as bar:
            await store.get_many({info.name: path for info, path in plan}, progress=bar.advance)
        return len(plan), problems

    count, problems = app.run(go)
    for problem in problems:
        click.echo(f"natsobj: error: {problem}", err=True)
    click.echo(f"wrote {count} objects under {directory}")
    if problems:
        sys.exit(1)


def _cat(app: App, bucket: str, name: str, no_progress: bool) -> None:
    async def go(client: natsobj.Client) -> None:
        store = await client.object_store(bucket)
        total = None
        if not no_progress:
            info = await store.get_info(name)
            total = None if info.is_link else info.size
        with Transfer(enabled=not no_progress, total=total, description=name) as bar:
            await _stream_to(sys.stdout.buffer, store, name, bar)

    app.run(go)


@click.command("cat")
@click.argument("bucket")
@click.argument("name")
@click.pass_obj
def cat(app: App, bucket: str, name: str) -> None:
    """Write object NAME to stdout (verified as it streams; exit 1 if it does not check out).

    \b
    Example:
      natsobj cat config settings.json | jq .
    """
    _cat(app, bucket, name, no_progress=True)
