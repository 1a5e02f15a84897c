"""Object commands: put, get, cat, ls, info, rm, mv, link, meta, watch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import click

import natsobj
from natsobj import ObjectInfo

from ._buckets import list_buckets
from ._common import App, CliError, SizeType, Transfer, parse_headers, parse_metadata
from ._render import (
    digest_hex,
    echo_json,
    human_size,
    human_time,
    link_target,
    object_json,
    object_line,
    print_object,
    print_table,
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
no_progress_option = click.option(
    "--no-progress", is_flag=True, help="No progress bar (there is none when stderr is piped)."
)

STDIO = "-"


# --- put ----------------------------------------------------------------------------------------


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
    """
    uploads = _plan_uploads(paths, name, recursive)
    if resume and any(u.path is None for u in uploads):
        raise click.UsageError("--resume needs files: stdin cannot be resumed")
    extra = {"resume": True} if resume else {}
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


# --- get, cat -----------------------------------------------------------------------------------


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


# --- ls, info -----------------------------------------------------------------------------------


@click.command("ls")
@click.argument("bucket", required=False)
@click.argument("prefix", required=False, default="")
@click.option("--deleted", is_flag=True, help="Include deleted objects.")
@click.option("-l", "--long", "long_", is_flag=True, help="Table: size, time, digest, links.")
@click.option("-n", "--names", is_flag=True, help="Only names (bucket names without BUCKET).")
@json_option
@click.pass_obj
def ls(
    app: App,
    bucket: str | None,
    prefix: str,
    deleted: bool,
    long_: bool,
    names: bool,
    as_json: bool,
) -> None:
    """List the buckets, or the objects in BUCKET whose names start with PREFIX.

    With no BUCKET it shows what `natsobj bucket ls` shows, as `nats object ls` does.

    \b
    Examples:
      natsobj ls
      natsobj ls media
      natsobj ls -l media photos/
    """
    if names and long_:
        raise click.UsageError("-n/--names and -l/--long cannot be used together")
    if bucket is None:
        if deleted:
            raise click.UsageError("--deleted lists the deleted objects of a BUCKET; give one")
        list_buckets(app, names=names, as_json=as_json)
        return

    async def go(client: natsobj.Client) -> list[ObjectInfo]:
        return await (await client.object_store(bucket)).list(show_deleted=deleted)

    infos = [i for i in app.run(go) if i.name.startswith(prefix)]
    if as_json:
        echo_json([object_json(i) for i in infos])
    elif not long_:
        for info in infos:
            click.echo(info.name)
    else:
        print_table(
            ["Name", "Size", "Modified", "SHA-256"],
            [_long_row(info) for info in infos],
            right={1},
        )


def _long_row(info: ObjectInfo) -> list[str]:
    target = link_target(info)
    if info.deleted:
        size, digest = "deleted", ""
    elif target is not None:
        size, digest = "link", f"-> {target}"
    else:
        size, digest = human_size(info.size), digest_hex(info) or info.digest or ""
    return [info.name, size, human_time(info.mtime), digest]


@click.command("info")
@click.argument("bucket")
@click.argument("name")
@json_option
@click.pass_obj
def info(app: App, bucket: str, name: str, as_json: bool) -> None:
    """Show an object's size, chunks, digest (as natscli and as sha256sum hex), meta.

    \b
    Example:
      natsobj info media photo.jpg --json
    """

    async def go(client: natsobj.Client) -> ObjectInfo:
        return await (await client.object_store(bucket)).get_info(name)

    result = app.run(go)
    if as_json:
        echo_json(object_json(result))
    else:
        print_object(result)


# --- rm, mv, link, meta -------------------------------------------------------------------------


@click.command("rm")
@click.argument("bucket")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.pass_obj
def rm(app: App, bucket: str, names: tuple[str, ...]) -> None:
    """Delete objects (their chunks are purged; a tombstone remains).

    Every name is tried; the exit code is 1 if any could not be deleted.

    \b
    Example:
      natsobj rm media old.jpg older.jpg
    """

    async def go(client: natsobj.Client) -> list[str]:
        store = await client.object_store(bucket)
        failed = []
        for name in names:
            try:
                await store.delete(name)
            except natsobj.ObjectNotFoundError as exc:
                failed.append(str(exc))
                continue
            click.echo(f"deleted {name}")
        return failed

    failed = app.run(go)
    for message in failed:
        click.echo(f"natsobj: error: {message}", err=True)
    if failed:
        sys.exit(1)


@click.command("mv")
@click.argument("bucket")
@click.argument("old")
@click.argument("new")
@click.option("-f", "--force", is_flag=True, help="Replace NEW if it exists (all or nothing).")
@click.pass_obj
def mv(app: App, bucket: str, old: str, new: str, force: bool) -> None:
    """Rename object OLD to NEW (no data is copied; fails if NEW exists, unless -f).

    \b
    Example:
      natsobj mv media draft.jpg final.jpg
    """

    async def go(client: natsobj.Client) -> ObjectInfo:
        store = await client.object_store(bucket)
        return await store.rename(old, new, overwrite=force)

    app.run(go)
    click.echo(f"renamed {old} -> {new}")


@click.command("link")
@click.argument("bucket")
@click.argument("name")
@click.argument("target", required=False)
@click.option("--bucket", "target_bucket", help="The target's bucket (default: BUCKET).")
@click.pass_obj
def link(app: App, bucket: str, name: str, target: str | None, target_bucket: str | None) -> None:
    """Make NAME a link to object TARGET, or to a whole bucket (--bucket B without TARGET).

    \b
    Examples:
      natsobj link media latest.jpg photos/2024/07/01.jpg
      natsobj link media shared.jpg logo.jpg --bucket brand
      natsobj link media brand-assets --bucket brand
    """
    if target is None and target_bucket is None:
        raise click.UsageError("give a TARGET object, or --bucket B to link to a whole bucket")

    async def go(client: natsobj.Client) -> ObjectInfo:
        store = await client.object_store(bucket)
        if target is None:
            assert target_bucket is not None
            await client.object_store(target_bucket)  # fail now if it does not exist
            return await store.add_bucket_link(name, target_bucket)
        source = (
            store if target_bucket in (None, bucket) else await client.object_store(target_bucket)
        )
        return await store.add_link(name, await source.get_info(target))

    made = app.run(go)
    click.echo(f"linked {name} -> {link_target(made)}")


@click.command("meta")
@click.argument("bucket")
@click.argument("name")
@click.option("--description", help="New description ('' clears it).")
@click.option(
    "--header", "headers", multiple=True, metavar="KEY:VALUE", help="Replace the headers; repeat."
)
@click.option(
    "--metadata", multiple=True, metavar="KEY=VALUE", help="Replace the metadata; repeat."
)
@click.option("--clear-headers", is_flag=True, help="Remove every header.")
@click.option("--clear-metadata", is_flag=True, help="Remove all metadata.")
@json_option
@click.pass_obj
def meta(
    app: App,
    bucket: str,
    name: str,
    description: str | None,
    headers: tuple[str, ...],
    metadata: tuple[str, ...],
    clear_headers: bool,
    clear_metadata: bool,
    as_json: bool,
) -> None:
    """Change an object's description, headers or metadata (the data is not touched).

    Each option given replaces that whole field; fields not given are kept.

    \b
    Example:
      natsobj meta media photo.jpg --description "cover" --header Content-Type:image/jpeg
    """
    if (headers and clear_headers) or (metadata and clear_metadata):
        raise click.UsageError("--header/--metadata and the matching --clear-... conflict")
    if description is None and not (headers or metadata or clear_headers or clear_metadata):
        raise click.UsageError("nothing to change: give at least one option, see --help")
    new_headers = parse_headers(headers) if headers or clear_headers else None
    new_metadata = parse_metadata(metadata) if metadata or clear_metadata else None

    async def go(client: natsobj.Client) -> ObjectInfo:
        store = await client.object_store(bucket)
        current = (await store.get_info(name)).meta
        changed = replace(
            current,
            description=current.description if description is None else description,
            headers=current.headers if new_headers is None else new_headers,
            metadata=current.metadata if new_metadata is None else new_metadata,
        )
        return await store.update_meta(name, changed)

    result = app.run(go)
    if as_json:
        echo_json(object_json(result))
    else:
        click.echo(f"updated {name}")


# --- watch --------------------------------------------------------------------------------------


@click.command("watch")
@click.argument("bucket")
@click.option("--history", is_flag=True, help="Start with every past change, not just the latest.")
@click.option("--updates-only", is_flag=True, help="Only changes from now on.")
@click.option("--ignore-deletes", is_flag=True, help="Leave out deletions.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per change (JSON lines).")
@click.pass_obj
def watch(
    app: App,
    bucket: str,
    history: bool,
    updates_only: bool,
    ignore_deletes: bool,
    as_json: bool,
) -> None:
    """Print the objects of BUCKET, then every change as it happens, until Ctrl-C.

    \b
    Example:
      natsobj watch media --json | jq -r .name
    """

    async def go(client: natsobj.Client) -> None:
        store = await client.object_store(bucket)
        watcher = store.watch(
            include_history=history, ignore_deletes=ignore_deletes, updates_only=updates_only
        )
        async with watcher:
            async for change in watcher:
                if change is None:
                    if not as_json:
                        click.echo("-- watching for changes, Ctrl-C to stop --", err=True)
                elif as_json:
                    echo_json(object_json(change), lines=True)
                else:
                    click.echo(_watch_line(change))
                    sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a watch ends
        app.run(go)


def _watch_line(info: ObjectInfo) -> str:
    when = human_time(info.mtime)
    if info.deleted:
        return f"{when}  DEL  {info.name}"
    return f"{when}  PUT  {object_line(info)}"
