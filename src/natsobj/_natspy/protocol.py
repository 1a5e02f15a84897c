"""The NATS protocol as bytes, for natsobj's reading fast path: no socket, no nats-py privates.

Profiled (bench/objbench.py --profile): for every message nats-py matches regular expressions on
a growing bytearray, copies the payload out of it, parses every header into a dict, builds a
Msg, and hands it through an asyncio.Queue to a task per subscription. `FastParser` has nats-py's
Parser interface (`parse`, `reset`): it finds control lines with bytes.find, slices payloads
straight out of the bytes the socket read returned, and calls a plain function for the
subscriptions natsobj registered, with a `RawMsg` whose headers are parsed only when asked for.
Every other message and protocol operation (PING, PONG, INFO, -ERR, +OK) goes to `ParserHooks`,
which `privates` binds to the nats-py methods its own parser calls.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from nats.errors import ProtocolError

log = logging.getLogger("natsobj")

_CRLF = b"\r\n"
_MAX_CONTROL_LINE = 4096
_HEADER_SPACE = re.compile(rb"[\s\x1c-\x1f]")


class ParserHooks(Protocol):
    """Where FastParser sends what is not a message for one of natsobj's subscriptions."""

    stats: dict[str, Any]

    def ping(self) -> Awaitable[None]: ...
    def pong(self) -> Awaitable[None]: ...
    def err(self, text: str) -> Awaitable[None]: ...
    def info(self, doc: dict[str, Any]) -> Awaitable[None]: ...
    def msg(
        self, sid: int, subject: bytes, reply: bytes, payload: bytes, header: bytes | None
    ) -> Awaitable[None]: ...


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

    def __init__(self, hooks: ParserHooks) -> None:
        self.hooks = hooks
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
            await self.hooks.ping()
        elif upper == b"PONG":
            await self.hooks.pong()
        elif upper == b"+OK":
            pass
        elif upper.startswith(b"-ERR"):
            await self.hooks.err(line[4:].strip().decode("utf-8", "replace").lower())
        elif upper.startswith(b"INFO"):
            await self.hooks.info(json.loads(line[4:].strip()))
        else:
            raise ProtocolError("nats: unknown protocol")
        return pos

    async def _deliver(
        self, subject: bytes, sid: int, reply: bytes, header: bytes | None, payload: bytes
    ) -> None:
        handler = self.handlers.get(sid)
        if handler is None:
            await self.hooks.msg(sid, subject, reply, payload, header)
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
        stats = self.hooks.stats
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


def header_block(headers: dict[str, str], first: str = "NATS/1.0") -> bytes:
    """The header block nats-py would send for `headers` (natsobj's own: well-formed names,
    values without line breaks); `first` is its first line."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{first}\r\n{lines}\r\n".encode()


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
