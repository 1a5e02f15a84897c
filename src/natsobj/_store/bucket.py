"""Bucket: one bucket's state and its reads of metas, shared by the store's operations.

The put protocol, the pipeline, reads and listings all work on a Bucket: its stream, the
metas this client knows (read-your-writes, guards), and whether the last puts found their
names new. ObjectStore is the public face over it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from .. import _wire as wire
from .._jetstream import StoredMsg, is_retryable_write, msg_get_last, retrying
from .._wire.errors import (
    BadObjectMetaError,
    BucketReadOnlyError,
    ConnectionLostError,
    ObjectNotFoundError,
    ObjectStoreError,
    StoreTimeoutError,
)
from .._wire.models import ObjectInfo
from .context import StoreContext
from .known import Known, KnownMetas


def server_time(stored: StoredMsg) -> datetime | None:
    """When the server stored `stored`."""
    return stored.moment or wire.parse_time(stored.time)


class Bucket:
    """One bucket as this client sees it (see the module's text)."""

    def __init__(self, ctx: StoreContext, name: str, stream_info: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.js = ctx.js
        self.name = name
        self.stream = wire.stream_name(name)
        self.stream_info: dict[str, Any] = {}
        self.read_only_reason: str | None = None
        """Why nothing may be written here (a mirror, replica or read-only aggregate), or None."""
        self.origin_buckets: frozenset[str] = frozenset()
        """The buckets this one copies (their metas, links included, arrive here)."""
        self.direct = True
        """Reads of the last meta may use direct get (else a plain message get)."""
        self._learn(stream_info)
        self.known = KnownMetas()
        self.puts_running = 0
        """Puts running on this bucket object: a small put alone may commit in one round trip."""
        self.names_new = True
        """The last put stored a new name: the next guards its meta to a new name unlooked."""

    @classmethod
    async def bind(cls, ctx: StoreContext, name: str) -> Bucket:
        """The existing bucket `name`; BucketNotFoundError if there is none."""
        wire.validate_bucket_name(name)
        info = await ctx.js.stream_info(wire.stream_name(name), bucket=name)
        return cls(ctx, name, info)

    @property
    def settings(self) -> Any:
        return self.ctx.transfer

    # -- the one read-only rule: every write API asks this before it sends anything

    def refuse_writes(self) -> None:
        """Raise BucketReadOnlyError if the bucket copies another (known from its stream info)."""
        if self.read_only_reason is not None:
            raise BucketReadOnlyError(self.name, self.read_only_reason)

    def _learn(self, info: Mapping[str, Any]) -> None:
        self.stream_info = dict(info)
        config = self.stream_info.get("config") or {}
        self.read_only_reason = wire.read_only_reason(self.name, config)
        self.origin_buckets = frozenset(o.bucket for o in wire.origins_of(config))
        self.direct = bool(config.get("allow_direct", True))

    async def write_refused(self) -> BaseException | None:
        """After a write met no responders: the error to fail it with at once, if any.

        A stale handle whose bucket became a mirror since it was bound gets 503s for every
        publish (no stream takes the subjects any more); one STREAM.INFO tells it so.
        """
        try:
            info = await self.js.api(f"STREAM.INFO.{self.stream}", bucket=self.name, timeout=1.0)
        except (StoreTimeoutError, ConnectionLostError):
            return None  # unknown: the retry loop goes on
        except ObjectStoreError as exc:  # e.g. BucketNotFoundError: the bucket is gone
            return exc
        self._learn(info)
        if self.read_only_reason is not None:
            return BucketReadOnlyError(self.name, self.read_only_reason)
        return None

    async def raise_if_refused(self, _exc: BaseException) -> None:
        """An `on_retry` for write loops: fail at once if the bucket no longer takes writes."""
        error = await self.write_refused()
        if error is not None:
            raise error

    async def check_exists(self) -> None:
        """Raise BucketNotFoundError if the bucket's stream is gone."""
        await self.js.api(f"STREAM.INFO.{self.stream}", bucket=self.name, timeout=1.0)

    async def _raise_if_gone(self, _exc: BaseException) -> None:
        # no responder: the bucket is gone, or its replicas are electing a leader
        with contextlib.suppress(StoreTimeoutError, ConnectionLostError):
            await self.check_exists()

    async def last_meta(self, subject: str) -> StoredMsg | None:
        """The last meta message on `subject`, read-your-writes even from a lagging replica."""
        floor = self.known.floor(subject)
        stored = None
        for attempt in range(20):
            stored = await retrying(
                lambda: self._get_last(subject),
                within=self.settings.stall_timeout,
                on_retry=self._raise_if_gone,
            )
            if floor == 0 or (stored is not None and stored.seq >= floor):
                return stored
            if stored is None and floor < 0:
                return None
            await asyncio.sleep(0.02 * (attempt + 1))  # a replica behind this client's own writes
        return stored

    async def _get_last(self, subject: str) -> StoredMsg | None:
        if self.direct:
            return await self.js.direct_get_last(self.stream, subject, timeout=2.0)
        # a stream without allow_direct (e.g. a hand-made mirror) has no direct-get responder
        return await msg_get_last(self.js, self.stream, subject, bucket=self.name, timeout=2.0)

    async def info_at(self, subject: str) -> ObjectInfo | None:
        """The meta at `subject`, decoded; None if there is none."""
        stored = await self.last_meta(subject)
        if stored is None:
            return None
        info = wire.decode_meta(stored.data, server_time=server_time(stored), revision=stored.seq)
        self.known.remember(subject, Known.of(info))
        return info

    async def get_info(self, name: str, *, show_deleted: bool = False) -> ObjectInfo:
        """The object's info; ObjectNotFoundError if missing (or deleted, unless show_deleted)."""
        wire.validate_object_name(name)
        info = await self.info_at(wire.meta_subject(self.name, name))
        if info is None:
            latin1 = wire.encode_name_latin1(name)
            if latin1 is not None:  # nats.js wrote non-ASCII names as Latin-1
                info = await self.info_at(wire.meta_subject_token(self.name, latin1))
        if info is None or (info.deleted and not show_deleted):
            raise ObjectNotFoundError(self.name, name)
        return self.read_here(info)

    def read_here(self, info: ObjectInfo) -> ObjectInfo:
        """`info` naming this bucket if it was copied from an origin's (whose name its meta
        keeps): an info says which bucket it was read from, as in nats.go."""
        if info.bucket != self.name and info.bucket in self.origin_buckets:
            return replace(info, bucket=self.name)
        return info

    async def find_info(self, name: str) -> ObjectInfo | None:
        """The name's meta, deleted or not; None if it has none."""
        try:
            return await self.get_info(name, show_deleted=True)
        except ObjectNotFoundError:
            return None

    async def replaced_by_put(self, name: str) -> ObjectInfo | None:
        """What a put of `name` replaces (an unreadable meta must not block a new version)."""
        try:
            return await self.find_info(name)
        except BadObjectMetaError:
            return None

    async def publish_retrying(self, subject: str, payload: bytes, headers: dict[str, str]) -> int:
        """Publish into the bucket and return the sequence; re-try a lost ack or a 503.

        Only for messages whose re-send is harmless: a meta (rollup) or a chunk (Nats-Msg-Id).
        Gives up after `stall_timeout`.
        """
        ack = await retrying(
            lambda: self.js.publish(
                subject, payload, headers=headers, bucket=self.name, timeout=2.0
            ),
            within=self.settings.stall_timeout,
            retry_if=is_retryable_write,
            on_retry=self.raise_if_refused,
        )
        return int(ack.get("seq") or 0)

    async def purge_replaced(self, replaced: Known | None, nuid: str) -> None:
        """Have the janitor purge the chunks of the version a committed meta replaced."""
        if replaced is not None and replaced.nuid and replaced.nuid != nuid:
            await self.ctx.janitor.purge_later(
                self.name, wire.chunk_subject(self.name, replaced.nuid)
            )

    async def settle(self) -> None:
        """Wait for this bucket's background purges."""
        await self.ctx.janitor.settle(self.name)
