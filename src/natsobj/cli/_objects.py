"""Object commands besides the transfers (_put, _get): ls, info, rm, mv, link, meta, watch."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace

import click

import natsobj
from natsobj import ObjectInfo

from ._buckets import list_buckets
from ._common import (
    App,
    json_option,
    parse_headers,
    parse_metadata,
)
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
