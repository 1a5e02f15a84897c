"""The nats-py boundary: the fast protocol reader must see the wire exactly as nats-py's own
parser does, and the fast publish must queue what nats-py would."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Coroutine
from itertools import pairwise
from typing import Any

import nats
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.aio.client import Client as NatsClient
from nats.errors import ProtocolError
from nats.protocol.parser import Parser

from natsobj._natspy import privates
from natsobj._natspy.privates import install
from natsobj._natspy.protocol import (
    FastParser,
    RawMsg,
    ack_seq,
    encode_headers,
    header_block,
    header_status,
    parse_headers,
)
from natsobj.server import EmbeddedServer

Call = tuple[Any, ...]


def parser_for(nc: Any) -> FastParser:
    """A FastParser whose hooks go to `nc`'s nats-py methods (or a fake's)."""
    return FastParser(privates._Hooks(nc))


def subscribe(nc: NatsClient, subject: str, handler: Any) -> Any:
    return privates.subscribe(nc, subject, handler, fast=True)


class FakeNC:
    """The connection methods a parser calls, recording each call normalized to bytes."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.stats = {"in_msgs": 0, "in_bytes": 0}

    async def _process_msg(self, sid: int, subject: Any, reply: Any, data: Any, hdr: Any) -> None:
        header = None if hdr is None else bytes(hdr)
        self.calls.append(("msg", sid, bytes(subject), bytes(reply), bytes(data), header))

    async def _process_ping(self) -> None:
        self.calls.append(("ping",))

    async def _process_pong(self) -> None:
        self.calls.append(("pong",))

    async def _process_info(self, info: dict[str, Any]) -> None:
        self.calls.append(("info", info))

    async def _process_err(self, text: str) -> None:
        self.calls.append(("err", text))


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never suspends (the parsers only await the fake connection)."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the parser suspended")


def feed(parser: Parser | FastParser, chunks: list[bytes]) -> None:
    for chunk in chunks:
        run(parser.parse(chunk))


async def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not cond():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


# --- generated protocol streams ----------------------------------------------------------------

TOKEN = st.text("abcxyz0123456789_-", min_size=1, max_size=8)
SUBJECT = st.lists(TOKEN, min_size=1, max_size=3).map(".".join)
FIRST_LINES = [
    b"NATS/1.0",
    b"NATS/1.0 100 Idle Heartbeat",
    b"NATS/1.0 404 No Messages",
    b"NATS/1.0 408 Request Timeout",
    b"NATS/1.0 503",
]
HEADER_NAME = st.text("ABCXYZabcxyz-_0123", min_size=1, max_size=10)
HEADER_VALUE = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=16)
SEED = st.sampled_from([b"\r\n", b"MSG a 1 2\r\n", b"HMSG x", b"PING\r\n"]) | st.binary(
    min_size=1, max_size=8
)
SIZE = st.sampled_from([0, 1, 2]) | st.integers(0, 300) | st.integers(65_537, 70_000)
INFO = st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=8) | st.booleans())
ERR_TEXT = st.text("abcXYZ :.'", min_size=1, max_size=24)


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    first = draw(st.sampled_from(FIRST_LINES))
    pairs = draw(st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=4))
    return b"\r\n".join([first, *(f"{k}: {v}".encode() for k, v in pairs)]) + b"\r\n\r\n"


@st.composite
def ops(draw: st.DrawFn) -> bytes:
    """One protocol operation, control line first."""
    kind = draw(st.sampled_from(["MSG", "HMSG", "PING", "PONG", "+OK", "INFO", "-ERR"]))
    if kind in ("MSG", "HMSG"):
        seed, size = draw(SEED), draw(SIZE)
        payload = (seed * (size // len(seed) + 1))[:size]
        reply = draw(st.none() | SUBJECT)
        head = f"{draw(SUBJECT)} {draw(st.integers(1, 4))}" + (f" _INBOX.{reply}" if reply else "")
        if kind == "MSG":
            return f"MSG {head} {size}\r\n".encode() + payload + b"\r\n"
        hdr = draw(header_blocks())
        line = f"HMSG {head} {len(hdr)} {len(hdr) + size}\r\n"
        return line.encode() + hdr + payload + b"\r\n"
    if kind == "INFO":
        return b"INFO " + json.dumps(draw(INFO)).encode() + b"\r\n"
    if kind == "-ERR":
        return b"-ERR '" + draw(ERR_TEXT).encode() + b"'\r\n"
    return kind.encode() + b"\r\n"


def split(data: st.DataObject, parts: list[bytes]) -> list[bytes]:
    """The stream cut anywhere, and often right at (or inside) the CRLFs that end ops."""
    stream, edges, offset = b"".join(parts), [], 0
    for op in parts:
        edges += [offset + op.index(b"\r\n"), offset + len(op) - 2]
        offset += len(op)
    near = st.sampled_from(edges).flatmap(lambda i: st.sampled_from([i - 1, i, i + 1, i + 2]))
    cuts = data.draw(st.lists(st.integers(0, len(stream)) | near, max_size=10))
    bounds = sorted({0, len(stream), *(min(max(c, 0), len(stream)) for c in cuts)})
    return [stream[a:b] for a, b in pairwise(bounds)]


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(st.lists(ops(), min_size=1, max_size=8), st.data())
def test_fast_parser_matches_nats_py(parts: list[bytes], data: st.DataObject) -> None:
    theirs, ours = FakeNC(), FakeNC()
    feed(Parser(theirs), [b"".join(parts)])
    feed(parser_for(ours), split(data, parts))  # type: ignore[arg-type]
    assert ours.calls == theirs.calls


@PROPERTY
@given(st.lists(ops(), min_size=1, max_size=8), st.sets(st.integers(1, 4)), st.data())
def test_registered_sids_go_to_their_handler(
    parts: list[bytes], fast_sids: set[int], data: st.DataObject
) -> None:
    theirs, ours = FakeNC(), FakeNC()
    feed(Parser(theirs), [b"".join(parts)])
    parser = parser_for(ours)  # type: ignore[arg-type]

    def handler_for(sid: int) -> Callable[[RawMsg], None]:
        def handler(m: RawMsg) -> None:
            assert isinstance(m.data, bytes)
            assert m.raw_headers is None or isinstance(m.raw_headers, bytes)
            ours.calls.append(("raw", sid, m.subject, m.reply, m.data, m.raw_headers))

        return handler

    parser.handlers = {sid: handler_for(sid) for sid in fast_sids}
    feed(parser, split(data, parts))

    expected = [
        ("raw", c[1], c[2].decode(), c[3].decode(), c[4], c[5])
        if c[0] == "msg" and c[1] in fast_sids
        else c
        for c in theirs.calls
    ]
    assert ours.calls == expected
    fast = [c for c in expected if c[0] == "raw"]
    assert ours.stats == {"in_msgs": len(fast), "in_bytes": sum(len(c[4]) for c in fast)}


def test_crlf_split_between_reads() -> None:
    """A read can end between the \\r and the \\n of a control line."""
    nc = FakeNC()
    feed(parser_for(nc), [b"PING\r", b"\nMSG a 1 2\r", b"\nhi\r\nPONG\r\n"])  # type: ignore[arg-type]
    assert nc.calls == [("ping",), ("msg", 1, b"a", b"", b"hi", None), ("pong",)]


@pytest.mark.parametrize(
    "bad", [b"MSG foo\r\n", b"MSG a 1 x\r\n", b"HMSG a 1 5\r\n", b"FOO bar\r\n"]
)
def test_malformed_input_is_a_protocol_error(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        feed(parser_for(FakeNC()), [bad])  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk", [5000, 1000])
def test_overlong_control_line_is_a_protocol_error(chunk: int) -> None:
    line = b"MSG " + b"a" * 5000
    with pytest.raises(ProtocolError):
        feed(parser_for(FakeNC()), [line[i : i + chunk] for i in range(0, len(line), chunk)])  # type: ignore[arg-type]


class ListHandler(logging.Handler):
    """Keeps the records it gets (caplog misses them if the CLI tests turned propagation off)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_failing_handler_does_not_stop_parsing() -> None:
    nc = FakeNC()
    parser = parser_for(nc)  # type: ignore[arg-type]
    seen: list[bytes] = []

    def handler(m: RawMsg) -> None:
        seen.append(m.data)
        raise RuntimeError("boom")

    parser.handlers[1] = handler
    logger, records = logging.getLogger("natsobj"), ListHandler()
    logger.addHandler(records)
    try:
        feed(parser, [b"MSG a 1 1\r\nx\r\nPING\r\nMSG a 1 1\r\ny\r\nMSG b 2 1\r\nz\r\n"])
    finally:
        logger.removeHandler(records)
    assert seen == [b"x", b"y"]
    assert nc.calls == [("ping",), ("msg", 2, b"b", b"", b"z", None)]
    failures = [r.exc_info[1] for r in records.records if r.exc_info]
    assert len(failures) == 2 and all(isinstance(e, RuntimeError) for e in failures)


# --- headers -----------------------------------------------------------------------------------

HEADER_CASES = [
    b"NATS/1.0 503\r\n\r\n",
    b"NATS/1.0 404 No Messages\r\n\r\n",
    b"NATS/1.0 408 Request Timeout\r\n\r\n",
    b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 7\r\nNats-Last-Stream: 9\r\n\r\n",
    b"NATS/1.0 100 FlowControl Request\r\n\r\n",
    b"NATS/1.0 409 Consumer Deleted: gone\r\nA: b\r\n\r\n",
    b"NATS/1.0 abc not a code\r\n\r\n",
    b"NATS/1.0\r\nNats-Msg-Id: abc\r\nX: 1\r\n\r\n",
    b"NATS/1.0\r\nUrl: http://h:80/x\r\nTime: 12:30:01\r\n\r\n",
    b"NATS/1.0\r\nbad name: x\r\nGood: y\r\nTab\tname: z\r\n\r\n",
    b"NATS/1.0\r\nName:Value\r\nTab:\tv \r\nDup: 1\r\nDup: 2\r\n\r\n",
    b"NATS/1.0\r\nUtf: \xc3\xa9\xff\r\n\xff: bad\r\nno colon\r\n\r\n",
    b"NATS/1.0\r\n\r\n",
]


@pytest.mark.parametrize("raw", HEADER_CASES)
async def test_parse_headers_matches_nats_py(raw: bytes) -> None:
    assert parse_headers(raw) == await NatsClient()._process_headers(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # nats-py reads the next header line as the description: {"Description": "\nA: b", ...}
        (b"NATS/1.0 503\r\nA: b\r\n\r\n", {"Status": "503", "A": "b"}),
        # nats-py keeps the trailing space of the description
        (b"NATS/1.0 404 No Messages \r\n\r\n", {"Status": "404", "Description": "No Messages"}),
        # nats-py cuts a 3-digit status out of "4040"; a status code has exactly 3 digits
        (b"NATS/1.0 4040 x\r\n\r\n", {"Description": "x"}),
    ],
)
def test_parse_headers_where_nats_py_misreads(raw: bytes, expected: dict[str, str]) -> None:
    """Where nats-py's own parser garbles a block, ours reads what the server meant."""
    assert parse_headers(raw) == expected


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\n\r\n", b"100"),
        (b"NATS/1.0 404 No Messages\r\n\r\n", b"404"),
        (b"NATS/1.0 503\r\n\r\n", b"503"),
        (b"NATS/1.0\r\nA: 100\r\n\r\n", None),
        (b"NATS/1.0 abc\r\n\r\n", None),
        (b"NATS/1.0 4040 x\r\n\r\n", None),
        (b"", None),
        (None, None),
    ],
)
def test_header_status(raw: bytes | None, status: bytes | None) -> None:
    assert header_status(raw) == status


@settings(max_examples=200)
@given(header_blocks())
def test_encode_headers_round_trips(raw: bytes) -> None:
    parsed = parse_headers(raw)
    assert parse_headers(encode_headers(parsed)) == parsed


# --- against a real server ---------------------------------------------------------------------


async def test_fast_subscription_on_a_real_server(server: EmbeddedServer) -> None:
    nc = await nats.connect(server.url)
    try:
        assert install(nc) and install(nc) and isinstance(nc._ps, FastParser)
        got: list[RawMsg] = []
        sub = await subscribe(nc, "fp.x", got.append)
        assert sub._id in nc._ps.handlers
        plain: list[Any] = []

        async def keep(msg: Any) -> None:
            plain.append(msg)

        async def echo(msg: Any) -> None:
            await msg.respond(b"echo:" + msg.data)

        await nc.subscribe("fp.plain", cb=keep)
        await nc.subscribe("fp.echo", cb=echo)
        big = os.urandom(1 << 20)
        await nc.publish("fp.x", b"one")
        await nc.publish("fp.x", b"two", reply="fp.back", headers={"A": "1", "B": "x: y"})
        await nc.publish("fp.x", big)
        await nc.publish("fp.x", b"", headers={"Only": "header"})
        await nc.publish("fp.plain", b"p1", headers={"K": "v"})
        await nc.flush()
        await wait_until(lambda: len(got) == 4 and len(plain) == 1)

        assert [m.data for m in got] == [b"one", b"two", big, b""]
        assert all(m.subject == "fp.x" for m in got)
        assert [m.reply for m in got] == ["", "fp.back", "", ""]
        assert got[0].raw_headers is None and got[0].headers is None
        assert got[1].headers == {"A": "1", "B": "x: y"} and got[3].header("Only") == "header"
        assert plain[0].data == b"p1" and plain[0].headers == {"K": "v"}
        assert (await nc.request("fp.echo", b"hi", timeout=2)).data == b"echo:hi"

        await sub.unsubscribe()
        assert sub._id not in nc._ps.handlers
        await nc.publish("fp.x", b"late")
        await nc.publish("fp.plain", b"p2")  # arrives after "late" would have
        await wait_until(lambda: len(plain) == 2)
        assert len(got) == 4
    finally:
        await nc.close()


async def test_fast_subscription_survives_a_server_restart() -> None:
    async def quiet(_err: Exception) -> None:
        pass

    async with EmbeddedServer() as srv:
        reconnected = asyncio.Event()

        async def on_reconnect() -> None:
            reconnected.set()

        nc = await nats.connect(
            srv.url,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.1,
            reconnected_cb=on_reconnect,
            error_cb=quiet,
        )
        try:
            got: list[RawMsg] = []
            await subscribe(nc, "fp.r", got.append)
            await nc.publish("fp.r", b"before")
            await nc.flush()
            await wait_until(lambda: len(got) == 1)

            await srv.restart()
            await asyncio.wait_for(reconnected.wait(), 15)
            await nc.publish("fp.r", b"after", headers={"H": "1"})
            await nc.flush(timeout=5)
            await wait_until(lambda: len(got) == 2)
            assert isinstance(nc._ps, FastParser)
            assert [m.data for m in got] == [b"before", b"after"] and got[1].header("H") == "1"
        finally:
            await nc.close()


async def test_subscription_without_the_fast_parser_goes_through_nats_py(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No swap mid-message; where the parser cannot be swapped, handlers still get RawMsgs."""
    nc = await nats.connect(server.url)
    try:
        nc._ps.state = 2  # nats-py's AWAITING_MSG_PAYLOAD: swapping now would lose bytes
        assert not install(nc) and not isinstance(nc._ps, FastParser)
        nc._ps.state = 1
        monkeypatch.setattr(privates, "install", lambda _nc: None)
        got: list[RawMsg] = []
        sub = await subscribe(nc, "fp.bridge", got.append)
        assert not isinstance(nc._ps, FastParser)
        await nc.publish("fp.bridge", b"one", headers={"A": "1"})
        await nc.publish("fp.bridge", b"two", reply="fp.r")
        await nc.flush()
        await wait_until(lambda: len(got) == 2)
        assert [m.data for m in got] == [b"one", b"two"]
        assert got[0].headers == {"A": "1"} and got[1].headers is None
        assert [m.subject for m in got] == ["fp.bridge"] * 2 and got[1].reply == "fp.r"
        await sub.unsubscribe()
    finally:
        await nc.close()


# ---------------------------------------------------------------------------------------------
# writing


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "reply, headers",
    [
        ("_INBOX.x.1", {"Nats-Msg-Id": "abc.0"}),
        ("_INBOX.x.2", {"Nats-Rollup": "sub", "Nats-Expected-Last-Subject-Sequence": "0"}),
        ("_INBOX.x.3", None),
        ("", None),
    ],
)
async def test_publish_now_queues_what_nats_py_would(
    server: EmbeddedServer, reply: str, headers: dict[str, str] | None
) -> None:
    nc = await nats.connect(server.url)
    try:
        payload = os.urandom(300)
        assert privates.has_hooks(nc)
        await nc.flush()
        await nc.publish("a.b", payload, reply=reply, headers=headers)
        theirs = b"".join(nc._pending)  # the flusher has not run yet
        await nc.flush()
        block = header_block(headers) if headers else None
        over = privates.publish_now(nc, "a.b", payload, reply, block)
        ours = b"".join(nc._pending)
        assert not over
        # nats-py writes "PUB a.b  300" with an empty reply; the server reads both the same
        assert ours.replace(b"  ", b" ") == theirs.replace(b"  ", b" ")
        assert nc._pending_data_size == len(ours)
    finally:
        await nc.close()


@pytest.mark.asyncio
async def test_publish_now_is_delivered_and_refuses_like_nats_py(server: EmbeddedServer) -> None:
    nc = await nats.connect(server.url)
    got: list[Any] = []

    async def keep(msg: Any) -> None:
        got.append(msg)

    sub = await nc.subscribe("pn.>", cb=keep)
    try:
        block = header_block({"K": "v ü"})
        privates.publish_now(nc, "pn.1", b"hello", "", block)
        privates.publish_now(nc, "pn.2", b"", "")
        await nc.flush()
        for _ in range(50):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        assert [(m.subject, m.data) for m in got] == [("pn.1", b"hello"), ("pn.2", b"")]
        assert got[0].headers == {"K": "v ü"}
        with pytest.raises(nats.errors.MaxPayloadError):
            privates.publish_now(nc, "pn.3", b"x" * (nc.max_payload + 1), "")
    finally:
        await sub.unsubscribe()
        await nc.close()
    with pytest.raises(nats.errors.ConnectionClosedError):
        privates.publish_now(nc, "pn.4", b"x", "")


@pytest.mark.parametrize(
    "data",
    [
        b'{"stream":"OBJ_b","seq":12}',
        b'{"stream":"OBJ_b","seq":7,"duplicate":true}',
        b'{"stream":"OBJ_b","domain":"hub","seq":99}',
        b'{"stream":"OBJ_b","seq":0}',
        b'{"error":{"code":503,"err_code":10077,"description":"x"},"stream":"OBJ_b","seq":0}',
        b'{"stream":"OBJ_b","seq":3,"error":{"code":400}}',
        b'{"stream":"OBJ_b"}',
        b"not json",
        b"",
    ],
)
def test_ack_seq_agrees_with_json(data: bytes) -> None:
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    expected = doc["seq"] if isinstance(doc, dict) and "error" not in doc and "seq" in doc else None
    assert ack_seq(data) == expected


@pytest.mark.asyncio
async def test_direct_publish_never_overtakes_what_nats_py_queued(server: EmbeddedServer) -> None:
    nc = await nats.connect(server.url)
    got: list[bytes] = []

    async def keep(msg: Any) -> None:
        got.append(msg.data)

    await nc.subscribe("dp.>", cb=keep)
    try:
        await nc.flush()
        assert not nc._pending
        privates.publish_now(nc, "dp.a", b"1", "", direct=True)
        assert not nc._pending and nc._pending_data_size == 0  # written at once
        await nc.publish("dp.a", b"2")  # queued for nats-py's flusher
        assert nc._pending
        privates.publish_now(nc, "dp.a", b"3", "", direct=True)
        assert not nc._pending and nc._pending_data_size == 0  # "2" and "3", one write
        await nc.flush()
        for _ in range(50):
            if len(got) == 3:
                break
            await asyncio.sleep(0.02)
        assert got == [b"1", b"2", b"3"]
    finally:
        await nc.close()
