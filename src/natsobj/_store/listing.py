"""Listing: every object's last meta in one scan, and the watcher of changes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from .. import _wire as wire
from .._jetstream import ConsumerReader, DirectBatchReader
from .._wire.errors import (
    BadObjectMetaError,
    ConnectionLostError,
    JetStreamAPIError,
    PermissionDeniedError,
    StoreTimeoutError,
)
from .._wire.models import ObjectInfo
from .bucket import Bucket, server_time

log = logging.getLogger("natsobj")


async def scan_metas(bucket: Bucket) -> dict[str, ObjectInfo | None]:
    """Every meta subject's last meta, decoded (None where unreadable): from a consumer,
    else by batched direct gets.

    A stalled attempt (a replica paused or killed) is retried by direct get, which any
    replica answers, until `chunk_timeout` passes without a complete scan. Python's cyclic
    garbage collector is paused meanwhile (see `_gc_paused`).
    """
    with _gc_paused():
        return await _read_last_metas(bucket)


async def _read_last_metas(bucket: Bucket) -> dict[str, ObjectInfo | None]:
    subject = wire.all_meta_subject(bucket.name)
    timeout = bucket.settings.chunk_timeout
    deadline = asyncio.get_running_loop().time() + timeout
    use_consumer = True
    found: dict[str, ObjectInfo | None] = {}

    def keep(subject: str, seq: int, data: bytes, moment: datetime | None) -> None:
        try:
            info = wire.decode_meta(data, server_time=moment, revision=seq)
        except BadObjectMetaError as exc:
            log.warning("skipping unreadable meta on %s: %s", subject, exc)
            info = None
        found[subject] = info  # a later message wins

    while True:
        found.clear()  # a new attempt reads everything again
        reader: ConsumerReader | DirectBatchReader | None = None
        if use_consumer:  # the last meta per subject: cheapest for the server
            use_consumer = False
            with contextlib.suppress(StoreTimeoutError, JetStreamAPIError, PermissionDeniedError):
                reader = await ConsumerReader(
                    bucket.js,
                    bucket.stream,
                    subject,
                    last_per_subject=True,
                    idle_timeout=min(timeout, 2.0),
                    on_message=keep,  # decoded as they arrive
                ).__aenter__()
        if reader is None:  # no meta leader, or no right to make consumers
            reader = await DirectBatchReader(
                bucket.js,
                bucket.stream,
                subject,
                batch=10_000,
                batch_bytes=8 << 20,
                max_buffered=16 << 20,
                idle_timeout=min(timeout, 2.0),
            ).__aenter__()
        try:
            while (stored := await reader.next()) is not None:
                keep(stored.subject, stored.seq, stored.data, server_time(stored))
            return found
        except (StoreTimeoutError, ConnectionLostError):
            if asyncio.get_running_loop().time() > deadline:
                raise
        finally:
            await reader.__aexit__(None, None, None)


async def list_objects(bucket: Bucket, *, show_deleted: bool = False) -> list[ObjectInfo]:
    """Every object in the bucket ([] when there are none), deleted ones on request."""
    try:
        metas = await scan_metas(bucket)
    except StoreTimeoutError:
        await bucket.check_exists()
        raise
    infos = [bucket.read_here(info) for info in metas.values() if info is not None]
    if not show_deleted:
        infos = [info for info in infos if not info.deleted]
    return sorted(infos, key=lambda info: info.name)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a scan builds its (acyclic) infos.

    Measured on a list of 10,000: the collector's full passes over every object of the
    process took about a third of the time (130 ms paused, 180-240 ms not). Reference
    counting still frees everything meanwhile; a collector that was off stays off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ObjectWatcher:
    """Async iterator of ObjectInfo (and one None marker) from an ordered push consumer."""

    def __init__(
        self,
        bucket: Bucket,
        *,
        include_history: bool,
        ignore_deletes: bool,
        updates_only: bool,
        initial_marker: bool,
    ) -> None:
        self._bucket = bucket
        self._include_history = include_history
        self._ignore_deletes = ignore_deletes
        self._updates_only = updates_only
        self._want_marker = initial_marker and not updates_only
        self._queue: asyncio.Queue[ObjectInfo | BaseException | None] = asyncio.Queue()
        self._sub: Any = None
        self._marker_sent = False
        self._started = False

    async def _start(self) -> None:
        self._started = True
        store = self._bucket
        subject = wire.all_meta_subject(store.name)
        if self._updates_only:
            policy = "new"
        elif self._include_history:
            policy = "all"
        else:
            policy = "last_per_subject"
        if self._want_marker and not self._updates_only:
            last = await store.js.direct_get(store.stream, {"last_by_subj": subject})
            if last is None:
                self._send_marker()

        async def on_msg(msg: Any) -> None:
            try:
                meta = msg.metadata
                info: ObjectInfo | None = wire.decode_meta(
                    msg.data, server_time=meta.timestamp if meta else None
                )
                if info is not None and meta is not None:
                    info = replace(store.read_here(info), revision=meta.sequence.stream)
            except BadObjectMetaError as exc:
                log.warning("watch: skipping unreadable meta: %s", exc)
                info = None
            except Exception as exc:  # metadata parsing of a foreign message
                log.warning("watch: skipping message: %r", exc)
                info = None
            if info is not None and not (self._ignore_deletes and info.deleted):
                self._queue.put_nowait(info)
            pending = meta.num_pending if meta is not None else None
            if pending == 0 and self._want_marker:
                self._send_marker()

        self._sub = await store.js.ordered_subscribe(
            store.stream, subject, deliver_policy=policy, cb=on_msg
        )

    def _send_marker(self) -> None:
        if not self._marker_sent:
            self._marker_sent = True
            self._queue.put_nowait(None)

    def __aiter__(self) -> ObjectWatcher:
        return self

    async def __anext__(self) -> ObjectInfo | None:
        if not self._started:
            await self._start()
        item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def __aenter__(self) -> ObjectWatcher:
        if not self._started:
            await self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def aclose(self) -> None:
        await self.stop()
