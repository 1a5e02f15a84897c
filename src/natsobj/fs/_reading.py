"""How NatsFileSystem reads: whole objects and byte ranges, downloads, and the times and
checksums fsspec asks about."""

from __future__ import annotations

import errno
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from .._wire import digest_hex
from ._listing import ListingFileSystem


class ReadingFileSystem(ListingFileSystem):
    """Reads of a NatsFileSystem, each one call of the blocking API."""

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
