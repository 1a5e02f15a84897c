"""Reading a subject's messages back: batched direct gets (ADR-31) and flow-controlled consumers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .._natspy import Mailbox, RawMsg
from .._wire.errors import (
    JetStreamAPIError,
    ObjectStoreError,
    StoreTimeoutError,
)
from .api import JetStream
from .errors import map_nats_error
from .messages import StoredMsg, from_ns, stored_msg


class DirectBatchReader:
    """Messages of one subject, read with batched direct gets (ADR-31), one batch ahead.

    The next batch is requested as soon as the server ends the current one, while the caller
    still works through it; at most `max_buffered` bytes wait in memory. Servers without batch
    support answer one message per request, and this falls back to asking for one at a time.
    """

    END = object()

    def __init__(
        self,
        js: JetStream,
        stream: str,
        subject: str,
        *,
        start_seq: int = 1,
        batch: int = 64,
        batch_bytes: int = 8 << 20,
        max_buffered: int = 16 << 20,
        idle_timeout: float = 10.0,
    ) -> None:
        self._js = js
        self._api = f"{js.prefix}.DIRECT.GET.{stream}"
        self._stream = stream
        self._subject = subject
        self._next_seq = start_seq
        self._batch = batch
        self._batch_bytes = batch_bytes
        self._max_buffered = max_buffered
        self.idle_timeout = idle_timeout
        self._queue = Mailbox()
        self._buffered = 0
        self._outstanding = False
        self._wanted = False
        self._legacy = False
        self._sub: Any = None
        self._inbox = ""
        self._guard: contextlib.ExitStack | None = None
        self._denied: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self.last_pending: int | None = None
        self._pending: int | None = None
        """Nats-Num-Pending of the last message: each next one must have one less."""
        self._broken = False
        self._epoch: int | None = None  # the reconnect count when the last batch was asked
        self._counted = False
        self._asked = 0
        """What the request in flight may still bring, counted in the connection's share."""

    async def __aenter__(self) -> DirectBatchReader:
        self._js.reads.batches += 1
        self._counted = True
        self._inbox = self._js.nc.new_inbox()
        self._guard = contextlib.ExitStack()
        self._denied = self._guard.enter_context(self._js.permissions.watching(self._api))
        try:
            self._sub = await self._js.conn.subscribe(self._inbox, self._on_msg)
            await self._request()
        except BaseException as exc:
            await self.__aexit__()
            if isinstance(exc, ObjectStoreError) or not isinstance(exc, Exception):
                raise
            raise map_nats_error(exc, f"direct get {self._stream}") from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._counted:
            self._js.reads.batches -= 1
            self._counted = False
        self._settle()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        for task in list(self._tasks):
            task.cancel()
        if self._guard is not None:
            self._guard.close()
            self._guard = None

    async def _request(self) -> None:
        self._outstanding = True
        self._wanted = False
        now = self._js.reconnects()
        if self._epoch is not None and now != self._epoch:
            self._js.reads.cut(now)  # cut while a batch was on its way: none of it came back
        self._epoch = now
        body: dict[str, Any] = {"seq": self._next_seq, "next_by_subj": self._subject}
        if not self._legacy:
            self._settle()
            self._asked = self._js.reads.ask(self._batch_bytes)
            body["batch"] = self._batch
            body["max_bytes"] = self._asked
        await self._js.nc.publish(self._api, json.dumps(body).encode(), reply=self._inbox)

    async def _ask_more(self) -> None:
        if self._buffered < self._max_buffered:
            await self._request()
        else:
            self._wanted = True

    def _ask_more_soon(self) -> None:
        """Request the next batch from the read loop (a task: handlers cannot await)."""

        async def ask() -> None:
            try:
                await self._ask_more()
            except Exception as exc:
                self._queue.put(map_nats_error(exc, f"direct get {self._stream}"))

        self._tasks.add(task := asyncio.ensure_future(ask()))
        task.add_done_callback(self._tasks.discard)

    def _lost(self, pending: int | None) -> bool:
        """True if messages of this read were lost: the connection was cut since the request
        went out (the server goes on answering the same inbox after the reconnect, so what
        comes next may follow a gap), or the pending count skipped."""
        now = self._js.reconnects()
        if now != self._epoch:
            self._js.reads.cut(now)
            return True
        last = self._pending
        return pending is not None and last is not None and pending < last - 1

    def _on_msg(self, msg: RawMsg) -> None:
        if self._broken:
            return
        status = msg.status
        stored = stored_msg(msg) if status is None else None
        if self._lost(stored.num_pending if stored is not None else None):
            self._broken = True  # read again from the last message that came
            self._queue.put(StoreTimeoutError(f"direct get {self._stream}: messages lost"))
            return
        if stored is not None:
            self._pending = stored.num_pending
            self._next_seq = stored.seq + 1
            if self._asked:
                took = min(self._asked, len(stored.data))
                self._asked -= took
                self._js.reads.received(took)
            self._buffered += len(stored.data)
            self._queue.put(stored)
            if stored.num_pending is None:  # a server without batch support
                self._legacy = True
                self._outstanding = False
                self._ask_more_soon()
            return
        self._outstanding = False
        self._settle()  # the batch is over (or failed): what it did not bring is not coming
        headers = msg.headers or {}
        if status == "204":
            pending = int(headers.get("Nats-Num-Pending") or 0)
            self.last_pending = pending
            if pending == 0:
                self._queue.put(self.END)
            else:
                self._ask_more_soon()
        elif status == "404":
            self.last_pending = 0
            self._queue.put(self.END)
        elif status == "503":
            self._queue.put(StoreTimeoutError(f"direct get {self._stream}: no responders (503)"))
        else:
            desc = headers.get("Description", "")
            self._queue.put(JetStreamAPIError(int(status), 0, desc, f"direct get {self._stream}"))

    def _settle(self) -> None:
        if self._asked:
            self._js.reads.received(self._asked)
            self._asked = 0

    async def next(self) -> StoredMsg | None:
        """The next message, or None when the subject has no more."""
        queue = self._queue
        if not queue and not await queue.wait(self.idle_timeout, self._denied):
            if self._denied is not None and self._denied.done():
                self._denied.result()
            raise StoreTimeoutError(
                f"direct get {self._stream}: no data from the server for {self.idle_timeout:g}s"
            )
        item = queue.get_nowait()
        if item is self.END:
            return None
        if isinstance(item, BaseException):
            raise item
        self._buffered -= len(item.data)
        if self._wanted and not self._outstanding and self._buffered < self._max_buffered:
            try:
                await self._request()
            except Exception as exc:
                raise map_nats_error(exc, f"direct get {self._stream}") from exc
        return item

    @property
    def next_seq(self) -> int:
        return self._next_seq


class ConsumerReader:
    """Messages of one subject from an ephemeral, flow-controlled push consumer, in order.

    Cheaper for the server than direct get when reading a whole object or every meta, but it
    needs a consumer, which needs the meta leader: callers fall back to DirectBatchReader when
    creating one fails. A flow-control request is answered only once the caller has taken the
    messages before it, so what waits in memory stays within the server's window.
    """

    END = object()

    def __init__(
        self,
        js: JetStream,
        stream: str,
        subject: str,
        *,
        start_seq: int = 1,
        last_per_subject: bool = False,
        idle_timeout: float = 10.0,
        create_timeout: float = 2.0,
        on_message: Callable[[str, int, bytes, datetime], None] | None = None,
    ) -> None:
        """With `on_message`, each message goes to it as it arrives, as (subject, stream
        sequence, data, server time), with no queue, and `next()` only reports the end: for
        callers that keep nothing but what they make of it."""
        self._js = js
        self._stream = stream
        self._subject = subject
        self._next_seq = start_seq
        self._last_per_subject = last_per_subject
        self.idle_timeout = idle_timeout
        self._create_timeout = create_timeout
        self._queue = Mailbox()
        self._sub: Any = None
        self._name = ""
        self._expected_cseq = 1
        self._heartbeat = min(5.0, max(0.5, idle_timeout / 2))
        self._on_message = on_message
        self._counted = False

    async def __aenter__(self) -> ConsumerReader:
        self._js.reads.consumers += 1  # before any await: reads starting together see it
        self._counted = True
        self._reconnects = self._js.reconnects()
        inbox = self._js.nc.new_inbox()
        try:
            self._sub = await self._js.conn.subscribe(inbox, self._on_msg)
        except Exception as exc:
            await self.__aexit__()
            raise map_nats_error(exc, f"subscribe for {self._stream}") from exc
        config: dict[str, Any] = {
            "deliver_subject": inbox,
            "filter_subject": self._subject,
            "ack_policy": "none",
            "max_deliver": 1,
            "flow_control": True,
            "idle_heartbeat": int(self._heartbeat * 1e9),
            "mem_storage": True,
            "num_replicas": 1,
            "inactive_threshold": int(max(10.0, self.idle_timeout * 2) * 1e9),
        }
        if self._last_per_subject:
            config["deliver_policy"] = "last_per_subject"
        elif self._next_seq > 1:
            config["deliver_policy"] = "by_start_sequence"
            config["opt_start_seq"] = self._next_seq
        else:
            config["deliver_policy"] = "all"
        try:
            info = await self._js.api(
                f"CONSUMER.CREATE.{self._stream}",
                {"stream_name": self._stream, "config": config},
                timeout=self._create_timeout,
            )
        except BaseException:
            await self.__aexit__()
            raise
        self._name = str(info.get("name") or "")
        if int(info.get("num_pending") or 0) == 0:
            self._queue.put(self.END)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._counted:
            self._js.reads.consumers -= 1
            self._counted = False
            now = self._js.reconnects()
            if now != self._reconnects:  # cut while it read, as a batched read would see it
                self._js.reads.cut(now)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self._name:  # no need to wait: it also goes away once its interest is gone
            with contextlib.suppress(Exception):
                await self._js.nc.publish(
                    f"{self._js.prefix}.CONSUMER.DELETE.{self._stream}.{self._name}", b""
                )
            self._name = ""

    def _on_msg(self, msg: RawMsg) -> None:
        if msg.raw_headers is not None:
            status = msg.status
            if status == "100":
                if msg.reply:  # a flow-control request: answer it when the caller gets here
                    self._queue.put(("fc", msg.reply))
                stalled = msg.header("Nats-Consumer-Stalled")
                if stalled:
                    self._queue.put(("fc", stalled))
                return
            if status:
                return
        tokens = msg.reply.split(".")
        try:
            # $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>, or in v2
            # $JS.ACK.<domain>.<hash>.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>...
            at = 5 if len(tokens) == 9 else 7
            sseq, cseq = int(tokens[at]), int(tokens[at + 1])
            ts, pending = int(tokens[at + 2]), int(tokens[at + 3])
        except (ValueError, IndexError):
            self._queue.put(JetStreamAPIError(0, 0, f"bad reply {msg.reply!r}", "consumer"))
            return
        if cseq != self._expected_cseq:
            self._queue.put(
                StoreTimeoutError(f"consumer on {self._stream} skipped messages; reading again")
            )
            return
        self._expected_cseq = cseq + 1
        if self._on_message is not None:
            self._next_seq = sseq + 1
            self._on_message(msg.subject, sseq, msg.data, from_ns(ts))
        else:
            self._queue.put(
                StoredMsg(
                    subject=msg.subject,
                    seq=sseq,
                    data=msg.data,
                    raw_headers=msg.raw_headers,
                    time=None,
                    num_pending=pending,
                    moment=from_ns(ts),
                )
            )
        if pending == 0:
            self._queue.put(self.END)

    async def next(self) -> StoredMsg | None:
        """The next message, or None when the subject has no more."""
        while True:
            if not self._queue and not await self._queue.wait(self.idle_timeout):
                raise StoreTimeoutError(
                    f"consumer on {self._stream}: no data for {self.idle_timeout:g}s"
                )
            item = self._queue.get_nowait()
            if item is self.END:
                return None
            if isinstance(item, tuple):
                with contextlib.suppress(Exception):
                    await self._js.nc.publish(item[1], b"")
                continue
            if isinstance(item, BaseException):
                raise item
            self._next_seq = item.seq + 1
            return item

    @property
    def next_seq(self) -> int:
        return self._next_seq


MULTI_LAST_LIMIT = 1024
"""The most subjects nats-server answers in one multi_last direct get (more: 413)."""


async def last_of_subjects(
    js: JetStream, stream: str, subjects: list[str], *, timeout: float = 5.0
) -> list[StoredMsg]:
    """The last message of each of `subjects` (at most MULTI_LAST_LIMIT) that has one, by one
    batched direct get (ADR-31 multi_last), in stream order.

    JetStreamAPIError when the server cannot answer such a request (a server before 2.11)
    and StoreTimeoutError when nothing answers (a stream without allow_direct): callers
    then read the subjects one at a time.
    """
    if len(subjects) > MULTI_LAST_LIMIT:
        raise ValueError(f"at most {MULTI_LAST_LIMIT} subjects per multi_last request")
    wanted = set(subjects)
    found: list[StoredMsg] = []
    while wanted:
        batch, more = await _multi_last_once(js, stream, sorted(wanted), timeout)
        found += batch
        wanted -= {stored.subject for stored in batch}
        if not more or not batch:
            break
    return found


async def _multi_last_once(
    js: JetStream, stream: str, subjects: list[str], timeout: float
) -> tuple[list[StoredMsg], bool]:
    """One multi_last request: the messages, and whether the server held some back."""
    api = f"{js.prefix}.DIRECT.GET.{stream}"
    context = f"direct get of {len(subjects)} subjects from {stream}"
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bool] = loop.create_future()
    got: list[StoredMsg] = []

    def on_msg(msg: RawMsg) -> None:
        if done.done():
            return
        status = msg.status
        if status is None:
            got.append(stored_msg(msg))
        elif status == "204":
            done.set_result(int((msg.headers or {}).get("Nats-Num-Pending") or 0) > 0)
        elif status == "404":
            done.set_result(False)
        elif status == "503":
            done.set_exception(StoreTimeoutError(f"{context}: no responders (503)"))
        else:
            desc = (msg.headers or {}).get("Description", "")
            done.set_exception(JetStreamAPIError(int(status), 0, desc, context))

    prefix, sub = await js.subscribe_inbox(on_msg)
    body = {"multi_last": subjects, "batch": len(subjects)}
    epoch = js.reconnects()
    try:
        await js.nc.publish(api, json.dumps(body).encode(), reply=f"{prefix}.1")
        more = await asyncio.wait_for(done, timeout)
        if js.reconnects() != epoch:  # answers may have been lost in between
            raise StoreTimeoutError(f"{context}: the connection was cut; ask again")
    except asyncio.TimeoutError:
        raise StoreTimeoutError(f"{context}: no answer in {timeout:g}s") from None
    except ObjectStoreError:
        raise
    except Exception as exc:
        raise map_nats_error(exc, context) from exc
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return got, more
