"""Client: a NATS connection plus bucket management (create, bind, update, list, delete)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient

from . import _fastpath
from . import _wire as wire
from ._errors import BucketExistsError, ConnectionLostError
from ._jetstream import ERR_STREAM_NAME_IN_USE, JetStream, JetStreamAPIError, map_nats_error
from ._malloc import tune_malloc
from ._models import ObjectStoreConfig, ObjectStoreStatus
from ._options import resolve_connect_options, to_jetstream_kwargs, to_nats_connect_kwargs
from ._store import ObjectStore, status_from_stream
from ._transfer import AckRouter

log = logging.getLogger("natsobj")


@dataclass
class TransferSettings:
    """Knobs of the hot paths; the defaults suit both loopback and real networks."""

    window_bytes: int = 8 * 1024 * 1024
    """Most chunk bytes published and not yet acknowledged. Measured on loopback, 8 MiB puts
    as fast as 16 MiB (32 MiB: 3% faster, 13% on an R3 bucket, for 24 MiB more per put), with
    a peak RSS of 43/45 MiB for 256 MiB/1 GiB."""
    ack_timeout: float = 2.0
    """After this long without its ack, a chunk is re-sent (idempotently)."""
    stall_timeout: float = 30.0
    """A put fails after this long with no chunk acknowledged (covers a leader election)."""
    chunk_timeout: float = 10.0
    """A get fails after this long with no data from the server."""


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
        self.js = JetStream(nc, timeout=timeout, domain=domain, api_prefix=api_prefix)
        self.transfer = transfer or TransferSettings()
        self.acks = AckRouter(self.js)
        self._owns_connection = owns_connection

    @property
    def max_payload(self) -> int:
        """The largest message the server accepts (bytes)."""
        return int(self.nc.max_payload)

    async def close(self) -> None:
        """Close the connection if natsobj opened it."""
        if not self._owns_connection or self.nc.is_closed:
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
    ) -> ObjectStore:
        """Create a bucket (or bind to one that exists with the same config)."""
        config = (
            bucket
            if isinstance(bucket, ObjectStoreConfig)
            else ObjectStoreConfig(
                bucket=bucket,
                description=description,
                ttl=ttl,
                max_bytes=max_bytes,
                storage=storage,
                replicas=replicas,
                compression=compression,
                placement=placement,
                metadata=metadata,
            )
        )
        stream_cfg = wire.stream_config(config)
        try:
            info = await self.js.stream_create(stream_cfg, bucket=config.bucket)
        except JetStreamAPIError as exc:
            if exc.err_code == ERR_STREAM_NAME_IN_USE:
                raise BucketExistsError(config.bucket) from exc
            raise
        return ObjectStore(self, config.bucket, info)

    async def update_object_store(
        self, bucket: str | ObjectStoreConfig, **changes: Any
    ) -> ObjectStore:
        """Change a bucket's description, ttl, max_bytes, replicas, compression or metadata."""
        name = bucket.bucket if isinstance(bucket, ObjectStoreConfig) else bucket
        wire.validate_bucket_name(name)
        current = await self.js.stream_info(wire.stream_name(name), bucket=name)
        if isinstance(bucket, ObjectStoreConfig):
            config = bucket
        else:
            base = wire.config_from_stream(current["config"])
            fields = {k: v for k, v in changes.items() if v is not None}
            config = ObjectStoreConfig(**{**base.__dict__, **fields})
        stream_cfg = {**current["config"], **wire.stream_config(config)}
        info = await self.js.stream_update(stream_cfg, bucket=name)
        return ObjectStore(self, name, info)

    async def create_or_update_object_store(self, bucket: str, **options: Any) -> ObjectStore:
        """Create the bucket, or update it to this config if it exists."""
        try:
            return await self.create_object_store(bucket, **options)
        except BucketExistsError:
            return await self.update_object_store(bucket, **options)

    async def object_store(self, bucket: str) -> ObjectStore:
        """Bind to an existing bucket; BucketNotFoundError if there is none."""
        wire.validate_bucket_name(bucket)
        info = await self.js.stream_info(wire.stream_name(bucket), bucket=bucket)
        return ObjectStore(self, bucket, info)

    async def delete_object_store(self, bucket: str) -> None:
        """Delete a bucket and everything in it."""
        wire.validate_bucket_name(bucket)
        await self.js.stream_delete(wire.stream_name(bucket), bucket=bucket)

    async def object_store_names(self) -> list[str]:
        """Names of every bucket in the account."""
        names = await self.js.stream_names(subject="$O.*.C.>")
        return sorted(b for b in (wire.bucket_from_stream(n) for n in names) if b)

    async def object_stores(self) -> list[ObjectStoreStatus]:
        """Status of every bucket in the account."""
        infos = await self.js.stream_list(subject="$O.*.C.>")
        statuses = []
        for info in infos:
            bucket = wire.bucket_from_stream(info.get("config", {}).get("name", ""))
            if bucket:
                statuses.append(status_from_stream(bucket, info))
        return sorted(statuses, key=lambda s: s.bucket)


async def connect(
    servers: str | Sequence[str] | NatsClient | None = None,
    *,
    context: str | None = None,
    timeout: float | None = None,
    transfer: TransferSettings | None = None,
    **options: Any,
) -> Client:
    """Connect to NATS and return a Client (an async context manager).

    `servers` is a URL, a list of URLs, or an existing nats-py Client. With none given, the
    NATS_URL / NATS_CONTEXT environment or the selected natscli context is used, and with none
    of those a persistent embedded nats-server is started (data in the user's data dir).
    Other keyword arguments (user, password, token, creds, nkey, tls_cert, tls_key, tls_ca, ...)
    are resolved as natscli does: arguments, then NATS_* variables, then the context.
    """
    if isinstance(servers, NatsClient):
        return Client(servers, owns_connection=False, timeout=timeout or 5.0, transfer=transfer)
    opts = resolve_connect_options(servers=servers, context=context, timeout=timeout, **options)
    kwargs = to_nats_connect_kwargs(opts)
    if not opts.servers:
        from .server import ensure_default_server

        default = ensure_default_server()
        kwargs["servers"] = [default.url]
        kwargs["token"] = default.token
    client_box: list[Client] = []
    servers_tried: set[str] = set()
    connect_errors: list[BaseException] = []
    all_failed = asyncio.Event()
    server_count = max(1, len(kwargs.get("servers") or []))

    async def on_error(exc: Exception) -> None:
        if client_box and client_box[0].js.on_async_error(exc):
            return
        if not client_box:  # still connecting: give up once every server has failed
            connect_errors.append(exc)
            servers_tried.add(str(getattr(exc, "server", len(connect_errors))))
            if len(connect_errors) >= server_count:
                all_failed.set()
            return
        log.warning("nats: %s", exc)

    kwargs.setdefault("error_cb", on_error)
    kwargs.setdefault("max_reconnect_attempts", -1)
    kwargs.setdefault("reconnect_time_wait", 0.25)
    _tune_nats_py()
    where = ", ".join(kwargs.get("servers") or [])
    connecting = asyncio.ensure_future(nats.connect(**kwargs))
    failed = asyncio.ensure_future(all_failed.wait())
    try:
        done, _ = await asyncio.wait(
            {connecting, failed}, timeout=opts.timeout * 2, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        failed.cancel()
    if connecting not in done:
        connecting.cancel()
        with contextlib.suppress(BaseException):
            await connecting
        cause = connect_errors[-1] if connect_errors else None
        detail = f": {cause}" if cause else f" within {opts.timeout * 2:g}s"
        raise ConnectionLostError(
            f"could not connect to {where}{detail}; is the server running and the URL right?"
        ) from cause
    try:
        nc = connecting.result()
    except Exception as exc:
        raise map_nats_error(exc, f"connect to {where}") from exc
    _tune_connection(nc)
    client = Client(
        nc,
        owns_connection=True,
        timeout=opts.timeout,
        transfer=transfer,
        **_js_options(opts),
    )
    client_box.append(client)
    return client


def _tune_nats_py() -> None:
    """Let nats-py read up to 1 MiB per socket read (it defaults to 32 KiB).

    Profiled: with 128 KiB chunks, the 32 KiB reader limit pauses and resumes the socket for
    every message (epoll register/unregister) and splits each chunk over four reads; the larger
    buffer cuts the client's CPU per byte received by about a sixth. Only buffer sizes change:
    auth, TLS and reconnects are untouched.
    """
    import nats.aio.client as nats_client

    if getattr(nats_client, "DEFAULT_BUFFER_SIZE", 1 << 20) < 1 << 20:
        nats_client.DEFAULT_BUFFER_SIZE = 1 << 20


def _tune_connection(nc: NatsClient) -> None:
    """Give this connection natsobj's faster protocol parser and header parser.

    natsobj's own subscriptions then skip nats-py's per-message machinery (see _fastpath);
    everything else nats-py still handles itself.
    """
    _fastpath.install(nc)
    if callable(getattr(nc, "_parse_header_lines", None)):
        nc._parse_header_lines = _fastpath.parse_header_lines  # type: ignore[method-assign]


def _js_options(opts: Any) -> dict[str, Any]:
    js = to_jetstream_kwargs(opts)
    return {"domain": js.get("domain"), "api_prefix": js.get("prefix")}
