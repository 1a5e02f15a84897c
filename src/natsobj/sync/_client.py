"""connect() and the blocking Client: bucket management, each call the async Client's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from .. import Client as _AsyncClient
from .. import ObjectStoreConfig, ObjectStoreStatus, Origin, TransferSettings
from .. import connect as _aconnect
from ._loop import CALL_TIMEOUT, clients, run
from ._store import ObjectStore


def connect(
    servers: str | Sequence[str] | None = None,
    *,
    context: str | None = None,
    timeout: float | None = None,
    transfer: TransferSettings | None = None,
    domain: str | None = None,
    **options: Any,
) -> Client:
    """Connect to NATS; same arguments as natsobj.connect(). Use as a context manager.

    With nothing configured: NATS_URL / NATS_CONTEXT, the selected natscli context, or the
    embedded server.
    """
    aclient = run(
        _aconnect(
            servers, context=context, timeout=timeout, transfer=transfer, domain=domain, **options
        )
    )
    return Client(aclient)


class Client:
    """A blocking connection to NATS and its object stores. Use natsobj.sync.connect()."""

    def __init__(self, aclient: _AsyncClient) -> None:
        self.aio = aclient
        """The async Client underneath (its coroutines run on natsobj's loop thread)."""
        clients.add(self)

    def __repr__(self) -> str:
        return f"natsobj.sync.Client({self.aio.nc.connected_url!r})"

    @property
    def max_payload(self) -> int:
        """The largest message the server accepts (bytes)."""
        return self.aio.max_payload

    @property
    def is_connected(self) -> bool:
        """Whether the NATS connection is up now (False while it reconnects, or once closed).

        A call made while it is down waits for the reconnect, up to the transfer settings'
        timeouts; a server (such as the S3 gateway) can answer "retry later" at once instead."""
        return self.aio.is_connected

    @property
    def is_closed(self) -> bool:
        return bool(self.aio.nc.is_closed)

    def close(self) -> None:
        """Finish the purges of replaced versions, then close the connection if natsobj
        opened it."""
        run(self.aio.close(), timeout=CALL_TIMEOUT)
        clients.discard(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_object_store(
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
        store = run(
            self.aio.create_object_store(
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
            ),
            CALL_TIMEOUT,
        )
        return ObjectStore(store)

    def update_object_store(
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
        return ObjectStore(
            run(
                self.aio.update_object_store(
                    bucket, add_sources=add_sources, remove_sources=remove_sources, **changes
                ),
                CALL_TIMEOUT,
            )
        )

    def create_or_update_object_store(self, bucket: str, **options: Any) -> ObjectStore:
        """Create the bucket, or update it to this config if it exists."""
        return ObjectStore(
            run(self.aio.create_or_update_object_store(bucket, **options), CALL_TIMEOUT)
        )

    def object_store(self, bucket: str) -> ObjectStore:
        """Bind to an existing bucket; BucketNotFoundError if there is none."""
        return ObjectStore(run(self.aio.object_store(bucket), CALL_TIMEOUT))

    def delete_object_store(self, bucket: str) -> None:
        """Delete a bucket and everything in it."""
        run(self.aio.delete_object_store(bucket), CALL_TIMEOUT)

    def object_store_names(self) -> list[str]:
        """Names of every bucket in the account."""
        return run(self.aio.object_store_names(), CALL_TIMEOUT)

    def object_stores(self) -> list[ObjectStoreStatus]:
        """Status of every bucket in the account."""
        return run(self.aio.object_stores(), CALL_TIMEOUT)
