"""The few JetStream API calls the object store needs, over one connection, with typed errors.

No nats-py exception passes this layer: errors.map_nats_error and errors.api_error translate.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from .._natspy import Connection, Handler, RawMsg
from .._wire.errors import (
    JetStreamAPIError,
    ObjectStoreError,
    StoreTimeoutError,
)
from .errors import api_error, map_nats_error
from .messages import StoredMsg, ack_sequence, parse_ack, stored_msg
from .permissions import PermissionWatch
from .share import ReadShare


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(asyncio.TimeoutError())


class JetStream:
    """JetStream requests with typed errors, plus permission-violation fast failure."""

    def __init__(
        self,
        conn: Connection,
        *,
        timeout: float = 5.0,
        domain: str | None = None,
        api_prefix: str | None = None,
    ) -> None:
        self.conn = conn
        self.nc = conn.nc
        self.timeout = timeout
        if domain:  # the domain wins over an API prefix, as in nats-py and natscli
            self.prefix = f"$JS.{domain}.API"
        elif api_prefix:
            self.prefix = api_prefix.rstrip(".")
        else:
            self.prefix = "$JS.API"
        self.permissions = PermissionWatch()
        self._replies: dict[str, asyncio.Future[RawMsg]] = {}
        self._reply_prefix = ""
        self._reply_seq = 0
        self._reply_lock = asyncio.Lock()
        self.reads = ReadShare()
        """The reads in progress on this connection, which share what they may ask for."""

    def reconnects(self) -> int:
        """How many times the connection was re-established so far."""
        return int(self.nc.stats.get("reconnects", 0))

    @property
    def single_server(self) -> bool:
        """True if the JetStream this connection talks to is the connected server's own, and
        that server is not part of a cluster: every stream then has exactly one replica.

        Read from the server's INFO on every call, since a reconnect may land elsewhere. A
        JetStream domain or API prefix may lead to another server's JetStream: then False.
        """
        info = self.conn.server_info
        return bool(info.get("jetstream")) and not info.get("cluster") and self.prefix == "$JS.API"

    async def _reply_inbox(self) -> str:
        """The prefix of this connection's reply subjects (one subscription for all requests)."""
        if not self._reply_prefix:
            async with self._reply_lock:
                if not self._reply_prefix:
                    prefix = self.nc.new_inbox()
                    await self.conn.subscribe(prefix + ".*", self._on_reply)
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
        unwatch = self.permissions.watch(subject, fut)
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
        fut = await self._request(subject, payload, headers, timeout, context)
        return await self._reply(fut, subject, context)

    async def _request(
        self,
        subject: str,
        payload: bytes,
        headers: dict[str, str] | None,
        timeout: float | None,
        context: str,
    ) -> asyncio.Future[RawMsg]:
        """Send a request now (queued on the connection when this returns); its reply's future."""
        reply, fut = await self.expect_reply(subject, timeout=timeout, context=context)
        try:
            await self.send(subject, payload, reply, headers)
        except BaseException as exc:
            fut.cancel()
            if isinstance(exc, Exception) and not isinstance(exc, ObjectStoreError):
                raise map_nats_error(exc, context or subject) from exc
            raise
        return fut

    async def _reply(self, fut: asyncio.Future[RawMsg], subject: str, context: str) -> RawMsg:
        """The reply `fut` brings, with natsobj errors (a 503: no responders)."""
        try:
            msg = await fut
        except ObjectStoreError:
            raise
        except Exception as exc:
            raise map_nats_error(exc, context or subject) from exc
        finally:
            if not fut.done():
                fut.cancel()
        if not msg.data and msg.status == "503":
            api = self._foreign_api(subject)
            if api:
                raise StoreTimeoutError(
                    f"{context or subject}: no responders under {api}; is that the "
                    "right JetStream domain or API prefix, and is its server up?"
                )
            raise StoreTimeoutError(
                f"{context or subject}: no responders; is JetStream enabled, and does the "
                "stream have a leader?"
            )
        return msg

    def _foreign_api(self, subject: str) -> str | None:
        """The API prefix of `subject` if it is not this server's own `$JS.API`."""
        if self.prefix != "$JS.API" and subject.startswith(self.prefix + "."):
            return self.prefix
        tokens = subject.split(".")
        if len(tokens) > 3 and tokens[0] == "$JS" and tokens[2] == "API":
            return ".".join(tokens[:3])
        return None

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
        """Publish with a reply subject (see Connection.send); errors are nats-py's."""
        await self.conn.send(subject, payload, reply, headers, block=block, direct=direct)

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
        prefix: str | None = None,
    ) -> dict[str, Any]:
        """Call `$JS.API.<endpoint>` and return the JSON response; raise on an API error.

        `prefix` sends it to another JetStream API (e.g. a mirror's origin, `$JS.<domain>.API`)
        over the same connection."""
        answer = await self.start_api(endpoint, body, bucket=bucket, timeout=timeout, prefix=prefix)
        return await answer

    async def start_api(
        self,
        endpoint: str,
        body: dict[str, Any] | None = None,
        *,
        bucket: str | None = None,
        timeout: float | None = None,
        prefix: str | None = None,
    ) -> Awaitable[dict[str, Any]]:
        """Send an `api` request now, queued on the connection before this returns, and give
        its answer to await (as `api` returns it): a background request that goes out with
        whatever is written next (the janitor's purges, in the same write as the next put)."""
        subject = f"{prefix or self.prefix}.{endpoint}"
        payload = json.dumps(body).encode() if body is not None else b""
        fut = await self._request(subject, payload, None, timeout, endpoint)
        return self._api_answer(fut, subject, endpoint, bucket)

    async def _api_answer(
        self, fut: asyncio.Future[RawMsg], subject: str, endpoint: str, bucket: str | None
    ) -> dict[str, Any]:
        msg = await self._reply(fut, subject, endpoint)
        try:  # _reply already turned a 503 (no responders) into StoreTimeoutError
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
        self,
        stream: str,
        *,
        bucket: str | None = None,
        subjects_filter: str | None = None,
        prefix: str | None = None,
    ) -> dict[str, Any]:
        body = {"subjects_filter": subjects_filter} if subjects_filter else None
        if subjects_filter is None:
            return await self.api(f"STREAM.INFO.{stream}", body, bucket=bucket, prefix=prefix)
        # subject details come in pages of at most 100,000
        info = await self.api(f"STREAM.INFO.{stream}", body, bucket=bucket, prefix=prefix)
        subjects = dict(info.get("state", {}).get("subjects") or {})
        total = int(info.get("total") or 0)
        while total and len(subjects) < total:
            page = await self.api(
                f"STREAM.INFO.{stream}",
                {"subjects_filter": subjects_filter, "offset": len(subjects)},
                bucket=bucket,
                prefix=prefix,
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
        """Purge `subject` from `stream`; the number of messages removed."""
        purge = await self.start_stream_purge(stream, subject, bucket=bucket, timeout=timeout)
        return await purge

    async def start_stream_purge(
        self, stream: str, subject: str, *, bucket: str, timeout: float | None = None
    ) -> Awaitable[int]:
        """`stream_purge`, sent now (see `start_api`); the count removed to await."""
        answer = await self.start_api(
            f"STREAM.PURGE.{stream}", {"filter": subject}, bucket=bucket, timeout=timeout
        )
        return _purged(answer)

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

    async def subscribe_inbox(self, handler: Handler) -> tuple[str, Any]:
        """A fresh inbox prefix and a subscription on `<prefix>.*` delivering to `handler`."""
        prefix = self.nc.new_inbox()
        try:
            sub = await self.conn.subscribe(prefix + ".*", handler)
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


async def _purged(answer: Awaitable[dict[str, Any]]) -> int:
    return int((await answer).get("purged") or 0)
