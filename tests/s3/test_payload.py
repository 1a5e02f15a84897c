"""What a put hands the store: a small body read whole, a big one (or one longer than it
declared) as a stream that reads and checks the same bytes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from natsobj.s3._body import Body
from natsobj.s3._errors import S3Error
from natsobj.s3._payload import SMALL_BODY, payload_of


def receiving(*pieces: bytes) -> Callable[[], Awaitable[dict[str, Any]]]:
    """An ASGI receive() that sends `pieces` as one request body."""
    left = list(pieces)

    async def receive() -> dict[str, Any]:
        body = left.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(left)}

    return receive


def body_of(*pieces: bytes, declared: int) -> Body:
    return Body(receiving(*pieces), {"content-length": str(declared)}, None)


async def test_a_small_body_is_read_whole_and_hashed() -> None:
    body = body_of(b"ab", b"c", declared=3)
    assert await payload_of(body) == b"abc"
    assert body.finished and body.md5_hex == "900150983cd24fb0d6963f7d28e17f72"
    assert await payload_of(body_of(b"", declared=0)) == b""


async def test_a_big_body_stays_a_stream() -> None:
    piece = b"x" * SMALL_BODY
    body = body_of(piece, b"y", declared=SMALL_BODY + 1)
    assert await payload_of(body) is body


async def test_a_body_longer_than_declared_still_fails_as_before() -> None:
    stream = await payload_of(body_of(b"x" * SMALL_BODY, b"yz", declared=10))
    assert not isinstance(stream, bytes)
    got = []
    with pytest.raises(S3Error) as caught:
        async for piece in stream:
            got.append(piece)
    assert caught.value.code == "IncompleteBody" and b"".join(got) == b"x" * SMALL_BODY + b"yz"
