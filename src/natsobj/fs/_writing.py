"""How NatsFileSystem writes: puts, uploads, copies and moves, deletes, and buckets as the
top-level directories (mkdir and rmdir create and delete them)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from .._wire.errors import BucketExistsError
from ._base import put_options
from ._listing import ListingFileSystem


class WritingFileSystem(ListingFileSystem):
    """Writes of a NatsFileSystem; each one invalidates the cached listings it changes."""

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Store `value` at `path` (mode="create": FileExistsError if it exists)."""
        bucket, key = self._split_key(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(errno.EEXIST, "object exists", path)
        store = self._store(bucket)
        with self._translate(path):
            store.put(key, value, **put_options(kwargs))
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
            store.put(key, Path(lpath), progress=callback.relative_update, **put_options(kwargs))
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
