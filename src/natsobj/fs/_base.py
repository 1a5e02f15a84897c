"""What every part of NatsFileSystem stands on: the storage options, the blocking client and
its stores, path splitting, natsobj's errors as OSErrors, and the entries listings show."""

from __future__ import annotations

import contextlib
import errno
import threading
from collections.abc import Iterator
from typing import Any

from fsspec.spec import AbstractFileSystem

from .. import sync
from .._wire.errors import (
    BucketNotFoundError,
    BucketSealedError,
    InvalidBucketNameError,
    ObjectNotFoundError,
    PermissionDeniedError,
)
from .._wire.models import ObjectInfo

_CONNECT_KEYS = (
    "servers",
    "context",
    "no_context",
    "user",
    "password",
    "token",
    "creds",
    "nkey",
    "user_jwt",
    "user_seed",
    "tls_cert",
    "tls_key",
    "tls_ca",
    "tls_first",
    "timeout",
    "inbox_prefix",
    "jetstream_domain",
    "jetstream_api_prefix",
    "connection_name",
    "transfer",
)
PUT_KEYS = ("description", "headers", "metadata", "chunk_size")


def put_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs[k] for k in PUT_KEYS if kwargs.get(k) is not None}


class BaseFileSystem(AbstractFileSystem):
    """The connection, paths and errors of a NatsFileSystem."""

    def __init__(self, *args: Any, **storage_options: Any) -> None:
        connect: dict[str, Any] = {}
        if args:
            connect["servers"] = args[0] if len(args) == 1 else list(args)
        for key in _CONNECT_KEYS:
            if storage_options.get(key) is not None:
                connect[key] = storage_options.pop(key)
        connect.update(storage_options.pop("connect_options", None) or {})
        storage_options.setdefault("listings_expiry_time", 5.0)
        super().__init__(**storage_options)
        self._connect_kwargs = connect
        self._client: sync.Client | None = None
        self._stores: dict[str, sync.ObjectStore] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> sync.Client:
        """The blocking natsobj client, connected on first use."""
        with self._lock:
            if self._client is None or self._client.is_closed:
                self._client = sync.connect(**self._connect_kwargs)
                self._stores.clear()
            return self._client

    def _store(self, bucket: str) -> sync.ObjectStore:
        store = self._stores.get(bucket)
        if store is None:
            with self._translate(bucket):
                try:
                    store = self.client.object_store(bucket)
                except InvalidBucketNameError as exc:  # no such bucket can exist
                    raise FileNotFoundError(errno.ENOENT, str(exc), bucket) from exc
            self._stores[bucket] = store
        return store

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return super()._strip_protocol(path).lstrip("/")

    def _split(self, path: str) -> tuple[str, str]:
        bucket, _, key = self._strip_protocol(path).partition("/")
        return bucket, key

    def _split_key(self, path: str) -> tuple[str, str]:
        bucket, key = self._split(path)
        if not bucket:
            raise IsADirectoryError(errno.EISDIR, "the root holds buckets, not objects", path)
        if not key:
            raise IsADirectoryError(errno.EISDIR, "a bucket is a directory, not an object", path)
        return bucket, key

    @contextlib.contextmanager
    def _translate(self, path: str) -> Iterator[None]:
        """natsobj's errors as the OSErrors fsspec callers expect (the original is chained)."""
        try:
            yield
        except ObjectNotFoundError as exc:
            raise FileNotFoundError(errno.ENOENT, str(exc), path) from exc
        except BucketNotFoundError as exc:
            self._stores.pop(exc.bucket, None)
            raise FileNotFoundError(errno.ENOENT, str(exc), path) from exc
        except (PermissionDeniedError, BucketSealedError) as exc:
            raise PermissionError(errno.EACCES, str(exc), path) from exc

    def _entry(self, bucket: str, info: ObjectInfo, name: str | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": name or f"{bucket}/{info.name}",
            "size": info.size,
            "type": "file",
            "mtime": info.mtime,
            "checksum": info.digest,
            "nuid": info.nuid,
            "chunks": info.chunks,
            "revision": info.revision,
            "description": info.description,
            "metadata": dict(info.metadata),
            "headers": {k: list(v) for k, v in info.headers.items()},
        }
        if info.link is not None:
            entry["link"] = {"bucket": info.link.bucket, "name": info.link.name}
        return entry

    @staticmethod
    def _dir(name: str) -> dict[str, Any]:
        return {"name": name, "size": 0, "type": "directory"}
