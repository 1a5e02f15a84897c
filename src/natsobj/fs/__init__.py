"""fsspec filesystem for NATS object stores: `nats://bucket/path/to/object`.

    import pandas as pd
    df = pd.read_csv("nats://bucket/data.csv")
    df.to_parquet("nats://bucket/data.parquet", storage_options={"servers": "nats://host:4222"})

Registered under the protocol "nats" through the `fsspec.specs` entry point. Built on
natsobj.sync: every operation is one call of the blocking API. Object names with "/" show as
directories, as in s3fs; buckets are the top-level directories.

The filesystem is assembled from its parts: _base (connection, paths, errors), _listing (ls,
info and the listing cache), _reading and _writing. NatsFileSystem and the file it opens,
NatsFile, are defined here: the fsspec entry point names natsobj.fs:NatsFileSystem.
"""

from __future__ import annotations

import errno
from typing import Any

from fsspec.spec import AbstractBufferedFile

from .. import sync

# digest_hex, the errors and ObjectInfo are re-exported: this module had them when it was one
# file (code may have imported them from here).
from .._wire import digest_hex as digest_hex
from .._wire.errors import BucketExistsError as BucketExistsError
from .._wire.errors import BucketNotFoundError as BucketNotFoundError
from .._wire.errors import BucketSealedError as BucketSealedError
from .._wire.errors import InvalidBucketNameError as InvalidBucketNameError
from .._wire.errors import ObjectNotFoundError as ObjectNotFoundError
from .._wire.errors import PermissionDeniedError as PermissionDeniedError
from .._wire.models import ObjectInfo as ObjectInfo
from ._base import PUT_KEYS, put_options
from ._reading import ReadingFileSystem
from ._writing import WritingFileSystem

__all__ = ["NatsFile", "NatsFileSystem"]


class NatsFileSystem(ReadingFileSystem, WritingFileSystem):
    """NATS JetStream object stores as a filesystem: paths are `bucket/object/name`.

    Storage options: servers, context, creds, user, password, token, nkey, tls_cert, tls_key,
    tls_ca, ... (as natsobj.connect()); with none, NATS_URL / the natscli context / the
    embedded server. Listings are cached for `listings_expiry_time` seconds (default 5).
    """

    protocol = "nats"
    root_marker = ""

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> NatsFile:
        return NatsFile(
            self,
            path,
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )


class NatsFile(AbstractBufferedFile):
    """An object opened through fsspec: random-access reads, streamed writes.

    Reading fetches the ranges fsspec's cache asks for; writing streams one put that commits
    on close (or on commit() inside a transaction). Leaving a `with` block by an exception
    discards the write.
    """

    DEFAULT_BLOCK_SIZE = 4 * 2**20

    def __init__(
        self,
        fs: NatsFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = "default",
        autocommit: bool = True,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        bucket, self.key = fs._split_key(path)
        self.store = fs._store(bucket)
        self._put_options = put_options(kwargs)
        for name in PUT_KEYS:
            kwargs.pop(name, None)
        self._reader: sync.ObjectReader | None = None
        self._writer: sync.ObjectWriter | None = None
        size = None
        if mode == "rb":
            with fs._translate(path):
                self._reader = self.store.open(self.key, "rb", buffer_size=0)
            size = self._reader.size
        elif mode == "xb" and fs.exists(path):
            raise FileExistsError(errno.EEXIST, "object exists", path)
        super().__init__(
            fs,
            fs._strip_protocol(path),
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_type=cache_type,
            cache_options=cache_options,
            size=size,
            **kwargs,
        )
        if self._reader is not None:
            self.details = fs._entry(bucket, self._reader.info, name=self.path)

    def _fetch_range(self, start: int, end: int) -> bytes:
        assert self._reader is not None
        with self.fs._translate(self.path):
            self._reader.seek(start)
            return self._reader.read(max(0, end - start))

    def _initiate_upload(self) -> None:
        with self.fs._translate(self.path):
            self._writer = self.store.open(self.key, "wb", **self._put_options)
            if self.mode == "ab" and self.fs.exists(self.path):
                with self.store.open(self.key, "rb") as old:
                    while block := old.read(self.blocksize):
                        self._writer.write(block)

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._writer is not None
        with self.fs._translate(self.path):
            self._writer.write(self.buffer.getbuffer())
            if final and self.autocommit:
                self.commit()
        return True

    def commit(self) -> None:
        """Publish the object (its chunks are already stored)."""
        if self._writer is not None:
            with self.fs._translate(self.path):
                self._writer.close()
            self.fs.invalidate_cache(self.path)

    def discard(self) -> None:
        """Throw the write away: no object, no chunks."""
        if self._writer is not None:
            self._writer.abort()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        super().close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self.mode != "rb" and not self.closed:
            self.closed = True
            self.discard()
        else:
            self.close()

    def __del__(self) -> None:
        if self.closed:
            return
        if self.mode == "rb":
            self.close()
        else:
            # an unclosed write commits nothing (fsspec's default would publish a partial
            # file); the dropped sync writer discards its put without blocking
            self.closed = True
            self._writer = None
