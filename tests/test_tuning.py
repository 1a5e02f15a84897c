"""natsobj's faster header parser must give exactly what nats-py's own parser gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client as NatsClient

from natsobj._natspy.protocol import parse_header_lines as _parse_header_lines

SAMPLES = [
    b"Nats-Stream: OBJ_b\r\nNats-Subject: $O.b.M.YQ==\r\nNats-Sequence: 5\r\n"
    b"Nats-Time-Stamp: 2026-11-22T11:09:37.143764046Z\r\nNats-Num-Pending: 0\r\n\r\n",
    b"Name:Value\r\nName2:\tspaced \r\n",
    b"bad name: x\r\nok: y\r\n",
    b"\xff\xfe: binary name\r\nv: \xc3\xa9\xff\r\n",
    b"no colon here\r\n:empty name\r\n",
    b"Tab\tinside: x\r\nFs\x1cinside: y\r\n",
]


def test_same_result_as_nats_py_on_samples() -> None:
    for raw in SAMPLES:
        assert _parse_header_lines(raw) == NatsClient._parse_header_lines(raw), raw


@given(st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=20)), max_size=6))
def test_same_result_as_nats_py_on_any_header_block(pairs: list[tuple[bytes, bytes]]) -> None:
    raw = b"".join(
        k.replace(b"\r\n", b"") + b":" + v.replace(b"\r\n", b"") + b"\r\n" for k, v in pairs
    )
    assert _parse_header_lines(raw) == NatsClient._parse_header_lines(raw)
