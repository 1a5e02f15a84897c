"""`natsobj bucket ...`: create, list, show, change, seal and delete buckets."""

from __future__ import annotations

from typing import Any

import click

import natsobj

from ._common import App, DurationType, SizeType, confirm, parse_metadata
from ._render import (
    bucket_created,
    bucket_json,
    bucket_last_update,
    echo_json,
    human_size,
    human_time,
    kind_label,
    print_bucket,
    print_table,
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def parse_origin(text: str, *, option: str = "--source") -> natsobj.Origin:
    """ORIGIN[@DOMAIN] as an Origin ('@' cannot occur in a bucket name)."""
    bucket, _, domain = text.partition("@")
    try:
        return natsobj.Origin(bucket, domain=domain or None)
    except natsobj.ObjectStoreError as exc:
        raise click.BadParameter(f"{text!r}: {exc}", param_hint=option) from None


source_help = "Aggregate bucket ORIGIN (in JetStream domain DOMAIN); repeat for more origins."


@click.group("bucket")
def bucket() -> None:
    """Manage buckets: add, ls, info, edit, seal, rm.

    \b
    Example:
      natsobj bucket add media --description "photos" --max-bytes 10GiB
    """


@bucket.command("add")
@click.argument("name")
@click.option("--description", help="What the bucket is for.")
@click.option("--ttl", type=DurationType(), help="Remove objects older than this (e.g. 24h).")
@click.option("--max-bytes", type=SizeType(), help="Largest total size (e.g. 10GiB).")
@click.option("--storage", type=click.Choice(["file", "memory"]), default="file", show_default=True)
@click.option("--replicas", type=click.IntRange(1, 5), default=1, show_default=True)
@click.option("--compress", is_flag=True, help="Compress stored chunks (s2).")
@click.option("--metadata", multiple=True, metavar="KEY=VALUE", help="Bucket metadata; repeat.")
@click.option("--mirror", metavar="ORIGIN", help="Make a read-only mirror of bucket ORIGIN.")
@click.option("--mirror-domain", metavar="DOMAIN", help="JetStream domain of the mirror's origin.")
@click.option("--mirror-api-prefix", metavar="PREFIX", help="JetStream API of the mirror's origin.")
@click.option("--mirror-start-seq", type=click.IntRange(1), help="Start mirroring at this seq.")
@click.option("--source", "sources", multiple=True, metavar="ORIGIN[@DOMAIN]", help=source_help)
@click.option("--writable", is_flag=True, help="An aggregate (--source) that takes writes too.")
@json_option
@click.pass_obj
def add(
    app: App,
    name: str,
    description: str | None,
    ttl: float | None,
    max_bytes: int | None,
    storage: str,
    replicas: int,
    compress: bool,
    metadata: tuple[str, ...],
    mirror: str | None,
    mirror_domain: str | None,
    mirror_api_prefix: str | None,
    mirror_start_seq: int | None,
    sources: tuple[str, ...],
    writable: bool,
    as_json: bool,
) -> None:
    """Create bucket NAME (no-op if it exists with the same settings).

    With --mirror, NAME is a read-only copy of bucket ORIGIN in another JetStream domain (in
    the same domain, a renamed read-only replica); with --source, an aggregate of the origins.

    \b
    Examples:
      natsobj bucket add media --ttl 720h --max-bytes 10GiB --metadata team=web
      natsobj bucket add media --mirror media --mirror-domain edge
      natsobj bucket add all --source cam1@edge1 --source cam2@edge2
    """
    meta = parse_metadata(metadata)
    if mirror is None and (mirror_domain or mirror_api_prefix or mirror_start_seq):
        raise click.UsageError(
            "--mirror-domain, --mirror-api-prefix and --mirror-start-seq need --mirror"
        )
    if mirror is not None and sources:
        raise click.UsageError("give --mirror or --source, not both")
    if writable and not sources:
        raise click.UsageError("--writable is for aggregates: give --source")
    try:
        origin = (
            natsobj.Origin(
                mirror,
                domain=mirror_domain,
                api_prefix=mirror_api_prefix,
                start_seq=mirror_start_seq,
            )
            if mirror is not None
            else None
        )
    except natsobj.ObjectStoreError as exc:
        raise click.BadParameter(str(exc), param_hint="--mirror") from None
    origins = [parse_origin(s) for s in sources]

    async def go(client: natsobj.Client) -> natsobj.ObjectStoreStatus:
        store = await client.create_object_store(
            name,
            description=description,
            ttl=ttl,
            max_bytes=max_bytes,
            storage=storage,
            replicas=replicas,
            compression=compress,
            metadata=meta or None,
            mirror=origin,
            sources=origins or None,
            writable=writable,
        )
        return await store.status()

    _show(app.run(go), as_json)


@bucket.command("ls")
@click.option("-n", "--names", is_flag=True, help="Only the bucket names, one per line.")
@json_option
@click.pass_obj
def ls(app: App, names: bool, as_json: bool) -> None:
    """List buckets: name, description, created, size, last update, objects, replicas, sealed,
    and, when any bucket is a mirror, replica or aggregate, its kind.

    `natsobj ls` with no bucket shows the same.

    \b
    Example:
      natsobj bucket ls --json
    """
    list_buckets(app, names=names, as_json=as_json)


def list_buckets(app: App, *, names: bool, as_json: bool) -> None:
    """The buckets as a table, as names (-n) or as JSON: `bucket ls` and `ls` with no bucket."""

    async def go(client: natsobj.Client) -> list[natsobj.ObjectStoreStatus]:
        return await client.object_stores()

    statuses = app.run(go)
    if as_json:
        echo_json([bucket_json(s) for s in statuses])
    elif names:
        for s in statuses:
            click.echo(s.bucket)
    elif not statuses:
        click.echo("no buckets; create one with 'natsobj bucket add NAME'", err=True)
    else:
        # natscli's `nats object ls` columns in its order, then ours.
        copies = any(s.replication is not None for s in statuses)
        print_table(
            [
                "Bucket",
                "Description",
                "Created",
                "Size",
                "Last Update",
                "Objects",
                "Replicas",
                "Sealed",
                *(["Kind"] if copies else []),
            ],
            [
                [
                    s.bucket,
                    s.description or "",
                    human_time(bucket_created(s)),
                    human_size(s.size),
                    human_time(bucket_last_update(s)),
                    str(s.objects),
                    str(s.replicas),
                    "yes" if s.sealed else "no",
                    *([kind_label(s)] if copies else []),
                ]
                for s in statuses
            ],
            right={3, 5, 6},
        )


@bucket.command("info")
@click.argument("name")
@json_option
@click.pass_obj
def info(app: App, name: str, as_json: bool) -> None:
    """Show a bucket's settings and usage.

    \b
    Example:
      natsobj bucket info media
    """

    async def go(client: natsobj.Client) -> natsobj.ObjectStoreStatus:
        return await (await client.object_store(name)).status()

    _show(app.run(go), as_json)


@bucket.command("edit")
@click.argument("name")
@click.option("--description", help="New description ('' clears it).")
@click.option("--ttl", type=DurationType(), help="New object age limit (e.g. 24h).")
@click.option("--max-bytes", type=SizeType(), help="New size limit (e.g. 10GiB).")
@click.option("--replicas", type=click.IntRange(1, 5), help="New replica count.")
@click.option("--compress/--no-compress", default=None, help="Turn compression on or off.")
@click.option(
    "--metadata", multiple=True, metavar="KEY=VALUE", help="Replace the bucket metadata; repeat."
)
@click.option(
    "--source", "add_sources", multiple=True, metavar="ORIGIN[@DOMAIN]", help="Add an origin."
)
@click.option(
    "--remove-source",
    "remove_sources",
    multiple=True,
    metavar="ORIGIN[@DOMAIN]",
    help="Remove an origin (without @DOMAIN: every origin of that name).",
)
@json_option
@click.pass_obj
def edit(
    app: App,
    name: str,
    description: str | None,
    ttl: float | None,
    max_bytes: int | None,
    replicas: int | None,
    compress: bool | None,
    metadata: tuple[str, ...],
    add_sources: tuple[str, ...],
    remove_sources: tuple[str, ...],
    as_json: bool,
) -> None:
    """Change a bucket's settings; options not given stay as they are.

    \b
    Example:
      natsobj bucket edit media --max-bytes 20GiB --description "photos and videos"
      natsobj bucket edit all --source cam3@edge3 --remove-source cam1@edge1
    """
    changes: dict[str, Any] = {
        "description": description,
        "ttl": ttl,
        "max_bytes": max_bytes,
        "replicas": replicas,
        "compression": compress,
        "metadata": parse_metadata(metadata) if metadata else None,
        "add_sources": [parse_origin(s) for s in add_sources] or None,
        "remove_sources": [parse_origin(s, option="--remove-source") for s in remove_sources]
        or None,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise click.UsageError("nothing to change: give at least one option, see --help")

    async def go(client: natsobj.Client) -> natsobj.ObjectStoreStatus:
        store = await client.update_object_store(name, **changes)
        return await store.status()

    _show(app.run(go), as_json)


@bucket.command("seal")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def seal(app: App, name: str, force: bool) -> None:
    """Make a bucket read-only for good (asks first unless -f).

    \b
    Example:
      natsobj bucket seal archive-2023 -f
    """
    confirm(
        f"Seal bucket {name!r}? A sealed bucket can never be written again.",
        action=f"seal bucket {name!r}",
        force=force,
    )

    async def go(client: natsobj.Client) -> None:
        await (await client.object_store(name)).seal()

    app.run(go)
    click.echo(f"sealed bucket {name}")


@bucket.command("rm")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def rm(app: App, name: str, force: bool) -> None:
    """Delete a bucket and every object in it (asks first unless -f).

    Without a terminal to ask on, -f is required (exit code 2 otherwise).

    \b
    Example:
      natsobj bucket rm scratch -f
    """
    confirm(
        f"Delete bucket {name!r} and all its objects?",
        action=f"delete bucket {name!r}",
        force=force,
    )

    async def go(client: natsobj.Client) -> None:
        await client.delete_object_store(name)

    app.run(go)
    click.echo(f"deleted bucket {name}")


def _show(status: natsobj.ObjectStoreStatus, as_json: bool) -> None:
    if as_json:
        echo_json(bucket_json(status))
    else:
        print_bucket(status)
