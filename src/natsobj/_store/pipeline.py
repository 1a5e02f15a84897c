"""put_many's pipeline for objects of at most one chunk.

Each object is two messages: its chunk, then, once the chunk is acked, its meta, guarded as a
put's meta is (commit.Guard): by the sequence of the meta this client knows for the name, else
to a name without a meta (Nats-Expected-Last-Subject-Sequence: 0), so no lookup is needed for
a new name nor for one this client wrote or read. Up to `window` objects are in flight;
their acks arrive on one reply subscription and move them on. There is no task, future or
timer per object: the per-object cost of `put()` (about 140 µs of client CPU, against 65
here) is what limits many small puts.

Anything off the common path goes to the put protocol's own steps, one task per object: a
name that exists (its guard refuses the meta: lookup, commit(), purge of what it replaced),
an ack that does not come in time, a 503. Whatever happens, an object is complete or absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from typing import Any

from .. import _wire as wire
from .._jetstream import Failure, ack_sequence, classify
from .._natspy import RawMsg, header_block
from .._transfer import ProgressCallback, purge_subject, run_to_end
from .._wire.errors import ObjectStoreError, PermissionDeniedError
from .._wire.models import ObjectInfo
from .bucket import Bucket
from .commit import Guard, MetaOutcome, Step, decide, landed
from .committer import commit
from .known import Known
from .put import OneChunk, PutRequest, guard_over_found

_CHUNK, _META = 0, 1
# a meta for a name without one: stored only if the name still has none
_NEW_NAME = Guard(last_seq=0)
_NEW_NAME_HEADERS = _NEW_NAME.headers()
_NEW_NAME_BLOCK = header_block(_NEW_NAME_HEADERS)


class _Entry:
    __slots__ = (
        "guard",
        "index",
        "info",
        "meta_subject",
        "msg_id",
        "payload",
        "sent_at",
        "stage",
        "subject",
    )

    def __init__(
        self, index: int, info: ObjectInfo, payload: bytes, guard: Guard, meta_subject: str
    ) -> None:
        self.index = index
        self.meta_subject = meta_subject
        self.guard = guard
        self.info = info
        self.payload = payload
        self.subject = wire.chunk_subject(info.bucket, info.nuid)
        self.msg_id = wire.chunk_msg_id(info.nuid, 0)
        self.stage = _CHUNK
        self.sent_at = 0.0


class SmallPutPipeline:
    """Put objects of at most one chunk each, `window` at a time; see the module's text."""

    def __init__(
        self,
        bucket: Bucket,
        items: list[tuple[int, str, bytes]],
        results: list[ObjectInfo | None],
        *,
        window: int,
        request: PutRequest,
        progress: ProgressCallback | None,
    ) -> None:
        self._bucket = bucket
        self._js = bucket.js
        self._items = items
        self._results = results
        self._window = max(1, window)
        self._request = request
        self._progress = progress
        self._ack_timeout = bucket.settings.ack_timeout
        self._next = 0
        self._waiting: dict[str, _Entry] = {}  # reply subject -> entry
        self._ready: list[_Entry] = []  # chunk acked: meta to send
        self._rollbacks: list[_Entry] = []  # chunk stored, meta never to be sent: purge
        self._handed: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None
        self._stopping = False
        self._wake: asyncio.Future[None] | None = None
        self._inbox = ""
        self._sent = 0

    # -- the run

    async def run(self) -> None:
        """Put every item; raise the first failure once nothing is in flight any more."""
        inbox, sub = await self._js.subscribe_inbox(self._on_ack)
        self._inbox = inbox + "."
        # a refused publish gets no ack: the server's -ERR fails the whole run at once
        undo_watch = self._js.permissions.on_permission_denied(
            wire.bucket_subjects(self._bucket.name), self._fail
        )
        try:
            try:
                await self._pump()
            except BaseException as exc:
                self._fail(exc)
                raise
            finally:  # the acks of what is in flight still come in on `sub`
                await run_to_end(self._drain())
        finally:
            undo_watch()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if self._error is not None:
            raise self._error
        missing = [name for index, name, _ in self._items if self._results[index] is None]
        if missing:  # pragma: no cover - a bug, never a silent loss
            raise ObjectStoreError(f"put_many lost track of {len(missing)} objects: {missing[:5]}")

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        items = self._items
        while not self._stopping and (self._next < len(items) or self._waiting or self._ready):
            ready, self._ready = self._ready, []
            for entry in ready:
                await self._send_meta(entry)
            room = self._window
            while not self._stopping and self._next < len(items) and len(self._waiting) < room:
                index, name, payload = items[self._next]
                self._next += 1
                await self._send_chunk(self._new_entry(index, name, payload))
            if self._ready or self._stopping:
                continue
            if not self._waiting and self._next >= len(items):
                break
            await self._nap(loop)
            if self._waiting:
                oldest = next(iter(self._waiting.values()))  # in the order they were sent
                if oldest.sent_at <= loop.time() - self._ack_timeout:
                    self._expire(loop.time())

    async def _drain(self) -> None:
        """After the last item or a failure: settle what is in flight, purge what must go."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        # Refused publishes get no ack at all: after a refusal, wait only for those in flight.
        denied = isinstance(self._error, PermissionDeniedError)
        deadline = loop.time() + (0.25 if denied else 2 * self._ack_timeout)
        while self._waiting and loop.time() < deadline:
            await self._nap(loop)
        self._expire(float("inf"))  # no answer at all: let put()'s machinery settle them
        self._rollbacks.extend(self._ready)  # acked chunks whose metas were never sent
        self._ready = []
        for entry in self._rollbacks:
            self._hand_over(self._purge(entry))
        self._rollbacks = []
        while self._handed:
            await asyncio.gather(*list(self._handed), return_exceptions=True)

    async def _nap(self, loop: asyncio.AbstractEventLoop) -> None:
        """Sleep until an ack comes in, or a quarter of the ack timeout. (Not wait_for: on
        Python 3.11 it can swallow a cancellation that comes as the future completes.)"""
        self._wake = loop.create_future()
        timer = loop.call_later(self._ack_timeout / 4, self._poke)
        try:
            await self._wake
        finally:
            timer.cancel()
            self._wake = None

    # -- sending

    def _new_entry(self, index: int, name: str, payload: bytes) -> _Entry:
        info = self._request.info(
            self._bucket.name,
            wire.new_nuid(),
            len(payload),
            1 if payload else 0,
            hashlib.sha256(payload).digest(),
            name=name,
        )
        # A name this client knows is guarded by its meta's sequence, any other as new: a
        # refusal means it exists after all, and it is then committed the usual way.
        meta_subject = wire.meta_subject(self._bucket.name, name)
        known = self._bucket.known.get(meta_subject)
        guard = Guard(known.seq, known) if known is not None else _NEW_NAME
        return _Entry(index, info, payload, guard, meta_subject)

    async def _send(
        self,
        entry: _Entry,
        subject: str,
        data: bytes,
        headers: dict[str, str],
        block: bytes | None = None,
    ) -> None:
        self._sent += 1
        reply = f"{self._inbox}{self._sent}"
        self._waiting[reply] = entry
        entry.sent_at = asyncio.get_running_loop().time()
        try:
            # A cancellation comes only once the message is queued: its ack settles it.
            await self._js.send(subject, data, reply, headers, block=block)
        except Exception:  # not sent, or lost with the connection: the slow way settles it
            if self._waiting.pop(reply, None) is not None:
                self._hand_over(self._recover(entry))

    async def _send_chunk(self, entry: _Entry) -> None:
        if not entry.payload:
            entry.stage = _META
            await self._send_meta(entry)
            return
        await self._send(entry, entry.subject, entry.payload, {wire.MSG_ID_HEADER: entry.msg_id})

    async def _send_meta(self, entry: _Entry) -> None:
        if self._stopping:
            self._rollbacks.append(entry)
            return
        entry.stage = _META
        subject = entry.meta_subject
        meta = wire.encode_meta(entry.info)
        if entry.guard is _NEW_NAME:
            await self._send(entry, subject, meta, _NEW_NAME_HEADERS, _NEW_NAME_BLOCK)
        else:
            await self._send(entry, subject, meta, entry.guard.headers())

    # -- acks

    def _on_ack(self, msg: RawMsg) -> None:
        entry = self._waiting.pop(msg.subject, None)
        if entry is None:
            return  # late, after its entry was handed over
        where = entry.subject if entry.stage == _CHUNK else f"meta of {entry.info.name!r}"
        try:
            seq = ack_sequence(msg, bucket=self._bucket.name, subject=where)
        except ObjectStoreError as exc:
            self._on_refused(entry, exc)
            self._poke()
            return
        if entry.stage == _META:
            self._committed(entry, seq)
        elif self._stopping:
            self._rollbacks.append(entry)
        else:
            self._ready.append(entry)
        self._poke()

    def _on_refused(self, entry: _Entry, exc: ObjectStoreError) -> None:
        if entry.stage == _META:
            step = decide(MetaOutcome(error=exc))
        else:  # a chunk: no leader or no answer is settled the slow way; the rest fails
            step = Step.READ_BACK if classify(exc) is Failure.TRANSIENT else Step.ROLL_BACK
        if step is not Step.ROLL_BACK:
            self._hand_over(self._recover(entry))  # a name that exists, or no leader
            return
        if entry.stage == _META:  # the meta was refused: its chunk must go
            self._rollbacks.append(entry)
        self._fail(exc)

    def _committed(self, entry: _Entry, seq: int) -> None:
        stored = entry.info.with_revision(seq)
        self._bucket.known.remember(entry.meta_subject, Known.of(stored))
        if entry.guard.replaces is not None:  # a known name: its old chunks go to the janitor
            self._hand_over(self._bucket.purge_replaced(entry.guard.replaces, stored.nuid))
        self._results[entry.index] = stored
        if self._progress is not None:
            self._progress(stored.size)

    def _expire(self, now: float) -> None:
        """Hand over the entries whose ack is overdue: put()'s machinery settles them."""
        limit = now - self._ack_timeout
        for reply, entry in list(self._waiting.items()):
            if entry.sent_at <= limit:
                del self._waiting[reply]
                self._hand_over(self._recover(entry))

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self._stopping = True
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    # -- off the common path

    def _hand_over(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._handed.add(task)
        task.add_done_callback(self._handed.discard)

    async def _recover(self, entry: _Entry) -> None:
        """Finish one object with put()'s own steps: the chunk again (Nats-Msg-Id makes a
        re-send harmless), then the meta through commit(), or roll back."""
        bucket, info = self._bucket, entry.info
        upload = OneChunk(bucket, entry.payload, info.nuid)
        try:
            if entry.stage == _META:
                upload.acked()  # acked before its meta went out
            else:
                await upload.resend()
            found = await bucket.replaced_by_put(info.name)
            if landed(found, info):  # its meta made it after all
                assert found is not None
                self._committed(entry, found.revision)
                return
            if self._error is not None:  # put_many failed meanwhile: no new commits
                await upload.rollback()
                return
            guard = guard_over_found(found)
            stored = await commit(bucket, info, guard, rollback=upload.rollback)
            entry.guard = Guard(None)  # commit() had the janitor purge what it replaced
            self._committed(entry, stored.revision)
        except BaseException as exc:
            if not upload.known_stored:  # the chunk's fate is unknown: make sure it is gone
                with contextlib.suppress(BaseException):
                    await self._purge(entry)
            self._fail(exc)

    async def _purge(self, entry: _Entry) -> None:
        try:
            await purge_subject(self._js, self._bucket.name, entry.subject)
        except ObjectStoreError as exc:
            self._fail(exc)
