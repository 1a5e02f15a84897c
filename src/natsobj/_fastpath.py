"""Faster reading and writing on nats-py connections: natsobj skips nats-py's per-message work.

Profiled (bench/objbench.py --profile): for every message nats-py matches regular expressions on
a growing bytearray, copies the payload out of it, parses every header into a dict, builds a
Msg, and hands it through an asyncio.Queue to a task per subscription. `FastParser` replaces the
connection's protocol parser: it finds control lines with bytes.find, slices payloads straight
out of the bytes the socket read returned, and calls a plain function for the subscriptions
natsobj registered (`subscribe`) with a `RawMsg` whose headers are parsed only when asked for.
Every other message and protocol operation (PING, PONG, INFO, -ERR, +OK) goes to the same
nats-py methods its own parser calls, so auth, TLS, reconnects and users' own subscriptions
behave as before. For writing, `publish_now` queues natsobj's publishes on nats-py's own
outgoing buffer, with nats-py's checks and bytes, without a coroutine per message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.errors import ProtocolError

log = logging.getLogger("natsobj")

_CRLF = b"\r\n"
_MAX_CONTROL_LINE = 4096
_AWAITING_CONTROL_LINE = 1  # nats-py's Parser.state between messages
_HEADER_SPACE = re.compile(rb"[\s\x1c-\x1f]")


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """`Name: value` lines into a dict, as nats-py parses them (names with spaces skipped)."""
    out: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip()
        if _HEADER_SPACE.search(name):
            continue
        try:
            key = name.decode("ascii")
        except UnicodeDecodeError:
            continue
        out[key] = value.strip().decode("utf-8", "replace")
    return out


def parse_headers(raw: bytes | None) -> dict[str, str] | None:
    """A header block (`NATS/1.0[ status[ description]]` + lines) as nats-py's Msg.headers."""
    if not raw:
        return None
    first, _, rest = raw.partition(_CRLF)
    out: dict[str, str] = {}
    inline = first[8:].strip()  # after "NATS/1.0"
    if inline:
        code, _, desc = inline.partition(b" ")
        if len(code) == 3 and code.isdigit():
            out["Status"] = code.decode()
        desc = desc.strip()
        if desc:
            out["Description"] = desc.decode("utf-8", "replace")
    if len(rest) > 2:
        out.update(parse_header_lines(rest))
    return out or None


def header_status(raw: bytes | None) -> bytes | None:
    """The inline status code of a header block (b"100", b"404"...), without parsing the rest."""
    if not raw or len(raw) < 13 or raw[8:9] != b" " or raw[12:13] not in (b" ", b"\r"):
        return None
    code = raw[9:12]
    return code if code.isdigit() else None


class RawMsg:
    """A received message: subject, reply, data, and headers parsed on first use."""

    __slots__ = ("_headers", "data", "raw_headers", "reply", "subject")

    def __init__(self, subject: str, reply: str, data: bytes, raw_headers: bytes | None) -> None:
        self.subject = subject
        self.reply = reply
        self.data = data
        self.raw_headers = raw_headers
        self._headers: dict[str, str] | bool | None = False

    @property
    def headers(self) -> dict[str, str] | None:
        if self._headers is False:
            self._headers = parse_headers(self.raw_headers)
        return self._headers  # type: ignore[return-value]

    @property
    def status(self) -> str | None:
        code = header_status(self.raw_headers)
        return code.decode() if code is not None else None

    def header(self, name: str) -> str | None:
        headers = self.headers
        return headers.get(name) if headers else None

    def __repr__(self) -> str:
        return f"RawMsg({self.subject!r}, {len(self.data)} bytes, status={self.status})"


Handler = Callable[[RawMsg], None]


class FastParser:
    """nats-py's Parser interface (`parse`, `reset`), dispatching registered sids directly."""

    def __init__(self, nc: NatsClient) -> None:
        self.nc = nc
        self.handlers: dict[int, Handler] = {}
        self.reset()

    def reset(self) -> None:
        """Forget a half-read operation (nats-py calls this on reconnect)."""
        self._line_rest = b""
        self._args: tuple[bytes, int, bytes, int, int] | None = None
        self._acc = bytearray()

    async def parse(self, data: bytes = b"") -> None:
        pos = 0
        if self._args is not None:  # completing a payload split across reads
            need = self._args[4] + 2 - len(self._acc)
            if len(data) < need:
                self._acc += data
                return
            self._acc += memoryview(data)[:need]
            pos = need
            subject, sid, reply, hsize, size = self._args
            view = memoryview(self._acc)
            header = bytes(view[:hsize]) if hsize else None
            payload = bytes(view[hsize:size])
            view.release()
            self._args = None
            self._acc = bytearray()
            await self._deliver(subject, sid, reply, header, payload)
        elif self._line_rest:  # completing a control line split across reads
            rest = self._line_rest
            if rest[-1:] == b"\r" and data[:1] == b"\n":  # split between CR and LF
                line, pos = rest[:-1], 1
            else:
                end = data.find(_CRLF)
                if end < 0:
                    self._line_rest += data
                    if len(self._line_rest) > _MAX_CONTROL_LINE:
                        raise ProtocolError("nats: control line too long")
                    return
                line, pos = rest + data[:end], end + 2
            self._line_rest = b""
            pos = await self._control(line, data, pos)
            if pos < 0:
                return
        await self._scan(data, pos)

    async def _scan(self, data: bytes, pos: int) -> None:
        n = len(data)
        handlers = self.handlers
        while pos < n:
            end = data.find(_CRLF, pos)
            if end < 0:
                self._line_rest = data[pos:]
                if len(self._line_rest) > _MAX_CONTROL_LINE:
                    raise ProtocolError("nats: control line too long")
                return
            op = data[pos : pos + 1]
            if op == b"M" or op == b"H":
                # The hot path: a whole message for one of natsobj's subscriptions is handed
                # over right here, with no coroutine per message.
                subject, sid, reply, hsize, size = _msg_args(data[pos:end])
                start = end + 2
                handler = handlers.get(sid)
                if handler is not None and n - start >= size + 2:
                    header = data[start : start + hsize] if hsize else None
                    self._hand(
                        handler, sid, subject, reply, header, data[start + hsize : start + size]
                    )
                    pos = start + size + 2
                    continue
            pos = await self._control(data[pos:end], data, end + 2)
            if pos < 0:
                return

    async def _control(self, line: bytes, data: bytes, pos: int) -> int:
        """Handle one control line; return where parsing goes on in `data` (-1: read more)."""
        op = line[:1]
        if op == b"M" or op == b"H":
            subject, sid, reply, hsize, size = _msg_args(line)
            if len(data) - pos >= size + 2:
                header = data[pos : pos + hsize] if hsize else None
                await self._deliver(subject, sid, reply, header, data[pos + hsize : pos + size])
                return pos + size + 2
            self._args = (subject, sid, reply, hsize, size)
            self._acc = bytearray(memoryview(data)[pos:])
            return -1
        upper = line.rstrip().upper()
        if upper == b"PING":
            await self.nc._process_ping()
        elif upper == b"PONG":
            await self.nc._process_pong()
        elif upper == b"+OK":
            pass
        elif upper.startswith(b"-ERR"):
            await self.nc._process_err(line[4:].strip().decode("utf-8", "replace").lower())
        elif upper.startswith(b"INFO"):
            await self.nc._process_info(json.loads(line[4:].strip()))
        else:
            raise ProtocolError("nats: unknown protocol")
        return pos

    async def _deliver(
        self, subject: bytes, sid: int, reply: bytes, header: bytes | None, payload: bytes
    ) -> None:
        handler = self.handlers.get(sid)
        if handler is None:
            await self.nc._process_msg(sid, subject, reply, payload, header)  # type: ignore[arg-type]
            return
        self._hand(handler, sid, subject, reply, header, payload)

    def _hand(
        self,
        handler: Handler,
        sid: int,
        subject: bytes,
        reply: bytes,
        header: bytes | None,
        payload: bytes,
    ) -> None:
        stats = self.nc.stats
        stats["in_msgs"] += 1
        stats["in_bytes"] += len(payload)
        try:
            handler(RawMsg(subject.decode(), reply.decode(), payload, header))
        except Exception:  # a handler's bug must not stop the connection's read loop
            log.exception("natsobj: handler for subscription %d failed", sid)


def _msg_args(line: bytes) -> tuple[bytes, int, bytes, int, int]:
    """Subject, sid, reply, header size and total size of a MSG or HMSG control line."""
    parts = line.split()
    try:
        if parts[0] == b"MSG" and len(parts) in (4, 5):
            hsize, size = 0, int(parts[-1])
        elif parts[0] == b"HMSG" and len(parts) in (5, 6):
            hsize, size = int(parts[-2]), int(parts[-1])
        else:
            raise ValueError(line)
        with_reply = len(parts) == (6 if parts[0] == b"HMSG" else 5)
        return parts[1], int(parts[2]), parts[3] if with_reply else b"", hsize, size
    except (ValueError, IndexError):
        raise ProtocolError("nats: malformed MSG") from None


def install(nc: NatsClient) -> bool:
    """Give `nc` the fast parser (idempotent); False if that cannot be done safely now.

    Only between two messages: a connection whose nats-py parser holds half a message keeps
    it (natsobj's subscriptions then go through nats-py), and so does a nats-py without the
    hooks used here.
    """
    old = getattr(nc, "_ps", None)
    if isinstance(old, FastParser):
        return True
    needed = ("_process_msg", "_process_ping", "_process_pong", "_process_info", "_process_err")
    if not all(callable(getattr(nc, name, None)) for name in needed) or not hasattr(nc, "_sid"):
        return False
    carry = b""
    if old is not None:
        if getattr(old, "state", None) != _AWAITING_CONTROL_LINE:
            return False
        carry = bytes(getattr(old, "buf", b""))
    parser = FastParser(nc)
    parser._line_rest = carry  # a control line the old parser had only started on
    nc._ps = parser  # type: ignore[assignment]
    return True


async def _ignore(_msg: Any) -> None:  # nats-py's queue for a fast sid never receives anything
    return None


async def subscribe(nc: NatsClient, subject: str, handler: Handler) -> Any:
    """Subscribe `handler` to `subject` on the fast path (nats-py's subscription otherwise).

    The subscription is nats-py's own, so unsubscribe, drain and re-subscribing after a
    reconnect work as usual; only the delivery of its messages bypasses nats-py.
    """
    parser = nc._ps if install(nc) else None
    if isinstance(parser, FastParser):
        sid = nc._sid + 1  # nats-py takes the next sid synchronously, before any await
        parser.handlers[sid] = handler
        try:
            sub = await nc.subscribe(
                subject, cb=_ignore, pending_msgs_limit=-1, pending_bytes_limit=-1
            )
        except BaseException:
            parser.handlers.pop(sid, None)
            raise
        if sub._id != sid:  # pragma: no cover - guards against a nats-py change
            parser.handlers[sub._id] = parser.handlers.pop(sid)
        _forget_on_unsubscribe(sub, parser)
        return sub

    async def bridge(msg: Any) -> None:
        handler(RawMsg(msg.subject, msg.reply, msg.data, encode_headers(msg.headers)))

    return await nc.subscribe(subject, cb=bridge, pending_msgs_limit=-1, pending_bytes_limit=-1)


def _forget_on_unsubscribe(sub: Any, parser: FastParser) -> None:
    unsubscribe = sub.unsubscribe
    sid = sub._id

    async def unsubscribe_and_forget(limit: int = 0) -> None:
        try:
            await unsubscribe(limit)
        finally:
            if not limit:
                parser.handlers.pop(sid, None)

    sub.unsubscribe = unsubscribe_and_forget


def encode_headers(headers: dict[str, str] | None) -> bytes | None:
    """A header dict back into a block (for connections without the fast parser)."""
    if not headers:
        return None
    first = "NATS/1.0"
    status = headers.get("Status")
    if status:
        first += " " + status
        desc = headers.get("Description")
        if desc:
            first += " " + desc
    rest = {k: v for k, v in headers.items() if k not in ("Status", "Description")}
    return header_block(rest, first)


class Mailbox:
    """A FIFO filled by handlers on the read loop and emptied by one task.

    What asyncio.Queue does for this case, without its per-item bookkeeping: a deque, and one
    waiter future while the consumer waits.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __len__(self) -> int:
        return len(self._items)

    def get_nowait(self) -> Any:
        return self._items.popleft()

    async def wait(self, timeout: float, stop: asyncio.Future[Any] | None = None) -> bool:
        """Wait until an item is there (True), `timeout` passes or `stop` is done (False)."""
        if self._items:
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _wake, waiter)
        if stop is not None:
            stop.add_done_callback(waiter_wake := lambda _f: _wake(waiter))
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
            if stop is not None:
                stop.remove_done_callback(waiter_wake)
        return bool(self._items)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


# ---------------------------------------------------------------------------------------------
# writing: a publish queued on nats-py's outgoing buffer without a coroutine


def header_block(headers: dict[str, str], first: str = "NATS/1.0") -> bytes:
    """The header block nats-py would send for `headers` (natsobj's own: well-formed names,
    values without line breaks); `first` is its first line."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{first}\r\n{lines}\r\n".encode()


def publish_now(
    nc: NatsClient,
    subject: str,
    payload: bytes,
    reply: str,
    headers: bytes | None = None,
    *,
    direct: bool = False,
) -> bool:
    """Queue a publish on nats-py's outgoing buffer now, as `nc.publish` would, and kick its
    flusher; nothing waits. True when that buffer is over nats-py's limit: the caller then
    awaits `drain_outgoing(nc)`, as `nc.publish` itself would have.

    The same checks and the same bytes as `nc.publish` (reply subjects and `headers`, a block
    from `header_block`, are natsobj's own), without a coroutine, a header dict to encode, a
    copy of the payload into one command, or a future per call. While nats-py reconnects, the
    message waits in the same buffer as its own publishes do.

    With `direct`, a message goes straight to the socket when nats-py has nothing waiting to
    be written (one send now, instead of one when its flusher next runs): for a latency-bound
    caller that sends one message at a time.
    """
    if nc.is_closed:
        raise nats.errors.ConnectionClosedError
    if nc.is_draining_pubs:
        raise nats.errors.ConnectionDrainingError
    size = len(payload)
    limit = nc._max_pending_size
    if not nc.is_connected and (limit <= 0 or size + nc._pending_data_size > limit):
        raise nats.errors.OutboundBufferLimitError
    if size > nc._max_payload:
        raise nats.errors.MaxPayloadError
    if headers is None:
        parts = [f"PUB {subject} {reply} {size}\r\n".encode(), payload, _CRLF]
    else:
        line = f"HPUB {subject} {reply} {len(headers)} {len(headers) + size}\r\n".encode()
        parts = [line, headers, payload, _CRLF]
    stats = nc.stats
    stats["out_msgs"] += 1
    stats["out_bytes"] += size
    pending = nc._pending
    if not pending and nc.is_connected and direct:
        # Nothing of nats-py's waits to be written: straight to the socket, in order.
        nc._transport.writelines(parts)
        return False
    pending.extend(parts)
    nc._pending_data_size += sum(map(len, parts))
    queue = nc._flush_queue
    if queue is not None and queue.empty() and nc.is_connected:
        queue.put_nowait(asyncio.get_running_loop().create_future())
    return limit > 0 and nc._pending_data_size > limit


async def drain_outgoing(nc: NatsClient) -> None:
    """Wait until nats-py has written its outgoing buffer (backpressure after `publish_now`)."""
    await nc._flush_pending(force_flush=True)


def can_publish_now(nc: NatsClient) -> bool:
    """True if this nats-py has the outgoing buffer `publish_now` relies on."""
    return all(
        hasattr(nc, name)
        for name in ("_pending", "_pending_data_size", "_max_pending_size", "_flush_queue")
    ) and isinstance(getattr(nc, "_pending", None), list)


def ack_seq(data: bytes) -> int | None:
    """The stream sequence of a successful PubAck, without a JSON parse; None for anything
    else (an error, an unexpected shape): parse that with `json` then."""
    if not data.startswith(b'{"stream":"') or b'"error"' in data:
        return None
    at = data.find(b'"seq":')
    if at < 0:
        return None
    start = end = at + 6
    while end < len(data) and 48 <= data[end] <= 57:
        end += 1
    return int(data[start:end]) if end > start else None
