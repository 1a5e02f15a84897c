"""Resumable uploads: a put of a local file that survives a crash and continues where it stopped.

While it uploads, the put records in the user's state dir the object's nuid and a checkpoint:
how many chunks from the first are acknowledged, and the SHA-256 of those bytes. A later
put_file(..., resume=True) of the same file finds the record, checks that the file is
unchanged (size, mtime, inode, and the checkpoint's digest re-computed from the file), checks
the chunks past the checkpoint against the file byte for byte, and publishes only the rest.
The digest committed is always computed from the file, so it can never disagree with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from .. import _wire as wire
from .._jetstream import DirectBatchReader
from .._transfer import ProgressCallback, locate_chunk, purge_subject, read_file_chunks
from .._wire.models import ObjectInfo
from .bucket import Bucket
from .put import PutRequest, Streamed, put_object

log = logging.getLogger("natsobj")

CHECKPOINT_CHUNKS = 32
"""Record a checkpoint every this many acknowledged chunks."""


def state_dir() -> Path:
    """Where resumable uploads keep their records (NATSOBJ_STATE_DIR overrides)."""
    override = os.environ.get("NATSOBJ_STATE_DIR")
    base = Path(override) if override else Path(platformdirs.user_state_dir("natsobj"))
    path = base / "uploads"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@dataclass
class UploadRecord:
    """What a resumable upload writes down to continue later."""

    bucket: str
    name: str
    path: str
    size: int
    mtime_ns: int
    inode: int
    chunk_size: int
    nuid: str
    checkpoint_chunks: int = 0
    checkpoint_sha256: str = hashlib.sha256().hexdigest()

    def same_file(self, other: UploadRecord) -> bool:
        keys = ("bucket", "name", "path", "size", "mtime_ns", "inode", "chunk_size")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def _record_path(bucket: str, name: str, path: Path) -> Path:
    key = hashlib.sha256(f"{bucket}\0{name}\0{path}".encode()).hexdigest()[:40]
    return state_dir() / f"{key}.json"


def _load(path: Path) -> UploadRecord | None:
    try:
        return UploadRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _save(path: Path, record: UploadRecord) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(record), fh)
    os.replace(tmp, path)


@dataclass
class ResumePoint:
    """Where a resumed put starts, and how it records its progress."""

    nuid: str
    first_index: int
    size_before: int
    hasher: hashlib._Hash
    record: UploadRecord
    record_path: Path
    _snapshots: dict[int, str] = field(default_factory=dict)

    def published(self, index: int, hasher: hashlib._Hash, acked_prefix: int) -> None:
        """Called after chunk `index - 1` went out: snapshot, and checkpoint what is acked."""
        if index % CHECKPOINT_CHUNKS == 0:
            self._snapshots[index] = hasher.copy().hexdigest()
        self._checkpoint(acked_prefix)

    def interrupted(self, acked_prefix: int) -> None:
        self._checkpoint(acked_prefix)

    def _checkpoint(self, acked_prefix: int) -> None:
        ready = [i for i in self._snapshots if i <= acked_prefix]
        if not ready:
            return
        best = max(ready)
        if best > self.record.checkpoint_chunks:
            self.record.checkpoint_chunks = best
            self.record.checkpoint_sha256 = self._snapshots[best]
            _save(self.record_path, self.record)
        for i in ready:
            del self._snapshots[i]


async def _stored_prefix(bucket: Bucket, nuid: str) -> int:
    """How many chunks of `nuid` the stream holds, if they are exactly chunks 0..n-1; else -1."""
    subject = wire.chunk_subject(bucket.name, nuid)
    info = await bucket.js.stream_info(bucket.stream, bucket=bucket.name, subjects_filter=subject)
    count = int((info.get("state", {}).get("subjects") or {}).get(subject, 0))
    if count == 0:
        return 0
    first = await bucket.js.direct_get(bucket.stream, {"seq": 1, "next_by_subj": subject})
    last = await bucket.js.direct_get_last(bucket.stream, subject)
    if first is None or last is None:
        return -1
    first_index = wire.parse_chunk_msg_id(first.headers.get(wire.MSG_ID_HEADER), nuid)
    last_index = wire.parse_chunk_msg_id(last.headers.get(wire.MSG_ID_HEADER), nuid)
    return count if (first_index, last_index) == (0, count - 1) else -1


async def _matches_file(
    bucket: Bucket, record: UploadRecord, fh: Any, upto: int
) -> hashlib._Hash | None:
    """Hash the file's first `upto` chunks, checking them against the checkpoint and, past it,
    against the chunks in the stream. The hasher if all agree, else None."""
    chunk_size = record.chunk_size
    hasher = hashlib.sha256()
    index = await asyncio.to_thread(_hash_chunks, fh, chunk_size, record.checkpoint_chunks, hasher)
    if index != record.checkpoint_chunks or hasher.copy().hexdigest() != record.checkpoint_sha256:
        return None
    if upto == index:
        return hasher
    probe = ObjectInfo(name=record.name, bucket=bucket.name, nuid=record.nuid)
    located = await locate_chunk(bucket.js, probe, index)
    if located is None:
        return None
    subject = wire.chunk_subject(bucket.name, record.nuid)
    fh.seek(index * chunk_size)
    async with DirectBatchReader(
        bucket.js, bucket.stream, subject, start_seq=located[0], idle_timeout=bucket.js.timeout
    ) as reader:
        while index < upto:
            stored = await reader.next()
            expected = fh.read(chunk_size)
            if stored is None or stored.data != expected:
                return None
            hasher.update(expected)
            index += 1
    return hasher


def _hash_chunks(fh: Any, chunk_size: int, count: int, hasher: hashlib._Hash) -> int:
    """Feed the file's first `count` chunks to `hasher`; return how many there were."""
    fh.seek(0)
    for index in range(count):
        block = fh.read(chunk_size)
        if len(block) != chunk_size:
            return index
        hasher.update(block)
    return count


async def put_file_resumable(
    bucket: Bucket,
    path: Path,
    name: str,
    *,
    chunk_size: int | None = None,
    description: str | None = None,
    headers: Any = None,
    metadata: Any = None,
    progress: ProgressCallback | None = None,
) -> ObjectInfo:
    """Upload `path` as `name`, continuing an interrupted upload of the same file if any."""
    request = PutRequest.make(
        name,
        max_payload=bucket.ctx.max_payload,
        chunk_size=chunk_size,
        description=description,
        headers=headers,
        metadata=metadata,
    )
    chunk_size = request.chunk_size
    path = path.resolve()
    stat = path.stat()
    record_path = _record_path(bucket.name, name, path)
    fresh = UploadRecord(
        bucket=bucket.name,
        name=name,
        path=str(path),
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        inode=stat.st_ino,
        chunk_size=chunk_size,
        nuid=wire.new_nuid(),
    )
    previous = _load(record_path)
    with open(path, "rb") as fh:
        record, start, hasher = fresh, 0, hashlib.sha256()
        if previous is not None:
            stored = await _stored_prefix(bucket, previous.nuid)
            resumed = None
            if previous.same_file(fresh) and stored >= previous.checkpoint_chunks and stored > 0:
                resumed = await _matches_file(bucket, previous, fh, stored)
            if resumed is not None:
                record, start, hasher = previous, stored, resumed
                log.info("resuming upload of %r at chunk %d", name, start)
            else:
                log.warning(
                    "cannot resume the upload of %r (file or chunks changed); starting over", name
                )
                await purge_subject(
                    bucket.js, bucket.name, wire.chunk_subject(bucket.name, previous.nuid)
                )
        _save(record_path, record)
        offset = start * chunk_size
        fh.seek(offset)
        if progress is not None and offset:
            progress(offset)
        resume = ResumePoint(
            nuid=record.nuid,
            first_index=start,
            size_before=offset,
            hasher=hasher,
            record=record,
            record_path=record_path,
        )
        upload = Streamed(bucket, read_file_chunks(fh, chunk_size), resume=resume)
        info = await put_object(bucket, request, upload, progress=progress)
    record_path.unlink(missing_ok=True)
    return info
