"""Chunk runs: an object written in pieces at different times, then committed once.

A `ChunkRun` is chunks 0..n-1 of a version (a nuid) that has no meta yet: their count, size,
running SHA-256 and the stream sequence of the last one. `ChunkRuns.append` adds a piece to a
run, all or nothing (a failed piece's chunks are deleted, the run before it stays intact);
`ChunkRuns.commit` stores the meta of a run, optionally appending the rest of the object
first, through the put protocol (`put.put_object`: the same guards, revision checks,
`before_commit` hook and purge of the replaced version as any put). Chunks are cut to the
run's chunk size, so a run can only be continued from a chunk boundary: the object's chunks
stay uniform and range reads stay direct.

Until its commit a run is an orphan to `purge_orphans`; chunks written with a `hold_until`
time carry `CHUNK_HOLD_HEADER`, and purge_orphans spares their subject until then.
The S3 gateway's multipart uploads write parts that arrive in order this way.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import _wire as wire
from .._jetstream import DirectBatchReader, StoredMsg, retrying
from .._transfer import (
    ChunkPublisher,
    ProgressCallback,
    PutSource,
    iter_source,
    purge_subject,
    run_to_end,
)
from .._wire.errors import ObjectStoreError
from .._wire.models import ObjectInfo
from .bucket import Bucket
from .put import BeforeCommit, PutRequest, put_object

Check = Callable[["ChunkRun"], Awaitable[None]]


@dataclass(frozen=True)
class ChunkRun:
    """Chunks 0..chunks-1 of version `nuid`, written, with no meta yet."""

    nuid: str
    chunk_size: int
    chunks: int = 0
    size: int = 0
    last_seq: int = 0
    """The stream sequence of the last chunk (0 for an empty run)."""
    hasher: Any = None
    """The SHA-256 of the run's bytes so far (never updated in place: copied to continue)."""

    @property
    def aligned(self) -> bool:
        """True if the run ends on a chunk boundary, so it can be continued."""
        return self.size == self.chunks * self.chunk_size

    def sha256(self) -> Any:
        """A copy of the run's SHA-256 state, to continue or to finish."""
        return self.hasher.copy() if self.hasher is not None else hashlib.sha256()


class ChunkRuns:
    """Chunk runs in one bucket; get it as `ObjectStore.runs`."""

    def __init__(self, bucket: Bucket) -> None:
        self._bucket = bucket

    def start(self, chunk_size: int | None = None) -> ChunkRun:
        """An empty run on a fresh nuid (nothing is sent)."""
        size = chunk_size or wire.DEFAULT_CHUNK_SIZE
        return ChunkRun(wire.new_nuid(), size, hasher=hashlib.sha256())

    async def append(
        self,
        run: ChunkRun,
        data: PutSource,
        *,
        hold_until: datetime | None = None,
        rewrite: int | None = None,
        check: Check | None = None,
    ) -> ChunkRun:
        """Write `data` as the next chunks of `run` and return the longer run, all or nothing.

        Once every chunk is acknowledged `check(longer_run)` runs; if it (or anything before)
        raises, the chunks this call wrote are deleted and the error is raised. `hold_until`:
        purge_orphans spares the run until then. `rewrite` goes into each chunk's Nats-Msg-Id:
        the duplicate window drops a chunk whose id it saw before (one of a failed piece,
        deleted, then written again), so by default each call takes a fresh random one.
        """
        if not run.aligned:
            raise ValueError(f"run {run.nuid} ends mid-chunk: nothing can follow it")
        bucket = self._bucket
        settings = bucket.settings
        publisher = ChunkPublisher(
            bucket.js,
            bucket.name,
            bucket.ctx.acks,
            window_bytes=settings.window_bytes,
            ack_timeout=settings.ack_timeout,
            stall_timeout=settings.stall_timeout,
            first_index=run.chunks,
            probe=bucket.write_refused,
        )
        subject = wire.chunk_subject(bucket.name, run.nuid)
        headers = {wire.CHUNK_HOLD_HEADER: wire.format_time(hold_until)} if hold_until else None
        hasher = run.sha256()
        if rewrite is None:
            rewrite = 1 + secrets.randbelow(1 << 30)
        index, size = run.chunks, run.size
        async with publisher:
            try:
                async for chunk in iter_source(data, run.chunk_size):
                    hasher.update(chunk)
                    msg_id = wire.chunk_msg_id(run.nuid, index, rewrite)
                    await publisher.publish(subject, chunk, index, msg_id, headers)
                    index += 1
                    size += len(chunk)
                await publisher.flush()
                last_seq = publisher.stats.sequences.get(index - 1, run.last_seq)
                longer = ChunkRun(run.nuid, run.chunk_size, index, size, last_seq, hasher)
                if check is not None:
                    await check(longer)
            except BaseException:
                if publisher.stats.published:
                    await run_to_end(self._cut(run, publisher))
                raise
        return longer

    async def _cut(self, run: ChunkRun, publisher: ChunkPublisher) -> None:
        """Let the chunks sent settle, then delete those past `run`."""
        await publisher.settle(self._bucket.settings.ack_timeout * 2)
        await self.truncate(run)

    async def truncate(self, run: ChunkRun) -> int:
        """Delete the messages on the run's subject after its last chunk (a failed piece's);
        returns how many. Whether the subject is back to `run` is `intact(run)`'s answer."""
        bucket = self._bucket
        stale = [msg.seq async for msg in self._messages(run.nuid, run.last_seq + 1)]
        for seq in stale:
            await retrying(
                lambda s=seq: bucket.js.api(  # type: ignore[misc]
                    f"STREAM.MSG.DELETE.{bucket.stream}",
                    {"seq": s, "no_erase": True},
                    bucket=bucket.name,
                ),
                within=bucket.settings.stall_timeout,
            )
        return len(stale)

    async def intact(self, run: ChunkRun) -> bool:
        """True if the stream holds exactly the run's chunks on its subject (nothing after)."""
        bucket = self._bucket
        subject = wire.chunk_subject(bucket.name, run.nuid)
        info = await bucket.js.stream_info(
            bucket.stream, bucket=bucket.name, subjects_filter=subject
        )
        count = int((info.get("state", {}).get("subjects") or {}).get(subject, 0))
        if count != run.chunks:
            return False
        if count == 0:
            return True
        last = await bucket.js.direct_get_last(bucket.stream, subject)
        return last is not None and last.seq == run.last_seq

    async def read(self, nuid: str, *, after_seq: int = 0, chunks: int) -> AsyncIterator[bytes]:
        """The payloads of the `chunks` chunks of `nuid` that follow stream sequence
        `after_seq`; MissingChunksError-like ObjectStoreError if fewer are stored."""
        seen = 0
        if chunks <= 0:
            return
        async for msg in self._messages(nuid, after_seq + 1):
            yield msg.data
            seen += 1
            if seen == chunks:
                return
        raise ObjectStoreError(
            f"bucket {self._bucket.name!r}: {seen} of {chunks} chunks of {nuid} after "
            f"sequence {after_seq} are stored"
        )

    async def rebuild(self, nuid: str, *, chunk_size: int, chunks: int) -> ChunkRun:
        """The run of `nuid`'s first `chunks` chunks read back from the stream (its SHA-256
        recomputed): for a process that did not write it. ObjectStoreError if it has fewer."""
        hasher = hashlib.sha256()
        size = last_seq = seen = 0
        if chunks:
            async for msg in self._messages(nuid, 1):
                hasher.update(msg.data)
                size += len(msg.data)
                last_seq = msg.seq
                seen += 1
                if seen == chunks:
                    break
        if seen != chunks:
            raise ObjectStoreError(
                f"bucket {self._bucket.name!r}: {seen} of {chunks} chunks of {nuid} are stored"
            )
        return ChunkRun(nuid, chunk_size, chunks, size, last_seq, hasher)

    async def _messages(self, nuid: str, start_seq: int) -> AsyncIterator[StoredMsg]:
        bucket = self._bucket
        subject = wire.chunk_subject(bucket.name, nuid)
        async with DirectBatchReader(
            bucket.js, bucket.stream, subject, start_seq=start_seq, idle_timeout=bucket.js.timeout
        ) as reader:
            while True:
                msg = await reader.next()
                if msg is None:
                    return
                yield msg

    async def discard(self, nuid: str) -> int:
        """Purge every chunk of `nuid` (an abandoned run); returns the messages removed."""
        bucket = self._bucket
        return await purge_subject(bucket.js, bucket.name, wire.chunk_subject(bucket.name, nuid))

    async def commit(
        self,
        name: str,
        run: ChunkRun,
        rest: PutSource | None = None,
        *,
        description: str | None = None,
        headers: Mapping[str, list[str] | str] | None = None,
        metadata: Mapping[str, str] | None = None,
        if_revision: int | None = None,
        before_commit: BeforeCommit | None = None,
        rewrite: int | None = None,
    ) -> ObjectInfo:
        """Store `name` as the run followed by `rest` (appended as by `append`), all or
        nothing, through the put protocol, and return its info. On failure the chunks of
        `rest` are deleted and the run stays as it was (to commit again, or to discard)."""
        request = PutRequest.make(
            name,
            max_payload=self._bucket.ctx.max_payload,
            chunk_size=run.chunk_size,
            description=description,
            headers=headers,
            metadata=metadata,
            if_revision=if_revision,
            before_commit=before_commit,
        )
        upload = _RunUpload(self, run, rest, rewrite)
        return await put_object(self._bucket, request, upload)


class _RunUpload:
    """put.Upload of a run written beforehand, with the rest of the object appended."""

    chunks: int | None = None

    def __init__(self, runs: ChunkRuns, run: ChunkRun, rest: PutSource | None, rewrite: int | None):
        self._runs = runs
        self._start = self._run = run
        self._rest = rest
        self._rewrite = rewrite
        self._handed = False
        self.nuid = run.nuid

    async def __aenter__(self) -> _RunUpload:
        return self

    async def __aexit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is not None and not self._handed:
            await self.rollback()

    async def send(self, progress: ProgressCallback | None, *, direct: bool) -> None:
        if self._rest is not None:
            self._run = await self._runs.append(self._start, self._rest, rewrite=self._rewrite)

    async def flush(self) -> None:
        return None

    def info(self, request: PutRequest) -> ObjectInfo:
        run = self._run
        digest = run.sha256().digest()
        return request.info(self._runs._bucket.name, run.nuid, run.size, run.chunks, digest)

    def committing(self) -> None:
        self._handed = True

    async def rollback(self) -> None:
        if self._run is not self._start:
            await run_to_end(self._runs.truncate(self._start))

    async def done(self) -> None:
        return None
