"""`natsobj put`: upload files, directories (-r) or stdin as objects of a bucket."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import click

import natsobj
from natsobj import ObjectInfo

from ._common import (
    STDIO,
    App,
    CliError,
    SizeType,
    Transfer,
    json_option,
    no_progress_option,
    parse_headers,
    parse_metadata,
)
from ._render import (
    echo_json,
    object_json,
    object_line,
)


@dataclass(frozen=True)
class _Upload:
    name: str
    path: Path | None  # None: stdin
    size: int | None


def _plan_uploads(paths: tuple[str, ...], name: str | None, recursive: bool) -> list[_Upload]:
    """What to upload under which name; usage errors for combinations that make no sense."""
    if STDIO in paths:
        if len(paths) > 1:
            raise click.UsageError("'-' (stdin) cannot be combined with other paths")
        if not name:
            raise click.UsageError("reading stdin needs --name NAME for the object")
        return [_Upload(name, None, None)]
    uploads: list[_Upload] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if not recursive:
                raise click.UsageError(f"{raw} is a directory; use -r to upload its files")
            prefix = f"{name.rstrip('/')}/" if name else ""
            for file in _walk_files(path):
                rel = file.relative_to(path).as_posix()
                uploads.append(_Upload(prefix + rel, file, file.stat().st_size))
        elif path.is_file():
            if name and len(paths) > 1:
                raise click.UsageError("--name needs a single file (or a directory with -r)")
            uploads.append(_Upload(name or path.name, path, path.stat().st_size))
        else:
            raise CliError(f"no such file or directory: {raw}")
    return uploads


def _put_conditions(
    uploads: list[_Upload], *, resume: bool, if_absent: bool, if_revision: int | None
) -> dict[str, object]:
    """The put options of --resume, --if-absent and --if-revision (store.put's if_revision)."""
    if if_absent and if_revision is not None:
        raise click.UsageError("--if-absent and --if-revision N cannot be used together")
    if resume and (if_absent or if_revision is not None):
        raise click.UsageError("--resume cannot be combined with --if-absent or --if-revision")
    if if_revision is not None and len(uploads) != 1:
        raise click.UsageError("--if-revision N names one object's revision: give one file")
    if resume:
        return {"resume": True}
    if if_absent:
        return {"if_revision": 0}
    return {} if if_revision is None else {"if_revision": if_revision}


def _walk_files(root: Path) -> list[Path]:
    """Regular files under root (following file symlinks, not directory symlinks), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_file():
                found.append(path)
    return found


async def _read_stdin() -> AsyncIterator[bytes]:
    """stdin in whatever pieces arrive, read off the event loop so acks keep flowing."""
    stream = sys.stdin.buffer
    while block := await asyncio.to_thread(stream.read1, 1 << 20):
        yield block


@click.command("put")
@click.argument("bucket")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--name", help="Object name (default: the file name; a prefix with -r).")
@click.option("-r", "--recursive", is_flag=True, help="Upload directories: names relative to them.")
@click.option("--description", help="Description stored with the object.")
@click.option("--header", "headers", multiple=True, metavar="KEY:VALUE", help="Header; repeat.")
@click.option("--metadata", multiple=True, metavar="KEY=VALUE", help="Metadata; repeat.")
@click.option("--chunk-size", type=SizeType(), help="Chunk size (default 128KiB).")
@click.option("--resume", is_flag=True, help="Continue an interrupted upload of the same files.")
@click.option("--if-absent", is_flag=True, help="Refuse to replace a live object of that name.")
@click.option(
    "--if-revision", type=click.IntRange(min=1), metavar="N",
    help="Replace only revision N of the object (see `natsobj info`).",
)  # fmt: skip
@no_progress_option
@json_option
@click.pass_obj
def put(
    app: App,
    bucket: str,
    paths: tuple[str, ...],
    name: str | None,
    recursive: bool,
    description: str | None,
    headers: tuple[str, ...],
    metadata: tuple[str, ...],
    chunk_size: int | None,
    resume: bool,
    if_absent: bool,
    if_revision: int | None,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Upload files, directory trees (-r) or stdin (-) to BUCKET.

    An object of the same name is replaced; until the new version is complete, the old one
    stays readable.

    \b
    Examples:
      natsobj put media photo.jpg
      natsobj put media -r ./site --name www      # www/index.html, www/css/a.css, ...
      tar c ./logs | natsobj put backups - --name logs.tar
      natsobj put media big.iso --resume           # continues after a crash
      natsobj put media photo.jpg --if-absent      # only if no photo.jpg is there yet
    """
    uploads = _plan_uploads(paths, name, recursive)
    if resume and any(u.path is None for u in uploads):
        raise click.UsageError("--resume needs files: stdin cannot be resumed")
    extra = _put_conditions(uploads, resume=resume, if_absent=if_absent, if_revision=if_revision)
    hdrs = parse_headers(headers)
    meta = parse_metadata(metadata)
    sizes = [u.size for u in uploads]
    total = None if None in sizes else sum(s or 0 for s in sizes)

    async def go(client: natsobj.Client) -> list[ObjectInfo]:
        store = await client.object_store(bucket)
        with Transfer(enabled=not no_progress, total=total) as bar:
            if len(uploads) == 1:
                bar.describe(uploads[0].name)
            return await store.put_many(
                [(u.name, _read_stdin() if u.path is None else u.path) for u in uploads],
                description=description,
                headers=hdrs,
                metadata=meta,
                chunk_size=chunk_size,
                progress=bar.advance,
                **extra,
            )

    if not uploads:
        click.echo("nothing to upload: the directories are empty", err=True)
        return
    infos = app.run(go)
    if as_json:
        echo_json([object_json(i) for i in infos])
    else:
        for info in infos:
            click.echo(f"put {object_line(info)}")
