"""read_chunks: an object's chunks streamed back and checked against its meta, never hanging.

Batched direct gets (ADR-31) answered by any replica, or a flow-controlled consumer for a
whole object; size, count and digest verified before the last chunk is handed over.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _wire as wire
from .._jetstream import (
    ConsumerReader,
    DirectBatchReader,
    JetStream,
    StoredMsg,
)
from .._wire.errors import (
    ChunkMismatchError,
    ConnectionLostError,
    DigestMismatchError,
    JetStreamAPIError,
    MissingChunksError,
    PermissionDeniedError,
    SizeMismatchError,
    StoreTimeoutError,
)
from .._wire.models import ObjectInfo

log = logging.getLogger("natsobj")

# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class ReadPlan:
    """Where to start reading and how much of the object to deliver."""

    start_seq: int = 1
    start_index: int = 0
    skip: int = 0
    """Bytes to drop from the first delivered chunk."""
    length: int | None = None
    """Bytes to deliver in all (None = to the end)."""
    verify: bool = True
    """Check size, chunk count and digest (only possible from the first byte to the last)."""


async def read_chunks(
    js: JetStream,
    info: ObjectInfo,
    *,
    plan: ReadPlan | None = None,
    idle_timeout: float = 10.0,
    batch_bytes: int = 8 * 1024 * 1024,
    lag_retry: float = 2.0,
    prefer_consumer: bool = True,
) -> AsyncIterator[bytes]:
    """Yield the object's bytes chunk by chunk, checking them against its meta.

    With a full read, the last chunk is held back until size, count and digest verify, so a
    caller never receives the end of a corrupt object. A missing chunk, or a server that stops
    answering, ends in an error after `idle_timeout`, never in a hang.
    """
    plan = plan or ReadPlan()
    batch_bytes = _range_batch(info, plan, batch_bytes)
    tally = _Tally(info, hashlib.sha256() if plan.verify else None, plan.skip, plan.length)
    next_seq = plan.start_seq
    held: bytes | None = None
    lag_deadline: float | None = None
    attempt = 0
    last_progress = time.monotonic()
    probe_timeout = min(1.0, idle_timeout)
    # A whole-object read streams from a push consumer (cheapest for the server); ranges, and
    # any retry, use direct get, which needs no consumer and no meta leader.
    use_consumer = plan.verify and prefer_consumer

    while True:
        stalled = False
        reader = await _open_reader(js, info, next_seq, use_consumer, batch_bytes, probe_timeout)
        use_consumer = False  # a second attempt reads with direct get
        try:
            while True:
                try:
                    stored = await reader.next()
                except (StoreTimeoutError, ConnectionLostError):
                    # The replica serving us died or stalled: ask again from where we are.
                    if time.monotonic() - last_progress > idle_timeout:
                        raise
                    stalled = True
                    break
                if stored is None:
                    break
                last_progress = time.monotonic()
                if not stored.data:
                    continue  # NATS.Net writes an empty trailing chunk
                data = tally.take(stored.data)
                if data is None:
                    continue  # all of it before the range
                if held is not None:
                    yield held
                held = data
                if tally.done:
                    break
            next_seq = reader.next_seq
        finally:
            await reader.__aexit__(None, None, None)
        if stalled:
            await asyncio.sleep(0.05)
            continue
        if tally.done or not tally.short:
            break
        # Fewer chunks than promised: a replica behind the leader, or chunks gone.
        now = time.monotonic()
        lag_deadline = lag_deadline or now + lag_retry
        if now >= lag_deadline:
            raise tally.missing_chunks()
        attempt += 1
        await asyncio.sleep(min(0.05 * attempt, 0.5))

    tally.verify()
    if held is not None:
        yield held


def _range_batch(info: ObjectInfo, plan: ReadPlan, batch_bytes: int) -> int:
    """A range read asks for the chunks that hold the range (one more, for the headers),
    not a whole batch: a 1 MiB range then costs 1 MiB, not 8."""
    if plan.verify or plan.length is None:
        return batch_bytes
    chunk = info.chunk_size or wire.DEFAULT_CHUNK_SIZE
    wanted = plan.skip + plan.length
    return min(batch_bytes, (-(-wanted // chunk) + 1) * chunk)


async def _open_reader(
    js: JetStream,
    info: ObjectInfo,
    start_seq: int,
    consumer: bool,
    batch_bytes: int,
    probe_timeout: float,
) -> ConsumerReader | DirectBatchReader:
    """An entered reader of the object's chunks from `start_seq`: a consumer if asked for and
    the server grants one, else batched direct gets."""
    stream = wire.stream_name(info.bucket)
    subject = wire.chunk_subject(info.bucket, info.nuid)
    if consumer and js.reads.alone():  # side by side, reads share batched direct gets
        with contextlib.suppress(StoreTimeoutError, JetStreamAPIError, PermissionDeniedError):
            return await ConsumerReader(
                js, stream, subject, start_seq=start_seq, idle_timeout=probe_timeout
            ).__aenter__()
    chunk_size = info.chunk_size or wire.DEFAULT_CHUNK_SIZE
    return await DirectBatchReader(
        js,
        stream,
        subject,
        start_seq=start_seq,
        batch=max(1, batch_bytes // max(1, chunk_size)),
        batch_bytes=batch_bytes,
        max_buffered=2 * batch_bytes,
        idle_timeout=probe_timeout,
    ).__aenter__()


class _Tally:
    """What a read has received so far, checked against the object's meta as it goes.

    With a hasher the read is verified (from the first byte to the last); `skip` and
    `remaining` cut the range to deliver out of the chunks.
    """

    def __init__(self, info: ObjectInfo, hasher: Any, skip: int, remaining: int | None) -> None:
        self.info = info
        self.hasher = hasher
        self.skip = skip
        self.remaining = remaining
        self.received_bytes = 0
        self.received_chunks = 0

    def where(self) -> str:
        return f"object {self.info.name!r} in bucket {self.info.bucket!r}"

    @property
    def done(self) -> bool:
        """An unverified (range) read has all it wants; a verified one reads to the end."""
        return self.remaining == 0 and self.hasher is None

    @property
    def short(self) -> bool:
        """A verified read ended with fewer bytes than the meta promises."""
        return self.hasher is not None and self.received_bytes < self.info.size

    def take(self, data: bytes) -> bytes | None:
        """Count and hash a chunk; the part of it to deliver, None if it is all before the range."""
        self.received_chunks += 1
        self.received_bytes += len(data)
        if self.hasher is not None:
            if self.received_bytes > self.info.size:
                raise SizeMismatchError(
                    f"{self.where()} has more bytes than its meta says "
                    f"({self.info.size}); the object is corrupt: re-upload it"
                )
            self.hasher.update(data)
        if self.skip:
            if self.skip >= len(data):
                self.skip -= len(data)
                return None
            data = data[self.skip :]
            self.skip = 0
        if self.remaining is not None:
            if len(data) >= self.remaining:
                data = data[: self.remaining]
                self.remaining = 0
            else:
                self.remaining -= len(data)
        return data

    def missing_chunks(self) -> MissingChunksError:
        return MissingChunksError(
            f"{self.where()} is missing chunks: read {self.received_chunks} of "
            f"{self.info.chunks} chunks ({self.received_bytes} of {self.info.size} bytes); the "
            "stream lost them, so the object cannot be read: delete it and upload it again"
        )

    def verify(self) -> None:
        """Raise unless a verified read got the meta's size, chunk count and digest."""
        if self.hasher is None:
            return
        info, where = self.info, self.where()
        if self.received_bytes != info.size:
            raise SizeMismatchError(
                f"{where}: read {self.received_bytes} bytes, its meta says {info.size}"
            )
        if info.chunks and self.received_chunks != info.chunks:
            raise ChunkMismatchError(
                f"{where}: read {self.received_chunks} chunks, its meta says {info.chunks}"
            )
        expected = wire.parse_digest(info.digest)
        actual = self.hasher.digest()
        if expected is not None and actual != expected:
            raise DigestMismatchError(
                f"received a corrupt object, digests do not match: {where} "
                f"(expected {info.digest}, got {wire.format_digest(actual)})"
            )


async def locate_chunk(js: JetStream, info: ObjectInfo, index: int) -> tuple[int, bool] | None:
    """The stream sequence of chunk `index` and whether natsobj wrote it (uniform chunks).

    Uses the pending count that batched direct get reports to learn a message's position among
    the object's chunks, jumping ahead by the difference until it lands on `index`.
    """
    stream = wire.stream_name(info.bucket)
    subject = wire.chunk_subject(info.bucket, info.nuid)

    async def probe(seq: int) -> StoredMsg | None:
        reader = DirectBatchReader(
            js, stream, subject, start_seq=seq, batch=1, max_buffered=0, idle_timeout=js.timeout
        )
        async with reader:
            return await reader.next()

    first = await probe(1)
    if first is None or first.num_pending is None:
        return None
    total = first.num_pending + 1
    current = first
    for _ in range(64):
        position = total - 1 - (current.num_pending or 0)
        if position == index:
            natsobj_written = (
                wire.parse_chunk_msg_id(current.headers.get(wire.MSG_ID_HEADER), info.nuid) == index
            )
            return current.seq, natsobj_written
        if position > index:
            return None
        nxt = await probe(current.seq + (index - position))
        if nxt is None or nxt.num_pending is None:
            return None
        current = nxt
    return None


class SpooledBytes:
    """Collects an object's bytes with one growing buffer, handing it over without a copy."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()

    def write(self, data: bytes) -> None:
        self._buf.write(data)

    def getvalue(self) -> bytes:
        value = self._buf.getvalue()
        self._buf = io.BytesIO()
        return value


def temp_path_for(target: Path) -> Path:
    """A hidden partial-download path beside `target`."""
    return target.with_name(f".{target.name}.natsobj-part")
