"""The few JetStream API calls the object store needs, over one nats-py connection.

This is the one boundary where nats-py errors and JetStream API error codes become natsobj
errors: no nats-py exception passes this layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import nats.errors
from nats.aio.client import Client as NatsClient

from . import _fastpath
from ._errors import (
    BucketExistsError,
    BucketFullError,
    BucketNotFoundError,
    BucketSealedError,
    ConnectionLostError,
    JetStreamAPIError,
    ObjectStoreError,
    PermissionDeniedError,
    StoreTimeoutError,
)
from ._fastpath import RawMsg

# JetStream API err_codes (nats-server's errors.json)
ERR_STREAM_NOT_FOUND = 10059
ERR_STREAM_NAME_IN_USE = 10058
ERR_NO_MESSAGE_FOUND = 10037
ERR_SEALED = 10109
ERR_MAX_BYTES = 10077
ERR_DUPLICATE_IN_PROCESS = 10158
ERR_WRONG_LAST_MSG_ID = 10070
ERR_WRONG_LAST_SEQUENCE = 10071
ERR_WRONG_LAST_SEQUENCE_CLUSTERED = 10164
"""A clustered stream leader's refusal while another write to the subject is in flight
("wrong last sequence", no number): seen with three clients writing one new name on R3."""

# nats-py lower-cases the server's -ERR text, so match (and compare subjects) without case.
_PERMISSION_RE = re.compile(
    r'Permissions Violation for (Publish|Subscription) to "?([^"\s]+)"?', re.IGNORECASE
)


def api_error(
    err: dict[str, Any], *, bucket: str | None = None, context: str = ""
) -> ObjectStoreError:
    """The natsobj error for a JetStream API error object."""
    code = int(err.get("code") or 0)
    err_code = int(err.get("err_code") or 0)
    description = str(err.get("description") or "")
    if bucket is not None:
        if err_code == ERR_STREAM_NOT_FOUND:
            return BucketNotFoundError(bucket)
        if err_code == ERR_STREAM_NAME_IN_USE:
            return BucketExistsError(bucket)
        if err_code == ERR_SEALED or "sealed" in description:
            return BucketSealedError(bucket)
        if err_code == ERR_MAX_BYTES or "maximum bytes" in description:
            return BucketFullError(bucket)
    if code == 403 or "permission" in description.lower():
        return PermissionDeniedError(f"{context}: {description}" if context else description)
    return JetStreamAPIError(code, err_code, description, context)


def map_nats_error(exc: BaseException, context: str) -> ObjectStoreError:
    """The natsobj error for an exception raised by nats-py."""
    if isinstance(exc, ObjectStoreError):
        return exc
    if isinstance(exc, nats.errors.NoRespondersError):
        return StoreTimeoutError(
            f"{context}: no responders; is JetStream enabled on the server, and does the "
            "bucket's stream have a leader?"
        )
    if isinstance(exc, (nats.errors.TimeoutError, asyncio.TimeoutError, TimeoutError)):
        return StoreTimeoutError(f"{context}: the server did not answer in time")
    if isinstance(
        exc,
        (
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionDrainingError,
            nats.errors.OutboundBufferLimitError,
            nats.errors.NoServersError,
            nats.errors.ConnectionReconnectingError,
        ),
    ):
        return ConnectionLostError(f"{context}: not connected to a NATS server ({exc!r})")
    return ObjectStoreError(f"{context}: {exc!r}")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _from_ns(ns: int) -> datetime:
    """A UTC time from nanoseconds, truncated to microseconds as RFC 3339 parsing does."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(asyncio.TimeoutError())


@dataclass
class StoredMsg:
    """A message read back from a stream (direct get or consumer delivery)."""

    subject: str
    seq: int
    data: bytes
    raw_headers: bytes | None
    time: str | None
    num_pending: int | None
    moment: datetime | None = None
    """The server's timestamp, when it came as a number (consumer deliveries)."""

    @property
    def headers(self) -> dict[str, str]:
        """The stored message's headers (parsed on each access: read them once)."""
        return _fastpath.parse_headers(self.raw_headers) or {}


def stored_msg(msg: RawMsg) -> StoredMsg:
    """A direct-get reply as a StoredMsg (its Nats-* headers describe the stored message)."""
    headers = msg.headers or {}
    pending = headers.get("Nats-Num-Pending")
    return StoredMsg(
        subject=headers.get("Nats-Subject", ""),
        seq=int(headers.get("Nats-Sequence", "0") or 0),
        data=msg.data,
        raw_headers=msg.raw_headers,
        time=headers.get("Nats-Time-Stamp"),
        num_pending=int(pending) if pending is not None else None,
    )


class JetStream:
    """JetStream requests with typed errors, plus permission-violation fast failure."""

    def __init__(
        self,
        nc: NatsClient,
        *,
        timeout: float = 5.0,
        domain: str | None = None,
        api_prefix: str | None = None,
    ) -> None:
        self.nc = nc
        self.timeout = timeout
        if api_prefix:
            self.prefix = api_prefix.rstrip(".")
        elif domain:
            self.prefix = f"$JS.{domain}.API"
        else:
            self.prefix = "$JS.API"
        self._watchers: dict[str, set[asyncio.Future[Any]]] = {}
        self._replies: dict[str, asyncio.Future[RawMsg]] = {}
        self._reply_prefix = ""
        self._reply_seq = 0
        self._reply_lock = asyncio.Lock()
        self.fast_publish = _fastpath.can_publish_now(nc)
        """Publishes go straight to nats-py's outgoing buffer (_fastpath.publish_now)."""

    @property
    def single_server(self) -> bool:
        """True if the JetStream this connection talks to is the connected server's own, and
        that server is not part of a cluster: every stream then has exactly one replica.

        Read from the server's INFO on every call, since a reconnect may land elsewhere. A
        JetStream domain or API prefix may lead to another server's JetStream: then False.
        """
        info = getattr(self.nc, "_server_info", None) or {}
        return bool(info.get("jetstream")) and not info.get("cluster") and self.prefix == "$JS.API"

    # -- permission violations arrive through nats-py's error callback, not as replies

    def on_async_error(self, exc: BaseException) -> bool:
        """Fail the requests a permission violation names. True if it was one."""
        match = _PERMISSION_RE.search(str(exc))
        if not match:
            return False
        kind, subject = match.groups()
        error = PermissionDeniedError(
            f"permission denied: the server refused {kind.lower()} to {subject!r}; "
            "ask the account owner for access to this bucket"
        )
        for pattern, futures in list(self._watchers.items()):
            if _subject_matches(subject, pattern):
                for fut in futures:
                    if not fut.done():
                        fut.set_exception(error)
        return True

    def _watch(self, subject: str, fut: asyncio.Future[Any]) -> Callable[[], None]:
        """Fail `fut` with PermissionDeniedError if the server refuses `subject`; returns the
        undo (call it once `fut` no longer matters)."""
        watchers = self._watchers.setdefault(subject, set())
        watchers.add(fut)

        def undo() -> None:
            watchers.discard(fut)
            if not watchers and self._watchers.get(subject) is watchers:
                del self._watchers[subject]

        return undo

    def on_permission_denied(
        self, subject: str, callback: Callable[[BaseException], None]
    ) -> Callable[[], None]:
        """Call `callback` with the error if the server refuses `subject`; returns an undo."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unwatch = self._watch(subject, fut)

        def fired(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                callback(done.exception())  # type: ignore[arg-type]

        fut.add_done_callback(fired)

        def undo() -> None:
            unwatch()
            if not fut.done():
                fut.cancel()

        return undo

    @contextlib.contextmanager
    def _watch_permission(self, subject: str) -> Iterator[asyncio.Future[None]]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unwatch = self._watch(subject, fut)
        try:
            yield fut
        finally:
            unwatch()
            if fut.done() and not fut.cancelled():
                fut.exception()  # mark retrieved
            else:
                fut.cancel()

    async def _reply_inbox(self) -> str:
        """The prefix of this connection's reply subjects (one subscription for all requests)."""
        if not self._reply_prefix:
            async with self._reply_lock:
                if not self._reply_prefix:
                    prefix = self.nc.new_inbox()
                    await _fastpath.subscribe(self.nc, prefix + ".*", self._on_reply)
                    self._reply_prefix = prefix
        return self._reply_prefix

    def _on_reply(self, msg: RawMsg) -> None:
        fut = self._replies.pop(msg.subject, None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    async def expect_reply(
        self, subject: str, *, timeout: float | None = None, context: str = ""
    ) -> tuple[str, asyncio.Future[RawMsg]]:
        """A reply subject for a request to `subject` and the future of its reply.

        One future and one timer per request: the reply arrives on this connection's shared
        reply subscription; a permission violation for `subject` fails the future with
        PermissionDeniedError, and `timeout` with asyncio.TimeoutError. Its bookkeeping ends
        with it.
        """
        loop = asyncio.get_running_loop()
        try:
            prefix = await self._reply_inbox()
        except Exception as exc:
            raise map_nats_error(exc, context or subject) from exc
        self._reply_seq += 1
        reply = f"{prefix}.{self._reply_seq}"
        fut: asyncio.Future[RawMsg] = loop.create_future()
        self._replies[reply] = fut
        unwatch = self._watch(subject, fut)
        timer = loop.call_later(timeout or self.timeout, _expire, fut)

        def finished(_: object) -> None:
            timer.cancel()
            self._replies.pop(reply, None)
            unwatch()

        fut.add_done_callback(finished)
        return reply, fut

    async def request_msg(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        context: str = "",
    ) -> RawMsg:
        """A request/reply with natsobj errors; raises PermissionDeniedError at once if denied."""
        reply, fut = await self.expect_reply(subject, timeout=timeout, context=context)
        try:
            await self.nc.publish(subject, payload, reply=reply, headers=headers)
            msg = await fut
        except ObjectStoreError:
            raise
        except Exception as exc:
            raise map_nats_error(exc, context or subject) from exc
        finally:
            if not fut.done():
                fut.cancel()
        if not msg.data and msg.status == "503":
            raise StoreTimeoutError(
                f"{context or subject}: no responders; is JetStream enabled, and does the "
                "stream have a leader?"
            )
        return msg

    async def send(
        self,
        subject: str,
        payload: bytes,
        reply: str,
        headers: dict[str, str] | None = None,
        *,
        block: bytes | None = None,
        direct: bool = False,
    ) -> None:
        """Publish with a reply subject, through `_fastpath.publish_now` where this nats-py
        allows it (`direct`: straight to the socket when nothing else waits to be written;
        `block`: `headers` already encoded by `_fastpath.header_block`, for constant ones).

        A cancellation can only come after the message is queued; an exception before it
        means that nothing was queued, unless it comes from writing out a full buffer.
        """
        if self.fast_publish:
            if block is None and headers:
                block = _fastpath.header_block(headers)
            if _fastpath.publish_now(self.nc, subject, payload, reply, block, direct=direct):
                await _fastpath.drain_outgoing(self.nc)
        else:
            await self.nc.publish(subject, payload, reply=reply, headers=headers)

    async def start_publish(
        self,
        subject: str,
        payload: bytes,
        *,
        headers: dict[str, str] | None = None,
        bucket: str | None = None,
        timeout: float | None = None,
        direct: bool = False,
    ) -> tuple[asyncio.Future[int], bool]:
        """Send a publish into a stream without waiting for its ack; return the ack's future.

        The future gives the stream sequence, or the natsobj error `publish` would raise. It
        comes back even when the caller is cancelled meanwhile: the message is queued before
        anything may wait (for nats-py to write out a full buffer), so it goes out all the
        same. The second value then says True, and the caller must settle the future before
        it lets the cancellation on.
        """
        context = f"publish {subject}"
        reply, raw = await self.expect_reply(subject, timeout=timeout, context=context)
        ack: asyncio.Future[int] = raw.get_loop().create_future()

        def settle(done: asyncio.Future[RawMsg]) -> None:
            if ack.done():
                return
            if done.cancelled():
                ack.cancel()
                return
            error = done.exception()
            if error is None:
                try:
                    ack.set_result(ack_sequence(done.result(), bucket=bucket, subject=subject))
                    return
                except ObjectStoreError as exc:
                    error = exc
            ack.set_exception(map_nats_error(error, context))

        raw.add_done_callback(settle)
        try:
            await self.send(subject, payload, reply, headers, direct=direct)
        except asyncio.CancelledError:
            return ack, True
        except Exception as exc:  # refused before it was queued: nothing went out
            if not raw.done():
                raw.set_exception(exc)
        return ack, False

    async def api(
        self,
        endpoint: str,
        body: dict[str, Any] | None = None,
        *,
        bucket: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Call `$JS.API.<endpoint>` and return the JSON response; raise on an API error."""
        subject = f"{self.prefix}.{endpoint}"
        payload = json.dumps(body).encode() if body is not None else b""
        msg = await self.request_msg(subject, payload, timeout=timeout, context=endpoint)
        try:  # request_msg already turned a 503 (no responders) into StoreTimeoutError
            doc = json.loads(msg.data)
        except ValueError as exc:
            raise ObjectStoreError(f"{endpoint}: unreadable JetStream reply {msg.data!r}") from exc
        if "error" in doc:
            raise api_error(doc["error"], bucket=bucket, context=endpoint)
        return doc

    # -- streams

    async def account_info(self) -> dict[str, Any]:
        return await self.api("INFO")

    async def stream_info(
        self, stream: str, *, bucket: str | None = None, subjects_filter: str | None = None
    ) -> dict[str, Any]:
        body = {"subjects_filter": subjects_filter} if subjects_filter else None
        if subjects_filter is None:
            return await self.api(f"STREAM.INFO.{stream}", body, bucket=bucket)
        # subject details come in pages of at most 100,000
        info = await self.api(f"STREAM.INFO.{stream}", body, bucket=bucket)
        subjects = dict(info.get("state", {}).get("subjects") or {})
        total = int(info.get("total") or 0)
        while total and len(subjects) < total:
            page = await self.api(
                f"STREAM.INFO.{stream}",
                {"subjects_filter": subjects_filter, "offset": len(subjects)},
                bucket=bucket,
            )
            more = page.get("state", {}).get("subjects") or {}
            if not more:
                break
            subjects.update(more)
        info.setdefault("state", {})["subjects"] = subjects
        return info

    async def stream_create(self, config: dict[str, Any], *, bucket: str) -> dict[str, Any]:
        return await self.api(f"STREAM.CREATE.{config['name']}", config, bucket=bucket)

    async def stream_update(self, config: dict[str, Any], *, bucket: str) -> dict[str, Any]:
        return await self.api(f"STREAM.UPDATE.{config['name']}", config, bucket=bucket)

    async def stream_delete(self, stream: str, *, bucket: str) -> None:
        await self.api(f"STREAM.DELETE.{stream}", bucket=bucket)

    async def stream_purge(
        self, stream: str, subject: str, *, bucket: str, timeout: float | None = None
    ) -> int:
        doc = await self.api(
            f"STREAM.PURGE.{stream}", {"filter": subject}, bucket=bucket, timeout=timeout
        )
        return int(doc.get("purged") or 0)

    async def _paged(self, endpoint: str, subject: str | None) -> list[Any]:
        """Every item of a paged STREAM.NAMES / STREAM.LIST answer."""
        items: list[Any] = []
        while True:
            body: dict[str, Any] = {"offset": len(items)}
            if subject:
                body["subject"] = subject
            doc = await self.api(endpoint, body)
            page = doc.get("streams") or []
            items.extend(page)
            if not page or len(items) >= int(doc.get("total") or 0):
                return items

    async def stream_names(self, subject: str | None = None) -> list[str]:
        return await self._paged("STREAM.NAMES", subject)

    async def stream_list(self, subject: str | None = None) -> list[dict[str, Any]]:
        return await self._paged("STREAM.LIST", subject)

    # -- messages

    async def publish(
        self,
        subject: str,
        payload: bytes,
        *,
        headers: dict[str, str] | None = None,
        bucket: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Publish into a stream and wait for the PubAck; raise on an error ack."""
        msg = await self.request_msg(
            subject, payload, headers=headers, timeout=timeout, context=f"publish {subject}"
        )
        return parse_ack(msg, bucket=bucket, subject=subject)

    async def direct_get_last(
        self, stream: str, subject: str, *, timeout: float | None = None
    ) -> StoredMsg | None:
        """The last message on `subject` (subject-appended direct get), or None."""
        api = f"{self.prefix}.DIRECT.GET.{stream}.{subject}"
        msg = await self.request_msg(api, b"", timeout=timeout, context=f"get {subject}")
        status = msg.status
        if status == "404":
            return None
        if status == "503":
            raise StoreTimeoutError(f"get {subject}: no responders for direct get of {stream}")
        if status:
            raise JetStreamAPIError(
                int(status), 0, msg.headers.get("Description", "") if msg.headers else "", api
            )
        return stored_msg(msg)

    async def direct_get(
        self, stream: str, body: dict[str, Any], *, timeout: float | None = None
    ) -> StoredMsg | None:
        """A single-message direct get with a JSON body, or None when nothing matches."""
        api = f"{self.prefix}.DIRECT.GET.{stream}"
        msg = await self.request_msg(
            api, json.dumps(body).encode(), timeout=timeout, context=f"direct get {stream}"
        )
        status = msg.status
        if status == "404":
            return None
        if status:
            raise JetStreamAPIError(
                int(status), 0, msg.headers.get("Description", "") if msg.headers else "", api
            )
        return stored_msg(msg)

    async def subscribe_inbox(self, handler: _fastpath.Handler) -> tuple[str, Any]:
        """A fresh inbox prefix and a subscription on `<prefix>.*` delivering to `handler`."""
        prefix = self.nc.new_inbox()
        try:
            sub = await _fastpath.subscribe(self.nc, prefix + ".*", handler)
        except Exception as exc:
            raise map_nats_error(exc, "subscribe") from exc
        return prefix, sub

    async def ordered_subscribe(
        self,
        stream: str,
        subject: str,
        *,
        deliver_policy: str,
        cb: Callable[[Any], Awaitable[None]],
    ) -> Any:
        """An ordered push consumer (nats-py's): it re-creates itself across gaps and failovers."""
        from nats.js.api import DeliverPolicy

        ctx = self.nc.jetstream(prefix=self.prefix, timeout=self.timeout)
        try:
            return await ctx.subscribe(
                subject,
                stream=stream,
                cb=cb,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy(deliver_policy),
                idle_heartbeat=2.0,
                pending_msgs_limit=-1,
                pending_bytes_limit=-1,
            )
        except Exception as exc:
            raise map_nats_error(exc, f"watch {subject}") from exc


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
        self._queue = _fastpath.Mailbox()
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

    async def __aenter__(self) -> DirectBatchReader:
        self._inbox = self._js.nc.new_inbox()
        self._guard = contextlib.ExitStack()
        self._denied = self._guard.enter_context(self._js._watch_permission(self._api))
        try:
            self._sub = await _fastpath.subscribe(self._js.nc, self._inbox, self._on_msg)
            await self._request()
        except ObjectStoreError:
            raise
        except Exception as exc:
            raise map_nats_error(exc, f"direct get {self._stream}") from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
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
        body: dict[str, Any] = {"seq": self._next_seq, "next_by_subj": self._subject}
        if not self._legacy:
            body["batch"] = self._batch
            body["max_bytes"] = self._batch_bytes
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

    def _on_msg(self, msg: RawMsg) -> None:
        status = msg.status
        if status is None:
            stored = stored_msg(msg)
            self._next_seq = stored.seq + 1
            self._buffered += len(stored.data)
            self._queue.put(stored)
            if stored.num_pending is None:  # a server without batch support
                self._legacy = True
                self._outstanding = False
                self._ask_more_soon()
            return
        self._outstanding = False
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
        self._queue = _fastpath.Mailbox()
        self._sub: Any = None
        self._name = ""
        self._expected_cseq = 1
        self._heartbeat = min(5.0, max(0.5, idle_timeout / 2))
        self._on_message = on_message

    async def __aenter__(self) -> ConsumerReader:
        inbox = self._js.nc.new_inbox()
        try:
            self._sub = await _fastpath.subscribe(self._js.nc, inbox, self._on_msg)
        except Exception as exc:
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
            self._on_message(msg.subject, sseq, msg.data, _from_ns(ts))
        else:
            self._queue.put(
                StoredMsg(
                    subject=msg.subject,
                    seq=sseq,
                    data=msg.data,
                    raw_headers=msg.raw_headers,
                    time=None,
                    num_pending=pending,
                    moment=_from_ns(ts),
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


def is_expectation_refused(exc: BaseException | None) -> bool:
    """True for the server's refusal of a publish whose Nats-Expected-Last-* header did not
    hold: nothing was stored."""
    return isinstance(exc, JetStreamAPIError) and exc.err_code in (
        ERR_WRONG_LAST_MSG_ID,
        ERR_WRONG_LAST_SEQUENCE,
        ERR_WRONG_LAST_SEQUENCE_CLUSTERED,
    )


def ack_sequence(msg: RawMsg, *, bucket: str | None, subject: str) -> int:
    """The stream sequence a PubAck gives, or the natsobj error it reports (the common,
    successful ack is read without a JSON parse)."""
    seq = _fastpath.ack_seq(msg.data) if msg.raw_headers is None else None
    if seq is not None:
        return seq
    return int(parse_ack(msg, bucket=bucket, subject=subject).get("seq") or 0)


def parse_ack(msg: RawMsg, *, bucket: str | None, subject: str) -> dict[str, Any]:
    """The PubAck in `msg`, or the natsobj error it reports."""
    status = msg.status
    if status == "503":
        raise StoreTimeoutError(
            f"publish {subject}: no responders (the bucket's stream has no leader right now)"
        )
    try:
        doc = json.loads(msg.data)
    except ValueError as exc:
        raise ObjectStoreError(f"publish {subject}: unreadable ack {msg.data!r}") from exc
    if "error" in doc:
        raise api_error(doc["error"], bucket=bucket, context=f"publish {subject}")
    return doc


def _subject_matches(subject: str, pattern: str) -> bool:
    """True if a concrete subject matches a subject pattern with * and > wildcards, or equal.

    Case-insensitive: the violation text we match against arrives lower-cased.
    """
    subject = subject.lower()
    pattern = pattern.lower()
    if subject == pattern:
        return True
    s_tokens = subject.split(".")
    p_tokens = pattern.split(".")
    for i, tok in enumerate(p_tokens):
        if tok == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens) or (tok != "*" and tok != s_tokens[i]):
            return False
    return len(s_tokens) == len(p_tokens)
