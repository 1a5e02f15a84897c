"""The put protocol: how an object gets into a bucket, all or nothing.

`put_object` is the whole order of a put, as nats.go's Put shows it: plan (pure), upload the
chunks (rolled back on an error or a cancellation), flush, build the info, commit the meta
(`committer.commit`, whose decisions are `commit.decide`'s), purge the replaced version (by the
janitor, off the caller's path). Its variants are options of this one protocol, not parallel
families of methods: an object of one chunk is sent as one publish whose ack is a future
(`OneChunk`); on a single server, a put alone on its store sends the meta right behind that
chunk, guarded to follow it (`commit.pipelines_meta`); a resumable put continues an earlier
nuid and keeps its chunks on failure (`Streamed` with a `ResumePoint`); put_many's pipeline
(`pipeline`) sends many one-chunk objects through the same guards and commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from .. import _wire as wire
from .._jetstream import is_transient, stored_nothing
from .._transfer import ChunkPublisher, ProgressCallback, check_chunk_size, run_to_end
from .._wire.errors import (
    InvalidObjectNameError,
    LinkNotAllowedError,
    ObjectStoreError,
    RevisionMismatchError,
)
from .._wire.models import ObjectInfo, ObjectMeta, ObjectMetaOptions
from .bucket import Bucket
from .cleanup import purge_quietly, purge_until_empty
from .commit import Guard, pipelines_meta, plan_guard
from .committer import commit

BeforeCommit = Callable[[ObjectInfo], Awaitable[Mapping[str, "list[str] | str"] | None]]
"""Called with the new version's info once every chunk is stored, before its meta is sent:
it may raise to refuse the put (the chunks are rolled back) or return headers to add."""


@dataclass(frozen=True)
class PutRequest:
    """What a put stores: the name and the meta fields, checked, and its conditions."""

    name: str
    chunk_size: int
    description: str | None = None
    headers: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    if_revision: int | None = None
    """Store only over this revision of the name (0: only if it has no live object)."""
    before_commit: BeforeCommit | None = None

    @classmethod
    def make(
        cls,
        name: str,
        *,
        max_payload: int,
        chunk_size: int | None = None,
        description: str | None = None,
        headers: Mapping[str, list[str] | str] | None = None,
        metadata: Mapping[str, str] | None = None,
        meta: ObjectMeta | None = None,
        if_revision: int | None = None,
        before_commit: BeforeCommit | None = None,
    ) -> PutRequest:
        """A checked request; an explicit argument wins over the same field of `meta`."""
        if meta is not None:
            if meta.options is not None and meta.options.link is not None:
                raise LinkNotAllowedError()
            name = meta.name or name
            description = description if description is not None else meta.description
            headers = headers if headers is not None else meta.headers
            metadata = metadata if metadata is not None else meta.metadata
            if chunk_size is None and meta.options is not None and meta.options.max_chunk_size:
                chunk_size = meta.options.max_chunk_size
        wire.validate_object_name(name)
        chunk_size = chunk_size or wire.DEFAULT_CHUNK_SIZE
        if chunk_size <= 0:
            raise InvalidObjectNameError(f"chunk_size must be positive, got {chunk_size}")
        check_chunk_size(chunk_size, max_payload)
        if if_revision is not None and if_revision < 0:
            raise ValueError(f"if_revision must be 0 or a revision, got {if_revision}")
        return cls(
            name,
            chunk_size,
            description or None,
            normalize_headers(headers),
            dict(metadata or {}),
            if_revision,
            before_commit,
        )

    def info(
        self, bucket: str, nuid: str, size: int, chunks: int, digest: bytes, name: str = ""
    ) -> ObjectInfo:
        """The info of version `nuid` of this object (or of `name`, with these meta fields)."""
        return ObjectInfo(
            name=name or self.name,
            bucket=bucket,
            nuid=nuid,
            size=size,
            chunks=chunks,
            digest=wire.format_digest(digest),
            mtime=datetime.now(timezone.utc),
            description=self.description,
            headers=self.headers,
            metadata=self.metadata,
            options=ObjectMetaOptions(max_chunk_size=self.chunk_size),
        )


@dataclass(frozen=True)
class PutPlan:
    """The decisions a put takes before it sends anything."""

    nuid: str
    guard: Guard | None
    """None: the name is looked up first (while the chunks go out)."""
    pipelined: bool
    """The meta goes right behind the one chunk, before its ack (commit.pipelines_meta)."""


def plan_put(bucket: Bucket, request: PutRequest, *, chunks: int | None, nuid: str) -> PutPlan:
    """The plan of a put (`chunks`: 0 or 1 for an object of one chunk, None if unknown)."""
    subject = wire.meta_subject(bucket.name, request.name)
    if request.if_revision is not None:  # conditional: the name is looked up and checked
        return PutPlan(nuid, None, pipelined=False)
    guard = plan_guard(
        known=bucket.known.get(subject),
        names_new=bucket.names_new,
        other_subject=wire.encode_name_latin1(request.name) is not None,
        streamed=chunks is None,
    )
    pipelined = pipelines_meta(
        chunks=chunks or 0,
        alone=bucket.puts_running == 1,
        single_server=bucket.js.single_server,
        guard=guard,
    )
    if pipelined and guard is not None:
        guard = Guard(guard.last_seq, guard.replaces, after_msg_id=wire.chunk_msg_id(nuid, 0))
    return PutPlan(nuid, guard, pipelined)


async def put_object(
    bucket: Bucket,
    request: PutRequest,
    upload: Upload,
    *,
    progress: ProgressCallback | None = None,
) -> ObjectInfo:
    """Store what `upload` sends as `request.name`, all or nothing, and return its info."""
    bucket.puts_running += 1
    plan = plan_put(bucket, request, chunks=upload.chunks, nuid=upload.nuid)
    lookup = None if plan.guard else asyncio.ensure_future(bucket.replaced_by_put(request.name))
    try:
        async with upload:  # rolls the chunks back on any error, until the commit takes over
            # alone: the chunk straight out (the server stores it while the meta is built)
            await upload.send(progress, direct=bucket.puts_running == 1)
            if not plan.pipelined:
                await upload.flush()
            guard = plan.guard or guard_for(request, bucket.name, await lookup)  # type: ignore[misc]
            info = upload.info(request)
            if request.before_commit is not None:
                info = await with_hook_headers(request.before_commit, info)
            upload.committing()
            stored = await commit(
                bucket,
                info,
                guard,
                rollback=upload.rollback,
                settle_chunks=upload.flush,
                strict=request.if_revision is not None,
            )
    finally:
        bucket.puts_running -= 1
        await _forget(lookup)
    await upload.done()
    if progress is not None and upload.chunks is not None:
        progress(info.size)
    return stored


def guard_for(request: PutRequest, bucket: str, found: ObjectInfo | None) -> Guard:
    """The guard over what the lookup found; RevisionMismatchError if the put's condition
    (`if_revision`) does not hold."""
    expected = request.if_revision
    if expected is not None:
        live = found is not None and not found.deleted
        current = found.revision if live and found is not None else None
        if (expected == 0 and live) or (expected > 0 and current != expected):
            raise RevisionMismatchError(bucket, request.name, expected, current)
        return Guard.over(found)
    return guard_over_found(found)


async def with_hook_headers(hook: BeforeCommit, info: ObjectInfo) -> ObjectInfo:
    """The info to commit: with the headers the put's `before_commit` hook adds (it may
    refuse the put by raising)."""
    extra = await hook(info)
    if not extra:
        return info
    return replace(info, headers={**info.headers, **normalize_headers(extra)})


def guard_over_found(found: ObjectInfo | None) -> Guard:
    """The guard over what a lookup found; unguarded for a name with another subject."""
    if found is not None and wire.encode_name_latin1(found.name) is not None:
        return Guard.unguarded(found)
    return Guard.over(found)


class Upload(Protocol):
    """How a put's chunks go out; see OneChunk and Streamed."""

    nuid: str
    chunks: int | None
    """0 or 1 for an object of one chunk; None for a stream of unknown length."""

    async def __aenter__(self) -> Upload: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def send(self, progress: ProgressCallback | None, *, direct: bool) -> None: ...
    async def flush(self) -> None: ...
    def info(self, request: PutRequest) -> ObjectInfo: ...
    def committing(self) -> None: ...
    async def rollback(self) -> None: ...
    async def done(self) -> None: ...


class OneChunk:
    """An object of at most one chunk: one publish, sent at once, its ack a future.

    No task per message. A rollback (on failure or cancellation) waits for the chunk's ack
    before it purges the chunk: a purge must not overtake it.
    """

    def __init__(self, bucket: Bucket, payload: bytes, nuid: str | None = None) -> None:
        self._bucket = bucket
        self._payload = payload
        self.nuid = nuid or wire.new_nuid()
        self.chunks: int | None = 1 if payload else 0
        self._subject = wire.chunk_subject(bucket.name, self.nuid)
        self._headers = {wire.MSG_ID_HEADER: wire.chunk_msg_id(self.nuid, 0)}
        self._ack: asyncio.Future[int] | None = None
        self._handed = False

    async def __aenter__(self) -> OneChunk:
        return self

    async def __aexit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is not None and not self._handed:
            await self.rollback()

    async def send(self, progress: ProgressCallback | None, *, direct: bool) -> None:
        if not self._payload:
            return
        self._ack, cancelled = await self._bucket.js.start_publish(
            self._subject,
            self._payload,
            headers=self._headers,
            bucket=self._bucket.name,
            timeout=2.0,
            direct=direct,
        )
        if cancelled:  # queued, so on its way: __aexit__ rolls it back
            raise asyncio.CancelledError

    async def flush(self) -> None:
        """Wait for the chunk's ack; a lost ack or no leader: send it again (Nats-Msg-Id)."""
        if self._ack is None:
            return
        try:
            await asyncio.shield(self._ack)
        except ObjectStoreError as exc:
            if not is_transient(exc):
                raise
            await self.resend()

    def info(self, request: PutRequest) -> ObjectInfo:
        digest = hashlib.sha256(self._payload).digest()
        return request.info(
            self._bucket.name, self.nuid, len(self._payload), self.chunks or 0, digest
        )

    def committing(self) -> None:
        self._handed = True

    def acked(self) -> None:
        """The chunk is known to be stored (its ack came in elsewhere)."""
        self._ack = asyncio.get_running_loop().create_future()
        self._ack.set_result(0)

    async def resend(self) -> None:
        """Publish the chunk (again: Nats-Msg-Id makes that harmless) and wait for its ack."""
        if self._payload:
            publish = self._bucket.publish_retrying(self._subject, self._payload, self._headers)
            self._ack = asyncio.ensure_future(publish)
            await asyncio.shield(self._ack)

    @property
    def known_stored(self) -> bool:
        """True once the chunk is known to be stored (or there is no chunk)."""
        ack = self._ack
        if not self._payload:
            return True
        return ack is not None and ack.done() and not ack.cancelled() and ack.exception() is None

    async def rollback(self) -> None:
        """Wait for the chunk's publish to end, then purge the chunk if it may be stored."""
        ack = self._ack
        if ack is None:
            return

        async def purge() -> None:
            with contextlib.suppress(BaseException):
                timeout = self._bucket.settings.ack_timeout * 2
                await asyncio.wait_for(asyncio.shield(ack), timeout)
            if not ack.done():
                ack.cancel()
            if ack.cancelled() or not stored_nothing(ack.exception()):
                await purge_quietly(self._bucket, self._subject)

        await run_to_end(purge())

    async def done(self) -> None:
        """After the commit: the chunk's ack no longer matters (the meta proves the chunk)."""
        if self._ack is not None and not self._ack.done():
            await _forget(self._ack)


class Streamed:
    """A stream of chunks through a ChunkPublisher (a bounded window of unacked chunks).

    With a ResumePoint, it continues an earlier put (its nuid, chunk index and digest so far)
    and keeps its chunks on failure, recording what is acknowledged for the next attempt.
    """

    chunks: int | None = None

    def __init__(self, bucket: Bucket, source: AsyncIterator[bytes], *, resume: Any = None) -> None:
        self._bucket = bucket
        self._source = source
        self._resume = resume
        self.nuid = resume.nuid if resume else wire.new_nuid()
        self._subject = wire.chunk_subject(bucket.name, self.nuid)
        self._hasher = resume.hasher if resume else hashlib.sha256()
        self._index = resume.first_index if resume else 0
        self._size = resume.size_before if resume else 0
        settings = bucket.settings
        self._publisher = ChunkPublisher(
            bucket.js,
            bucket.name,
            bucket.ctx.acks,
            window_bytes=settings.window_bytes,
            ack_timeout=settings.ack_timeout,
            stall_timeout=settings.stall_timeout,
            first_index=self._index,
            probe=bucket.write_refused,
        )
        self._handed = False

    async def __aenter__(self) -> Streamed:
        await self._publisher.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, *exc: object) -> None:
        try:
            if exc_type is not None and not self._handed:
                await self.rollback()
        finally:
            await self._publisher.__aexit__(None, None, None)

    async def send(self, progress: ProgressCallback | None, *, direct: bool) -> None:
        publisher, resume = self._publisher, self._resume
        async for chunk in self._source:
            self._hasher.update(chunk)
            msg_id = wire.chunk_msg_id(self.nuid, self._index)
            await publisher.publish(self._subject, chunk, self._index, msg_id)
            self._index += 1
            self._size += len(chunk)
            if resume is not None:
                resume.published(self._index, self._hasher, publisher.acked_prefix)
            if progress is not None:
                progress(len(chunk))

    async def flush(self) -> None:
        await self._publisher.flush()
        if self._resume is not None:
            self._resume.published(self._index, self._hasher, self._publisher.acked_prefix)

    def info(self, request: PutRequest) -> ObjectInfo:
        return request.info(
            self._bucket.name, self.nuid, self._size, self._index, self._hasher.digest()
        )

    def committing(self) -> None:
        self._handed = True

    async def rollback(self) -> None:
        publisher = self._publisher
        if self._resume is not None:
            # The chunks sent are likely stored: let their acks come in (briefly), so that
            # the checkpoint covers them and the next attempt starts after them.
            await run_to_end(publisher.settle(self._bucket.settings.ack_timeout))
            self._resume.interrupted(publisher.acked_prefix)
        elif publisher.stats.published:
            await run_to_end(self._purge_all())

    async def _purge_all(self) -> None:
        await self._publisher.settle(self._bucket.settings.ack_timeout * 2)
        await purge_until_empty(self._bucket, self._subject)

    async def done(self) -> None:
        return None


def normalize_headers(headers: Mapping[str, list[str] | str] | None) -> dict[str, list[str]]:
    """Headers as the meta holds them: every value a list of strings."""
    if not headers:
        return {}
    return {
        str(k): [v] if isinstance(v, str) else [str(item) for item in v] for k, v in headers.items()
    }


async def _forget(future: asyncio.Future[Any] | None) -> None:
    """Cancel a helper future and wait for it to end, whatever it raises."""
    if future is None:
        return
    if not future.done():
        future.cancel()
    with contextlib.suppress(BaseException):
        await future
