"""ChunkPublisher: chunks published with a bounded window of unacked bytes, re-sent when lost.

Acks of every put on a connection arrive on one subscription (AckRouter); a re-send is
idempotent (Nats-Msg-Id), and chunks a failover stored out of order are re-published in order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import _wire as wire
from .._jetstream import (
    Failure,
    JetStream,
    ack_sequence,
    classify,
    is_transient,
    map_nats_error,
    retrying,
)
from .._natspy import RawMsg, parse_headers
from .._wire.errors import (
    ObjectStoreError,
    PermissionDeniedError,
    StoreTimeoutError,
)

log = logging.getLogger("natsobj")

# ---------------------------------------------------------------------------------------------
# publishing


_PRUNE_EVERY = 256  # acks between two prunings of PublishStats.sequences


@dataclass
class _Pending:
    subject: str
    payload: bytes
    headers: dict[str, str]
    sent_at: float
    attempts: int = 1


@dataclass
class PublishStats:
    """What a ChunkPublisher did: for tests, benchmarks and the soak."""

    published: int = 0
    resent: int = 0
    acked: int = 0
    reordered: int = 0
    """Chunks re-published to restore their order after a failover."""
    sequences: dict[int, int] = field(default_factory=dict)
    """Stream sequence of each acked chunk that may still need checking: those from the one
    before the first unacked chunk on (older ones can no longer be stored out of order)."""


class AckRouter:
    """One subscription for the acks of every put on a connection, routed by reply subject.

    Reply subjects are `<inbox>.<put id>_<chunk index>`; a put registers a handler for its id.
    Sharing the subscription spares each put a SUB and an UNSUB, which small puts feel.
    """

    def __init__(self, js: JetStream) -> None:
        self._js = js
        self._routes: dict[int, Callable[[int, RawMsg], None]] = {}
        self._next_id = 0
        self._prefix = ""
        self._lock = asyncio.Lock()

    async def register(self, handler: Callable[[int, RawMsg], None]) -> tuple[str, int]:
        """Route acks to `handler`; returns the reply prefix to use and the id to unregister."""
        if not self._prefix:
            async with self._lock:
                if not self._prefix:
                    prefix, _ = await self._js.subscribe_inbox(self._deliver)
                    self._prefix = prefix
        self._next_id += 1
        self._routes[self._next_id] = handler
        return f"{self._prefix}.{self._next_id}_", self._next_id

    def unregister(self, route: int) -> None:
        self._routes.pop(route, None)

    def _deliver(self, msg: RawMsg) -> None:
        route, _, index = msg.subject.rpartition(".")[2].partition("_")
        try:
            handler = self._routes.get(int(route))
            position = int(index)
        except ValueError:
            return
        if handler is not None:
            handler(position, msg)


class ChunkPublisher:
    """Publishes chunks with at most `window_bytes` unacked, re-sending what is lost."""

    def __init__(
        self,
        js: JetStream,
        bucket: str,
        router: AckRouter,
        *,
        window_bytes: int = 16 * 1024 * 1024,
        ack_timeout: float = 2.0,
        stall_timeout: float = 30.0,
        first_index: int = 0,
        probe: Callable[[], Awaitable[BaseException | None]] | None = None,
    ) -> None:
        """`probe`, asked (once at a time) after an ack says no responders, gives the error to
        fail the put with at once (the bucket became read-only, or is gone) or None."""
        self.js = js
        self._probe = probe
        self._probing: asyncio.Task[None] | None = None
        self._next_index = first_index
        self.bucket = bucket
        self.window_bytes = window_bytes
        self.ack_timeout = ack_timeout
        self.stall_timeout = stall_timeout
        self.stats = PublishStats()
        self._pending: dict[int, _Pending] = {}
        self._in_flight = 0
        self._space = asyncio.Event()
        self._space.set()
        self._error: BaseException | None = None
        self._last_progress = time.monotonic()
        self._router = router
        self._reply = ""
        self._route = 0
        self._watchdog: asyncio.Task[None] | None = None
        self._wake: asyncio.TimerHandle | None = None
        self._drained: asyncio.Future[None] | None = None
        self._undo_watch: Callable[[], None] | None = None
        self._unsettled = False
        self._misordered_from: int | None = None
        self._subject = ""
        self._rewrites = 0

    def _note_order(self, index: int, seq: int) -> None:
        """Compare a stored chunk's sequence with its neighbours'; flag the first disorder.

        Each pair of adjacent chunks is compared when the later of the two is acked, so a
        chunk stored behind a newer one (a re-send across a failover) is always caught.
        """
        before = self.stats.sequences.get(index - 1)
        after = self.stats.sequences.get(index + 1)
        first_bad = None
        if before is not None and before >= seq:
            first_bad = index - 1
        elif after is not None and after <= seq:
            first_bad = index
        if first_bad is not None:
            if self._misordered_from is None or first_bad < self._misordered_from:
                self._misordered_from = first_bad
            self._unsettled = True  # stop sending until the order is restored

    async def __aenter__(self) -> ChunkPublisher:
        self._reply, self._route = await self._router.register(self._on_ack)
        # The watchdog starts only if a chunk is still unacked after a quarter of ack_timeout:
        # a small put, acked at once, never pays for a task.
        self._wake = asyncio.get_running_loop().call_later(
            min(0.25, self.ack_timeout / 4), self._start_watchdog
        )
        return self

    def _start_watchdog(self) -> None:
        if self._watchdog is None and self._pending and self._error is None:
            self._watchdog = asyncio.ensure_future(self._watch())
        elif self._watchdog is None and self._error is None:
            self._wake = asyncio.get_running_loop().call_later(
                min(0.25, self.ack_timeout / 4), self._start_watchdog
            )

    async def __aexit__(self, *exc: object) -> None:
        if self._wake is not None:
            self._wake.cancel()
        for task in (self._watchdog, self._probing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._router.unregister(self._route)
        if self._undo_watch is not None:
            self._undo_watch()

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._space.set()
        self._wake_flush()

    def _on_ack(self, index: int, msg: RawMsg) -> None:
        entry = self._pending.get(index)
        if entry is None:
            return  # a late duplicate ack
        try:
            seq = ack_sequence(msg, bucket=self.bucket, subject=entry.subject)
        except ObjectStoreError as exc:
            failure = classify(exc)
            if failure is Failure.DUPLICATE:
                return  # a re-send met its original still being stored: its ack will come
            if failure is Failure.TRANSIENT:  # no responders, or JetStream briefly unavailable
                entry.sent_at = 0.0  # the watchdog re-sends it after a pause
                self._unsettled = True
                self._ask_probe()
                return
            del self._pending[index]
            self._in_flight -= len(entry.payload)
            self._fail(exc)
            return
        del self._pending[index]
        self._in_flight -= len(entry.payload)
        self.stats.acked += 1
        self.stats.sequences[index] = seq
        self._note_order(index, seq)
        if self.stats.acked % _PRUNE_EVERY == 0:
            self._forget_settled()
        self._last_progress = time.monotonic()
        if self._in_flight < self.window_bytes or not self._pending:
            self._space.set()
        if not self._pending:
            self._wake_flush()

    def _ask_probe(self) -> None:
        if self._probe is None or self._error is not None:
            return
        if self._probing is not None and not self._probing.done():
            return
        self._probing = asyncio.ensure_future(self._run_probe(self._probe))

    async def _run_probe(self, probe: Callable[[], Awaitable[BaseException | None]]) -> None:
        error = await probe()
        if error is not None:
            self._fail(error)

    def _forget_settled(self) -> None:
        """Drop the sequences of chunks that can no longer be part of a disorder.

        A disorder is found when a chunk is acked, between it and its neighbours, so it always
        starts at or after the chunk before the first unacked one; one already found keeps
        everything from its start until it is repaired. This keeps a put's memory flat
        whatever the object's size.
        """
        keep_from = self.acked_prefix - 1
        if self._misordered_from is not None:
            keep_from = min(keep_from, self._misordered_from)
        sequences = self.stats.sequences
        for index in [i for i in sequences if i < keep_from]:
            del sequences[index]

    async def _send(self, index: int, entry: _Pending) -> None:
        entry.sent_at = time.monotonic()
        await self.js.send(entry.subject, entry.payload, f"{self._reply}{index}", entry.headers)

    async def publish(
        self,
        subject: str,
        payload: bytes,
        index: int,
        msg_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue chunk `index` for publishing (with `headers` besides its Nats-Msg-Id); waits
        while the window is full."""
        while self._error is None and (
            self._in_flight >= self.window_bytes or (self._unsettled and self._pending)
        ):
            # A full window, or a lost ack: new chunks wait until the old ones are stored,
            # so that re-sent chunks cannot land behind newer ones.
            self._space.clear()
            await self._space.wait()
        if self._error is not None:
            raise self._error
        if self._misordered_from is not None:
            await self._restore_order()
        self._unsettled = not self.js.nc.is_connected  # sent while down: land after a re-send
        self._subject = subject
        if self._undo_watch is None:  # a refused publish fails the put at once, not by timeout
            self._undo_watch = self.js.permissions.on_permission_denied(subject, self._fail)
        entry = _Pending(subject, payload, {**(headers or {}), wire.MSG_ID_HEADER: msg_id}, 0.0)
        self._pending[index] = entry
        self._next_index = index + 1
        self._in_flight += len(payload)
        self.stats.published += 1
        try:
            await self._send(index, entry)
        except Exception as exc:
            if not self._retryable(exc):
                self._fail(map_nats_error(exc, f"publish {subject}"))
                raise self._error from exc  # type: ignore[misc]
            entry.sent_at = 0.0  # the watchdog re-sends once reconnected

    @staticmethod
    def _retryable(exc: BaseException) -> bool:
        return is_transient(map_nats_error(exc, ""))

    async def _watch(self) -> None:
        """Re-send chunks whose ack is overdue; give up after `stall_timeout` without progress."""
        while True:
            await asyncio.sleep(min(0.25, self.ack_timeout / 4))
            now = time.monotonic()
            if self._pending and now - self._last_progress > self.stall_timeout:
                self._fail(
                    StoreTimeoutError(
                        f"put into bucket {self.bucket!r}: no chunk was acknowledged for "
                        f"{self.stall_timeout:g}s; is the bucket's stream available?"
                    )
                )
                return
            if not self.js.nc.is_connected or not self._pending:
                continue
            if now - self._pending[min(self._pending)].sent_at < self.ack_timeout:
                continue
            if not await self._resend_pending():
                return

    async def _resend_pending(self) -> bool:
        """The oldest chunk is overdue: re-send every pending chunk, in order (the stream drops
        those it already holds as duplicates: same Nats-Msg-Id). False if the put failed.

        A method of its own so that its list of chunks is gone when it returns: kept in the
        watchdog's frame across its sleep, it held a window's worth of acked chunks in memory.
        """
        self._unsettled = True
        for index, entry in sorted(self._pending.items()):
            if index not in self._pending:
                continue
            entry.attempts += 1
            self.stats.resent += 1
            try:
                await self._send(index, entry)
            except Exception as exc:
                if not self._retryable(exc):
                    self._fail(map_nats_error(exc, f"publish {entry.subject}"))
                    return False
                entry.sent_at = time.monotonic()
                break
        return True

    @property
    def acked_prefix(self) -> int:
        """How many chunks from the first are all acknowledged."""
        return min(self._pending) if self._pending else self._next_index

    async def settle(self, timeout: float) -> None:
        """Wait (at most `timeout`) until the server answered every chunk sent, without re-sending.

        A purge must come after the chunks it removes: the server stores publishes and
        handles API requests on different paths, so an earlier publish can land after it.
        """
        if self._wake is not None:
            self._wake.cancel()
        if self._watchdog is not None:
            self._watchdog.cancel()
        if isinstance(self._error, PermissionDeniedError):
            return  # the server refused the chunks: none of them were stored
        stop = time.monotonic() + timeout
        while time.monotonic() < stop and self.js.nc.is_connected:
            if not any(entry.sent_at > 0 for entry in self._pending.values()):
                return
            await asyncio.sleep(0.02)

    async def flush(self) -> None:
        """Wait until every chunk is acked; raise the first error.

        The watchdog keeps re-sending and fails the publisher after `stall_timeout` without
        progress, so this cannot wait forever.
        """
        while self._pending and self._error is None:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained
        if self._error is not None:
            raise self._error
        if self._misordered_from is not None:
            await self._restore_order()
        self._check_order()

    async def _restore_order(self) -> None:
        """Re-publish, in order, every chunk from the first one stored out of order.

        Across a failover a re-sent chunk can land behind newer ones. Its bytes are read
        back from the stream, published again one at a time (each waits for its ack) with the
        headers it was stored with (a new Nats-Msg-Id), and the out-of-order copies are
        deleted. Readers never see this: the meta comes after.
        """
        start = self._misordered_from
        assert start is not None
        self._misordered_from = None
        self._rewrites += 1
        stream = wire.stream_name(self.bucket)
        nuid = self._subject.rsplit(".", 1)[1]
        indexes = [i for i in sorted(self.stats.sequences) if i >= start]
        stale = []
        for index in indexes:
            old_seq = self.stats.sequences[index]
            doc = await self._retrying(
                lambda s=old_seq: self.js.api(  # type: ignore[misc]
                    f"STREAM.MSG.GET.{stream}", {"seq": s}, bucket=self.bucket
                )
            )
            stored = doc["message"]
            data = base64.b64decode(stored.get("data") or "")
            headers = parse_headers(base64.b64decode(stored["hdrs"])) if stored.get("hdrs") else {}
            headers = {
                **(headers or {}),
                wire.MSG_ID_HEADER: wire.chunk_msg_id(nuid, index, self._rewrites),
            }
            ack = await self._retrying(
                lambda d=data, h=headers: self.js.publish(  # type: ignore[misc]
                    self._subject,
                    d,
                    headers=h,
                    bucket=self.bucket,
                    timeout=2.0,
                )
            )
            self.stats.sequences[index] = int(ack.get("seq") or 0)
            stale.append(old_seq)
        for old_seq in stale:
            await self._retrying(
                lambda s=old_seq: self.js.api(  # type: ignore[misc]
                    f"STREAM.MSG.DELETE.{stream}", {"seq": s, "no_erase": True}, bucket=self.bucket
                )
            )
        self.stats.reordered += len(indexes)
        log.warning(
            "put into bucket %r: %d chunks were stored out of order during a leader change; "
            "re-published them in order",
            self.bucket,
            len(indexes),
        )

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run `call`, retrying transient failures until `stall_timeout` passes."""
        return await retrying(call, within=self.stall_timeout)

    def _check_order(self) -> None:
        """Raise if the stream holds the chunks out of order (possible across a failover)."""
        previous = 0
        for index in sorted(self.stats.sequences):
            seq = self.stats.sequences[index]
            if seq <= previous:
                raise StoreTimeoutError(
                    f"put into bucket {self.bucket!r}: during a leader change the stream "
                    f"stored chunk {index} out of order; the put was rolled back, try again"
                )
            previous = seq

    def _wake_flush(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
