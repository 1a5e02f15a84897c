"""Client: a shell over the store: one NATS connection and the buckets of its account.

`connect()` resolves the connection settings as natscli does (or starts the embedded server),
opens the nats-py connection and wraps it; bucket management delegates to `_store.buckets`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from ._jetstream import JetStream, map_nats_error
from ._malloc import tune_malloc
from ._natspy import Connection, privates
from ._options import resolve_connect_options, to_jetstream_kwargs, to_nats_connect_kwargs
from ._store import ObjectStore, StoreContext, buckets
from ._transfer import TransferSettings
from ._wire.errors import BucketExistsError, ConnectionLostError
from ._wire.models import ObjectStoreConfig, ObjectStoreStatus
from ._wire.replication import Origin
from .server import ensure_default_server

log = logging.getLogger("natsobj")


class Client:
    """A connection to NATS and the object stores in its account. Use natsobj.connect()."""

    def __init__(
        self,
        nc: NatsClient,
        *,
        owns_connection: bool,
        timeout: float = 5.0,
        domain: str | None = None,
        api_prefix: str | None = None,
        transfer: TransferSettings | None = None,
    ) -> None:
        tune_malloc()
        self.nc = nc
        # natsobj tunes only a connection it opened; a user's own stays as it is
        conn = Connection(nc, fast=owns_connection)
        self.js = JetStream(conn, timeout=timeout, domain=domain, api_prefix=api_prefix)
        self.store_context = StoreContext(self.js, transfer)
        """What the stores of this connection share (JetStream, settings, acks, janitor)."""
        self.transfer = self.store_context.transfer
        self._owns_connection = owns_connection

    @property
    def max_payload(self) -> int:
        """The largest message the server accepts (bytes)."""
        return self.store_context.max_payload

    @property
    def is_connected(self) -> bool:
        """Whether the NATS connection is up now (False while it reconnects, or once closed).

        A call made while it is down waits for the reconnect, up to the transfer settings'
        timeouts; a server (such as the S3 gateway) can answer "retry later" at once instead."""
        return bool(self.nc.is_connected)

    async def close(self) -> None:
        """Finish the purges of replaced versions, then close the connection if natsobj
        opened it."""
        if self.nc.is_closed:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.store_context.janitor.settle(), timeout=self.transfer.stall_timeout
            )
        if not self._owns_connection:
            return
        try:  # drain delivers what is in flight; a connection that is down just closes
            await asyncio.wait_for(self.nc.drain(), timeout=self.js.timeout)
        except (asyncio.TimeoutError, nats.errors.Error, OSError):
            with contextlib.suppress(Exception):  # the socket may already be broken
                await self.nc.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -----------------------------------------------------------------------------------------
    # buckets

    async def create_object_store(
        self,
        bucket: str | ObjectStoreConfig,
        *,
        description: str | None = None,
        ttl: timedelta | float | None = None,
        max_bytes: int | None = None,
        storage: str = "file",
        replicas: int = 1,
        compression: bool = False,
        placement: Mapping[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        mirror: Origin | None = None,
        sources: Sequence[Origin] | None = None,
        writable: bool = False,
    ) -> ObjectStore:
        """Create a bucket (or bind to one that exists with the same config).

        `mirror=Origin(bucket, domain=...)` makes a read-only copy of a bucket in another
        JetStream domain (same name or renamed); in the same domain, a renamed copy is made as a
        one-source replica. `sources=[Origin(...), ...]` aggregates several buckets into this
        one (read-only unless `writable=True`).
        """
        config = buckets.bucket_config(
            bucket,
            description=description,
            ttl=ttl,
            max_bytes=max_bytes,
            storage=storage,
            replicas=replicas,
            compression=compression,
            placement=placement,
            metadata=metadata,
            mirror=mirror,
            sources=sources,
            writable=writable,
        )
        return await buckets.create(self.store_context, config)

    async def update_object_store(
        self,
        bucket: str | ObjectStoreConfig,
        *,
        add_sources: Sequence[Origin] | None = None,
        remove_sources: Sequence[Origin] | None = None,
        **changes: Any,
    ) -> ObjectStore:
        """Change a bucket's description, ttl, max_bytes, replicas, compression or metadata,
        its `sources` (or `add_sources` / `remove_sources`) and `writable`; a mirror keeps its
        mirror block unchanged."""
        if add_sources is not None:
            changes["add_sources"] = tuple(add_sources)
        if remove_sources is not None:
            changes["remove_sources"] = tuple(remove_sources)
        return await buckets.update(self.store_context, bucket, changes)

    async def create_or_update_object_store(self, bucket: str, **options: Any) -> ObjectStore:
        """Create the bucket, or update it to this config if it exists."""
        try:
            return await self.create_object_store(bucket, **options)
        except BucketExistsError:
            return await self.update_object_store(bucket, **options)

    async def object_store(self, bucket: str) -> ObjectStore:
        """Bind to an existing bucket; BucketNotFoundError if there is none."""
        return await buckets.bind(self.store_context, bucket)

    async def delete_object_store(self, bucket: str) -> None:
        """Delete a bucket and everything in it."""
        await buckets.delete(self.store_context, bucket)

    async def object_store_names(self) -> list[str]:
        """Names of every bucket in the account."""
        return await buckets.names(self.store_context)

    async def object_stores(self) -> list[ObjectStoreStatus]:
        """Status of every bucket in the account."""
        return await buckets.statuses(self.store_context)


async def connect(
    servers: str | Sequence[str] | NatsClient | None = None,
    *,
    context: str | None = None,
    timeout: float | None = None,
    transfer: TransferSettings | None = None,
    domain: str | None = None,
    **options: Any,
) -> Client:
    """Connect to NATS and return a Client (an async context manager).

    `servers` is a URL, a list of URLs, or an existing nats-py Client. With none given, the
    NATS_URL / NATS_CONTEXT environment or the selected natscli context is used, and with none
    of those a persistent embedded nats-server is started (data in the user's data dir).
    Other keyword arguments (user, password, token, creds, nkey, tls_cert, tls_key, tls_ca, ...)
    are resolved as natscli does: arguments, then NATS_* variables, then the context.
    `domain` is the JetStream domain to use (`jetstream_domain`, natscli's `--js-domain`), e.g.
    an edge's, to write from the hub to the origin of a mirror.
    """
    if domain is not None:
        given = options.get("jetstream_domain")
        if given is not None and given != domain:
            raise ValueError(
                f"connect(): domain={domain!r} and jetstream_domain={given!r} disagree; "
                "give one (domain is its short name)"
            )
        options["jetstream_domain"] = domain
    if isinstance(servers, NatsClient):
        return _over_users_connection(servers, context, timeout, transfer, options)
    opts = resolve_connect_options(servers=servers, context=context, timeout=timeout, **options)
    kwargs = to_nats_connect_kwargs(opts)
    if not opts.servers:
        default = ensure_default_server()
        kwargs["servers"] = [default.url]
        kwargs["token"] = default.token
    client_box: list[Client] = []
    nc = await _open(kwargs, opts.timeout, client_box)
    js = to_jetstream_kwargs(opts)
    client = Client(
        nc,
        owns_connection=True,
        timeout=opts.timeout,
        transfer=transfer,
        domain=js.get("domain"),
        api_prefix=js.get("prefix"),
    )
    client_box.append(client)
    return client


def _over_users_connection(
    nc: NatsClient,
    context: str | None,
    timeout: float | None,
    transfer: TransferSettings | None,
    options: dict[str, Any],
) -> Client:
    """A Client over a connection the user opened: only the JetStream options apply (the
    domain wins over an API prefix, as in nats-py); connection options are an error."""
    domain = options.pop("jetstream_domain", None)
    prefix = options.pop("jetstream_api_prefix", None)
    if context is not None or options:
        given = sorted(options) + (["context"] if context is not None else [])
        raise ValueError(
            f"connect(nats_client, ...): {', '.join(given)} cannot apply to a connection that is "
            "already open; pass only jetstream_domain, jetstream_api_prefix, timeout or transfer"
        )
    return Client(
        nc,
        owns_connection=False,
        timeout=timeout or 5.0,
        transfer=transfer,
        domain=domain,
        api_prefix=None if domain else prefix,
    )


async def _open(kwargs: dict[str, Any], timeout: float, client_box: list[Client]) -> NatsClient:
    """Open the nats-py connection; give up once every server failed or after 2 × timeout.

    Until the client exists, nats-py's errors count the servers that failed; afterwards they
    go to the client's JetStream (permission violations fail the requests they name)."""
    connect_errors: list[BaseException] = []
    all_failed = asyncio.Event()
    server_count = max(1, len(kwargs.get("servers") or []))

    async def on_error(exc: Exception) -> None:
        if client_box and client_box[0].js.permissions.on_async_error(exc):
            return
        if not client_box:  # still connecting: give up once every server has failed
            connect_errors.append(exc)
            if len(connect_errors) >= server_count:
                all_failed.set()
            return
        log.warning("nats: %s", exc)

    kwargs.setdefault("error_cb", on_error)
    kwargs.setdefault("max_reconnect_attempts", -1)
    kwargs.setdefault("reconnect_time_wait", 0.25)
    if privates.knows_this_nats_py():
        privates.tune_read_buffer()
    where = ", ".join(kwargs.get("servers") or [])
    connecting = asyncio.ensure_future(nats.connect(**kwargs))
    failed = asyncio.ensure_future(all_failed.wait())
    try:
        done, _ = await asyncio.wait(
            {connecting, failed}, timeout=timeout * 2, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        failed.cancel()
    if connecting not in done:
        connecting.cancel()
        with contextlib.suppress(BaseException):
            await connecting
        cause = connect_errors[-1] if connect_errors else None
        detail = f": {cause}" if cause else f" within {timeout * 2:g}s"
        raise ConnectionLostError(
            f"could not connect to {where}{detail}; is the server running and the URL right?"
        ) from cause
    try:
        return connecting.result()
    except Exception as exc:
        raise map_nats_error(exc, f"connect to {where}") from exc
