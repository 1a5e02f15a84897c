"""Reading objects: links followed to the bytes, whole or ranged reads, downloads to files.

A full read is verified (size, chunk count, digest) before its last chunk is handed over; a
range read of uniform chunks starts at the chunk that holds its first byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import _wire as wire
from .._transfer import (
    ProgressCallback,
    ReadPlan,
    SpooledBytes,
    locate_chunk,
    read_chunks,
    temp_path_for,
)
from .._wire.errors import (
    BadObjectMetaError,
    ChunkMismatchError,
    DigestMismatchError,
    LinkIsABucketError,
)
from .._wire.models import ObjectInfo
from .bucket import Bucket

log = logging.getLogger("natsobj")
MAX_LINK_DEPTH = 10


async def resolve(bucket: Bucket, name: str, depth: int = 0) -> tuple[Bucket, ObjectInfo]:
    """Follow links to the store and info that hold the bytes."""
    info = await bucket.get_info(name)
    link = info.link
    if link is None:
        if not info.nuid:
            raise BadObjectMetaError(f"object-store meta information invalid: {name!r} has no nuid")
        if info.bucket != bucket.name:  # chunks live beside their meta, whatever it says
            info = replace(info, bucket=bucket.name)
        return bucket, info
    if link.is_bucket_link:
        raise LinkIsABucketError(name, link.bucket)
    if depth >= MAX_LINK_DEPTH:
        raise BadObjectMetaError(f"link chain from {name!r} is too deep (a cycle?)")
    # in a copy, a link to an origin's bucket stays inside the copy (spec §7.6)
    here = link.bucket == bucket.name or link.bucket in bucket.origin_buckets
    target = bucket if here else await Bucket.bind(bucket.ctx, link.bucket)
    return await resolve(target, link.name or "", depth + 1)


async def iter_object(
    bucket: Bucket,
    info: ObjectInfo,
    *,
    offset: int = 0,
    length: int | None = None,
) -> AsyncIterator[bytes]:
    timeout = bucket.settings.chunk_timeout
    if info.size == 0:
        _check_empty(info)  # no chunks to read: check what the meta claims instead
        return
    if length == 0:
        return
    if offset == 0 and (length is None or length >= info.size):
        async for chunk in read_chunks(bucket.js, info, idle_timeout=timeout):
            yield chunk
        return
    plan = await plan_range(bucket, info, offset, length)
    async for chunk in read_chunks(bucket.js, info, plan=plan, idle_timeout=timeout):
        yield chunk


async def plan_range(bucket: Bucket, info: ObjectInfo, offset: int, length: int | None) -> ReadPlan:
    """Where a range read starts: at the chunk holding `offset` when chunks are uniform."""
    chunk_size = info.chunk_size
    wanted = info.size - offset if length is None else min(length, info.size - offset)
    if chunk_size and info.chunks == -(-info.size // chunk_size):
        index = offset // chunk_size
        located = await locate_chunk(bucket.js, info, index)
        if located is not None and located[1]:
            seq, _ = located
            return ReadPlan(
                start_seq=seq,
                start_index=index,
                skip=offset - index * chunk_size,
                length=wanted,
                verify=False,
            )
    # chunks of unknown sizes (written by another client): read from the start
    return ReadPlan(skip=offset, length=wanted, verify=False)


async def get_bytes(
    bucket: Bucket, name: str, *, offset: int = 0, length: int | None = None
) -> bytes:
    """The object's bytes (or `length` bytes from `offset`), verified.

    A full read checks size, chunk count and digest. A range past the end returns b"".
    """
    _, _, chunks = await open_chunks(bucket, name, offset, length)
    buf = SpooledBytes()
    async for chunk in chunks:
        buf.write(chunk)
    return buf.getvalue()


async def open_chunks(
    bucket: Bucket, name: str, offset: int = 0, length: int | None = None
) -> tuple[Bucket, ObjectInfo, AsyncIterator[bytes]]:
    if offset < 0 or (length is not None and length < 0):
        raise ValueError("offset and length must not be negative")
    store, info = await resolve(bucket, name)
    return store, info, iter_object(store, info, offset=offset, length=length)


async def get_file(
    bucket: Bucket,
    name: str,
    path: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    resume: bool = False,
) -> ObjectInfo:
    """Download to `path` via a temporary file renamed into place once it verifies.

    With resume=True, bytes left by an interrupted download of the same version are kept
    and only the rest is fetched; the whole file's digest is still checked.
    """
    target = Path(path)
    if target.is_dir():
        target = target / Path(name).name
    store, info = await resolve(bucket, name)
    part = temp_path_for(target)
    stamp = part.with_name(part.name + ".json")
    start = 0
    if resume and part.exists() and stamp.exists():
        try:
            recorded = json.loads(stamp.read_text())
        except ValueError:
            recorded = {}
        if recorded.get("nuid") == info.nuid and recorded.get("digest") == info.digest:
            start = min(part.stat().st_size, info.size)
        else:
            log.warning("%s changed since the interrupted download; starting over", name)
    if resume:
        stamp.write_text(json.dumps({"nuid": info.nuid, "digest": info.digest}))
    try:
        # A full read verifies itself; a resumed one is checked here, prefix included.
        hasher = hashlib.sha256() if start else None
        with open(part, "r+b" if start else "wb") as out:
            if hasher is not None:
                await asyncio.to_thread(_hash_prefix, out, start, hasher)
                out.seek(start)
                out.truncate()
                if progress is not None:
                    progress(start)
            # Written inline: measured, a writer thread was no faster (it waits for the
            # GIL behind the event loop) and let chunks pile up in memory. Each write goes
            # straight to the file, so an interruption leaves what arrived for a resume.
            async for chunk in iter_object(store, info, offset=start):
                out.write(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                if progress is not None:
                    progress(len(chunk))
        if hasher is not None:
            expected = wire.parse_digest(info.digest)
            if expected is not None and hasher.digest() != expected:
                part.unlink(missing_ok=True)
                stamp.unlink(missing_ok=True)
                raise DigestMismatchError(
                    f"resumed download of {name!r} does not match its digest; the partial "
                    "file was discarded: download it again"
                )
        os.replace(part, target)
        stamp.unlink(missing_ok=True)
    except BaseException:
        if not resume:
            part.unlink(missing_ok=True)
            stamp.unlink(missing_ok=True)
        raise
    return info


def _check_empty(info: ObjectInfo) -> None:
    """An object of size 0 has no chunks and the digest of no bytes."""
    where = f"object {info.name!r} in bucket {info.bucket!r}"
    if info.chunks:
        raise ChunkMismatchError(f"{where}: size 0 but {info.chunks} chunks; it is corrupt")
    expected = wire.parse_digest(info.digest)
    if expected is not None and expected != hashlib.sha256().digest():
        raise DigestMismatchError(
            f"received a corrupt object, digests do not match: {where} has size 0 but "
            f"digest {info.digest}"
        )


def _hash_prefix(fh: Any, length: int, hasher: hashlib._Hash) -> None:
    """Feed the first `length` bytes of an open file to `hasher` (on a thread)."""
    fh.seek(0)
    left = length
    while left > 0:
        block = fh.read(min(left, 1 << 20))
        if not block:
            break
        hasher.update(block)
        left -= len(block)


class ObjectReader:
    """An object opened for streaming: iterate its chunks, read(n), seek(); `.info` is its meta.

    The version is fixed when the reader opens: seeking reads the same version, never a newer
    one. A read from the start to the end is verified (size, chunk count, digest).
    """

    def __init__(
        self, bucket: Bucket, name: str, *, offset: int = 0, length: int | None = None
    ) -> None:
        self._bucket = bucket
        self._name = name
        self._start = offset
        self._length = length
        self._owner: Bucket | None = None
        self._chunks: AsyncIterator[bytes] | None = None
        self._buffer = b""
        self._pos = offset
        self._eof = False
        self.info: ObjectInfo | None = None

    async def __aenter__(self) -> ObjectReader:
        if self._start < 0 or (self._length is not None and self._length < 0):
            raise ValueError("offset and length must not be negative")
        self._owner, self.info = await resolve(self._bucket, self._name)
        self._open_at(self._start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def _end(self) -> int:
        assert self.info is not None
        if self._length is None:
            return self.info.size
        return min(self.info.size, self._start + self._length)

    def _open_at(self, pos: int) -> None:
        assert self._owner is not None and self.info is not None
        self._pos = pos
        self._buffer = b""
        self._eof = pos >= self._end
        self._chunks = iter_object(
            self._owner, self.info, offset=pos, length=max(0, self._end - pos)
        )

    def iter_range(self, offset: int, length: int) -> AsyncIterator[bytes]:
        """`length` bytes from `offset` of the version this reader opened, as chunks; reads
        from NATS only the chunks that hold them (the whole object is verified, not a part)."""
        if self._owner is None or self.info is None:
            raise RuntimeError("use 'async with store.open(name) as reader'")
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        return iter_object(self._owner, self.info, offset=offset, length=length)

    async def aclose(self) -> None:
        if self._chunks is not None and hasattr(self._chunks, "aclose"):
            await self._chunks.aclose()  # type: ignore[attr-defined]

    def tell(self) -> int:
        """The position of the next byte read() returns."""
        return self._pos

    async def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move to `offset` (from the start, the current position or the end of the object)."""
        if self._chunks is None:
            raise RuntimeError("use 'async with store.open(name) as reader'")
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._end}[whence]
        target = max(0, base + offset)
        if target != self._pos:
            await self.aclose()
            self._open_at(target)
        return self._pos

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[bytes]:
        if self._chunks is None:
            raise RuntimeError("use 'async with store.open(name) as reader'")
        if self._buffer:
            data, self._buffer = self._buffer, b""
            self._pos += len(data)
            yield data
        async for chunk in self._chunks:
            self._pos += len(chunk)
            yield chunk
        self._eof = True

    async def read(self, n: int = -1) -> bytes:
        """Up to n bytes (all that is left with n < 0); b"" at the end."""
        if self._chunks is None:
            raise RuntimeError("use 'async with store.open(name) as reader'")
        parts = [self._buffer] if self._buffer else []
        have = len(self._buffer)
        self._buffer = b""
        while (n < 0 or have < n) and not self._eof:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        if n >= 0 and len(data) > n:
            data, self._buffer = data[:n], data[n:]
        self._pos += len(data)
        return data
