"""fsspec filesystem for NATS object stores: `nats://bucket/path/to/object`.

    import pandas as pd
    df = pd.read_csv("nats://bucket/data.csv")
    df.to_parquet("nats://bucket/data.parquet", storage_options={"servers": "nats://host:4222"})

Registered under the protocol "nats" through the `fsspec.specs` entry point. Built on
natsobj.sync: every operation is one call of the blocking API. Object names with "/" show as
directories, as in s3fs; buckets are the top-level directories.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from . import sync
from ._wire import digest_hex
from ._wire.errors import (
    BucketExistsError,
    BucketNotFoundError,
    BucketSealedError,
    InvalidBucketNameError,
    ObjectNotFoundError,
    PermissionDeniedError,
)
from ._wire.models import ObjectInfo

__all__ = ["NatsFile", "NatsFileSystem"]

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
_PUT_KEYS = ("description", "headers", "metadata", "chunk_size")


class NatsFileSystem(AbstractFileSystem):
    """NATS JetStream object stores as a filesystem: paths are `bucket/object/name`.

    Storage options: servers, context, creds, user, password, token, nkey, tls_cert, tls_key,
    tls_ca, ... (as natsobj.connect()); with none, NATS_URL / the natscli context / the
    embedded server. Listings are cached for `listings_expiry_time` seconds (default 5).
    """

    protocol = "nats"
    root_marker = ""

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

    # -----------------------------------------------------------------------------------------
    # connection and paths

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

    # -----------------------------------------------------------------------------------------
    # listings

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget cached listings: all, or those at, under and above `path`."""
        if path is None:
            self.dircache.clear()
            self._stores.clear()
        else:
            path = self._strip_protocol(path)
            prefix = path + "/"
            for key in [k for k in self.dircache if k.startswith(prefix)]:
                self.dircache.pop(key, None)
            while True:
                self.dircache.pop(path, None)
                if not path:
                    break
                path = self._parent(path)
        super().invalidate_cache(path)

    def _list_buckets(self) -> list[dict[str, Any]]:
        entries = [self._dir(name) for name in self.client.object_store_names()]
        self.dircache[""] = entries
        return entries

    def _list_bucket(self, bucket: str) -> dict[str, list[dict[str, Any]]]:
        """Every directory listing of a bucket from one list(); all of them are cached."""
        store = self._store(bucket)
        with self._translate(bucket):
            infos = store.list()
        dirs: dict[str, dict[tuple[str, str], dict[str, Any]]] = {bucket: {}}
        for info in infos:
            child = self._entry(bucket, info)
            parent = _listing_dir(bucket, info.name)
            while True:
                known = parent in dirs
                dirs.setdefault(parent, {})[(child["name"], child["type"])] = child
                if known or parent == bucket:
                    break
                child = self._dir(parent)
                parent = parent.rsplit("/", 1)[0]
        listings = {path: list(entries.values()) for path, entries in dirs.items()}
        for path, listing in listings.items():
            self.dircache[path] = listing
        return listings

    def ls(self, path: str, detail: bool = True, refresh: bool = False, **kwargs: Any) -> Any:
        """Entries at `path`: buckets at the root, objects and synthesized directories below."""
        path = self._strip_protocol(path)
        listing = None if refresh else self._cached_listing(path)
        if listing is None:
            if not path:
                listing = self._list_buckets()
            else:
                bucket = self._split(path)[0]
                listings = self._list_bucket(bucket)
                listing = listings.get(path)
                if listing is None:
                    parent = listings.get(self._parent(path), [])
                    listing = [e for e in parent if e["name"] == path and e["type"] == "file"]
                    if not listing:
                        raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)
        if detail:
            return [dict(entry) for entry in listing]
        return sorted(entry["name"] for entry in listing)

    def _cached_listing(self, path: str) -> list[dict[str, Any]] | None:
        """What ls(path) would say from the cache, or None when the cache cannot tell."""
        with contextlib.suppress(KeyError):
            return self.dircache[path]  # type: ignore[no-any-return]
        if not path:
            return None
        try:
            parent = self.dircache[self._parent(path)]
        except KeyError:
            return None
        files = [e for e in parent if e["name"] == path and e["type"] == "file"]
        if files:
            return files
        if any(e["name"] == path for e in parent):
            return None  # a directory whose own listing is not cached
        raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)

    def info(self, path: str, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Size, type, mtime and checksum (the SHA-256 digest), plus nuid, metadata, headers."""
        path = self._strip_protocol(path)
        if not path:
            return self._dir("")
        bucket, key = self._split(path)
        if not key:
            self._store(bucket)
            return self._dir(bucket)
        if not refresh:
            with contextlib.suppress(KeyError):
                listing = self.dircache[self._parent(path)]
                found = [e for e in listing if e["name"] == path]
                if not found:
                    raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)
                files = [e for e in found if e["type"] == "file"]
                return dict((files or found)[0])
        store = self._store(bucket)
        try:
            return self._entry(bucket, store.get_info(key))
        except ObjectNotFoundError:
            pass
        listings = self._list_bucket(bucket)
        if path in listings:
            return self._dir(path)
        raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)

    # -----------------------------------------------------------------------------------------
    # reading

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

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The object's bytes, or bytes [start, end) (negative: from the end) by range read."""
        bucket, key = self._split_key(path)
        store = self._store(bucket)
        with self._translate(path):
            if start is None and end is None:
                return store.get(key)
            if (start or 0) >= 0 and end is not None and end >= 0:
                return store.get(key, offset=start or 0, length=max(0, end - (start or 0)))
            if (start or 0) >= 0 and end is None:
                return store.get(key, offset=start or 0)
            with store.open(key, "rb", buffer_size=0) as reader:
                size = reader.size
                begin = 0 if start is None else start if start >= 0 else max(0, size + start)
                stop = size if end is None else end if end >= 0 else size + end
                reader.seek(begin)
                return reader.read(max(0, stop - begin))

    def get_file(
        self,
        rpath: str,
        lpath: Any,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        **kwargs: Any,
    ) -> None:
        """Download one object, verified, reporting bytes to `callback`."""
        if outfile is None and not isinstance(lpath, (str, os.PathLike)):
            outfile = lpath
        if outfile is None and self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        bucket, key = self._split_key(rpath)
        store = self._store(bucket)
        with self._translate(rpath):
            if outfile is not None:
                with store.open(key, "rb") as reader:
                    callback.set_size(reader.size)
                    while block := reader.read(self.blocksize):
                        outfile.write(block)
                        callback.relative_update(len(block))
                return
            with store.open(key, "rb", buffer_size=0) as reader:
                callback.set_size(reader.size)
            Path(lpath).parent.mkdir(parents=True, exist_ok=True)
            store.get_file(key, lpath, progress=callback.relative_update)

    def modified(self, path: str) -> datetime:
        """When the object was last written (or renamed, or its meta changed)."""
        mtime = self.info(path).get("mtime")
        if mtime is None:
            raise IsADirectoryError(errno.EISDIR, "directories have no mtime", path)
        return mtime  # type: ignore[no-any-return]

    def created(self, path: str) -> datetime:
        """When this version was written: objects are immutable, so the same as modified()."""
        return self.modified(path)

    def ukey(self, path: str) -> str:
        """Changes whenever the object does: its nuid and digest."""
        info = self.info(path, refresh=True)
        if info["type"] != "file":
            return super().ukey(path)  # type: ignore[no-any-return]
        return f"{info['nuid']}:{info['checksum']}"

    def checksum(self, path: str) -> int:
        """The SHA-256 digest of the object as an integer."""
        info = self.info(path, refresh=True)
        digest = digest_hex(info.get("checksum"))
        if not digest:
            return super().checksum(path)  # type: ignore[no-any-return]
        return int(digest, 16)

    # -----------------------------------------------------------------------------------------
    # writing

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Store `value` at `path` (mode="create": FileExistsError if it exists)."""
        bucket, key = self._split_key(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(errno.EEXIST, "object exists", path)
        store = self._store(bucket)
        with self._translate(path):
            store.put(key, value, **_put_options(kwargs))
        self.invalidate_cache(path)

    def put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """Upload one local file, reporting bytes to `callback`."""
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        bucket, key = self._split_key(rpath)
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(errno.EEXIST, "object exists", rpath)
        store = self._store(bucket)
        callback.set_size(os.path.getsize(lpath))
        with self._translate(rpath):
            store.put(key, Path(lpath), progress=callback.relative_update, **_put_options(kwargs))
        self.invalidate_cache(rpath)

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        """Create an empty object, or (truncate=False) bump an existing one's mtime."""
        if truncate or not self.exists(path):
            self.pipe_file(path, b"", **kwargs)
            return
        bucket, key = self._split_key(path)
        store = self._store(bucket)
        with self._translate(path):
            store.update_meta(key, store.get_info(key).meta)
        self.invalidate_cache(path)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy one object (bytes and meta) through this client; directories are skipped."""
        move = kwargs.pop("_move", False)
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if path1 == path2:
            return
        bucket1, key1 = self._split(path1)
        if not key1 or self.info(path1)["type"] == "directory":
            return  # directories exist only through their objects
        bucket2, key2 = self._split_key(path2)
        source, dest = self._store(bucket1), self._store(bucket2)
        with self._translate(path1):
            if move and bucket1 == bucket2:  # replaces the destination, as rename(2) does
                source.rename(key1, key2, overwrite=True)
            else:
                source.copy(key1, key2, to=dest)
                if move:
                    source.delete(key1)
        self.invalidate_cache(path2)
        if move:
            self.invalidate_cache(path1)

    def mv(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Move objects; within a bucket each is renamed in place (same nuid, no copy)."""
        if path1 == path2:
            return
        self.copy(
            path1,
            path2,
            recursive=recursive,
            maxdepth=maxdepth,
            on_error="raise",
            _move=True,
            **kwargs,
        )

    def rm_file(self, path: str) -> None:
        """Delete one object."""
        bucket, key = self._split_key(path)
        store = self._store(bucket)
        with self._translate(path):
            store.delete(key)
        self.invalidate_cache(path)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete objects; recursive=True on a bare bucket deletes the bucket (as s3fs does)."""
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        rest = []
        for p in paths:
            bucket, key = self._split(p)
            if bucket and not key and recursive and maxdepth is None:
                self._rm_bucket(bucket)
            else:
                rest.append(p)
        if not rest:
            return
        files = []
        for p in self.expand_path(rest, recursive=recursive, maxdepth=maxdepth):
            kind = "directory" if not self._split(p)[1] else self.info(p)["type"]
            if kind != "directory":
                files.append(p)
            elif not recursive:
                raise IsADirectoryError(errno.EISDIR, "use recursive=True", p)
            # a directory goes away with its last object
        for p in reversed(files):
            self.rm_file(p)

    def _rm_bucket(self, bucket: str) -> None:
        with self._translate(bucket):
            self.client.delete_object_store(bucket)
        self._stores.pop(bucket, None)
        self.invalidate_cache(bucket)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create a bucket for a bare bucket path (kwargs: bucket options); else a no-op.

        For `bucket/dir`, the bucket is created if missing when create_parents is true.
        """
        bucket, key = self._split(path)
        if not bucket:
            raise PermissionError(errno.EPERM, "the root exists already", path)
        exists = self._bucket_exists(bucket)
        if not key:
            if exists:
                raise FileExistsError(errno.EEXIST, "bucket exists", path)
            self._create_bucket(bucket, **kwargs)
        elif not exists:
            if not create_parents:
                raise FileNotFoundError(errno.ENOENT, "no such bucket", bucket)
            self._create_bucket(bucket, **kwargs)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Create the path's bucket if missing; directories below need no creating."""
        bucket, key = self._split(path)
        if not bucket:
            return
        if self._bucket_exists(bucket):
            if not key and not exist_ok:
                raise FileExistsError(errno.EEXIST, "bucket exists", path)
            return
        self._create_bucket(bucket)

    def rmdir(self, path: str) -> None:
        """Delete an empty bucket; for a directory inside a bucket, a no-op if it is empty."""
        path = self._strip_protocol(path)
        bucket, key = self._split(path)
        try:
            entries = self.ls(path, detail=True, refresh=True)
        except FileNotFoundError:
            if key:
                return
            raise
        if entries:
            raise OSError(errno.ENOTEMPTY, "directory not empty", path)
        if not key:
            self._rm_bucket(bucket)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self._store(bucket)
        except FileNotFoundError:
            return False
        return True

    def _create_bucket(self, bucket: str, **options: Any) -> None:
        try:
            store = self.client.create_object_store(bucket, **options)
        except BucketExistsError as exc:
            raise FileExistsError(errno.EEXIST, str(exc), bucket) from exc
        self._stores[bucket] = store
        self.invalidate_cache(bucket)


def _listing_dir(bucket: str, name: str) -> str:
    """The directory whose listing shows object `name`.

    A name with an empty segment ("/x", "a//b", "a/") shows as a file in the directory before
    that segment, so that no synthesized directory has a name fsspec would normalize away.
    """
    parts = name.split("/")
    if "" in parts:
        parts = [*parts[: parts.index("")], ""]
    return "/".join([bucket, *parts[:-1]])


def _put_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs[k] for k in _PUT_KEYS if kwargs.get(k) is not None}


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
        self._put_options = _put_options(kwargs)
        for name in _PUT_KEYS:
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
