"""nats-py's private parts: the only module of natsobj that touches them.

natsobj's fast paths lean on nats-py internals that no API offers: its protocol parser
(`nc._ps`), the `_process_*` methods its parser calls, its outgoing buffer (`_pending`,
`_pending_data_size`, `_flush_queue`, `_flush_pending`, `_transport`), the next subscription id
(`_sid`), the server's INFO (`_server_info`), its header parser and its socket read size. They
are used only on a nats-py this module knows (`knows_this_nats_py`: the range the suite runs
against, TESTED) and only on connections natsobj opened itself; anywhere else natsobj takes
nats-py's public path, which is slower but behaves the same.
"""

from __future__ import annotations

import asyncio
import logging
from importlib import metadata
from typing import Any

import nats.aio.client as nats_client
import nats.errors
from nats.aio.client import Client as NatsClient

from .protocol import _CRLF, FastParser, Handler, RawMsg, encode_headers, parse_header_lines

log = logging.getLogger("natsobj")

TESTED = ((2, 15), (2, 16))
"""The nats-py minor versions whose internals the fast paths are tested against
(tests/test_natspy.py: the fast parser and publish behave exactly as that nats-py's own),
which is also the range pyproject.toml admits: nats-py 2.9 to 2.14 parse some headers
differently and cannot read an nkey seed file. On any other version natsobj takes nats-py's
public path (tests/test_boundary.py)."""

_AWAITING_CONTROL_LINE = 1  # nats-py's Parser.state between messages
_NEEDED = ("_process_msg", "_process_ping", "_process_pong", "_process_info", "_process_err")
_OUTGOING = ("_pending", "_pending_data_size", "_max_pending_size", "_flush_queue")


def nats_py_version() -> tuple[int, ...]:
    """The installed nats-py's version as numbers ((0,) if it cannot be read)."""
    text = getattr(nats_client, "__version__", None)
    if not text:
        try:
            text = metadata.version("nats-py")
        except metadata.PackageNotFoundError:
            return (0,)
    numbers = []
    for part in str(text).split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers) or (0,)


def knows_this_nats_py(version: tuple[int, ...] | None = None) -> bool:
    """True if nats-py `version` (the installed one by default) is in the TESTED range."""
    minor = (version or nats_py_version())[:2]
    known = TESTED[0] <= minor <= TESTED[1]
    if not known:
        log.debug(
            "natsobj: nats-py %s is outside the tested range %s-%s; using nats-py's public "
            "path only (slower, same behaviour)",
            ".".join(map(str, version or nats_py_version())),
            ".".join(map(str, TESTED[0])),
            ".".join(map(str, TESTED[1])),
        )
    return known


def has_hooks(nc: NatsClient) -> bool:
    """True if `nc` has every internal the fast paths use."""
    return (
        all(callable(getattr(nc, name, None)) for name in _NEEDED)
        and hasattr(nc, "_sid")
        and hasattr(nc, "_ps")
        and all(hasattr(nc, name) for name in _OUTGOING)
        and isinstance(getattr(nc, "_pending", None), list)
        and callable(getattr(nc, "_flush_pending", None))
    )


# ---------------------------------------------------------------------------------------------
# reading


class _Hooks:
    """FastParser's way back into nats-py for everything natsobj does not handle itself."""

    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc
        self.stats: dict[str, Any] = nc.stats

    async def ping(self) -> None:
        await self._nc._process_ping()

    async def pong(self) -> None:
        await self._nc._process_pong()

    async def err(self, text: str) -> None:
        await self._nc._process_err(text)

    async def info(self, doc: dict[str, Any]) -> None:
        await self._nc._process_info(doc)

    async def msg(
        self, sid: int, subject: bytes, reply: bytes, payload: bytes, header: bytes | None
    ) -> None:
        await self._nc._process_msg(sid, subject, reply, payload, header)  # type: ignore[arg-type]


def install(nc: NatsClient) -> FastParser | None:
    """Give `nc` the fast parser (idempotent); None if that cannot be done safely now.

    Only between two messages: a connection whose nats-py parser holds half a message keeps
    it (natsobj's subscriptions then go through nats-py), and so does a nats-py without the
    hooks used here.
    """
    old = getattr(nc, "_ps", None)
    if isinstance(old, FastParser):
        return old
    if not has_hooks(nc):
        return None
    carry = b""
    if old is not None:
        if getattr(old, "state", None) != _AWAITING_CONTROL_LINE:
            return None
        carry = bytes(getattr(old, "buf", b""))
    parser = FastParser(_Hooks(nc))
    parser._line_rest = carry  # a control line the old parser had only started on
    nc._ps = parser  # type: ignore[assignment]
    if callable(getattr(nc, "_parse_header_lines", None)):
        nc._parse_header_lines = parse_header_lines  # type: ignore[method-assign]
    return parser


async def _ignore(_msg: Any) -> None:  # nats-py's queue for a fast sid never receives anything
    return None


async def subscribe(nc: NatsClient, subject: str, handler: Handler, *, fast: bool) -> Any:
    """Subscribe `handler` to `subject`: on the fast path if `fast` and the parser is ours
    (see FastParser), else through a plain nats-py subscription and callback.

    The subscription is nats-py's own either way, so unsubscribe, drain and re-subscribing
    after a reconnect work as usual; only the delivery of its messages bypasses nats-py.
    """
    parser = install(nc) if fast else None
    if parser is not None:
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


def tune_read_buffer() -> None:
    """Let nats-py read up to 1 MiB per socket read (it defaults to 32 KiB) on the
    connections it opens from now on.

    Profiled: with 128 KiB chunks, the 32 KiB reader limit pauses and resumes the socket for
    every message (epoll register/unregister) and splits each chunk over four reads; the larger
    buffer cuts the client's CPU per byte received by about a sixth. Only buffer sizes change:
    auth, TLS and reconnects are untouched.
    """
    if getattr(nats_client, "DEFAULT_BUFFER_SIZE", 1 << 20) < 1 << 20:
        nats_client.DEFAULT_BUFFER_SIZE = 1 << 20


def server_info(nc: NatsClient) -> dict[str, Any]:
    """The INFO of the server `nc` is connected to now ({} if unknown; do not modify it)."""
    return getattr(nc, "_server_info", None) or {}


# ---------------------------------------------------------------------------------------------
# writing: a publish queued on nats-py's outgoing buffer without a coroutine


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

    With `direct`, the message goes straight to the socket now, behind whatever nats-py has
    waiting to be written, in one send (as nats-py writes inline when its flusher is gone),
    instead of one when its flusher next runs: for a latency-bound caller, e.g. a put alone
    whose chunk and meta (and a background purge queued meanwhile) then share one syscall.
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
    if direct and nc.is_connected:
        if pending:  # in order: what waits first, in the same write
            parts = [*pending, *parts]
            nc._pending = []
            nc._pending_data_size = 0
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
