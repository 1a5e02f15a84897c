"""What a PutObject or UploadPart hands the store: a small body read whole, a big one as the
stream it is.

The store sends bytes of at most one chunk as one message, with no task or queue of its own;
a stream goes through its chunking pipeline even when it holds 1 KiB. Reading a small body
first changes nothing else: the same pieces are read, hashed and checked, in the same order,
and any error the body raises is raised the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ._body import Body

SMALL_BODY = 64 * 1024
"""Bodies declared this long or shorter are read whole (less than a store chunk)."""


async def payload_of(body: Body) -> bytes | AsyncIterator[bytes]:
    """The body's bytes if it declared at most SMALL_BODY of them, else the body itself."""
    if body.declared is None or body.declared > SMALL_BODY:
        return body
    pieces = aiter(body)
    parts: list[bytes] = []
    size = 0
    async for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size > SMALL_BODY:  # more than declared: the body raises when it ends, as always
            return _chain(parts, pieces)
    return b"".join(parts)


async def _chain(first: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for piece in first:
        yield piece
    async for piece in rest:
        yield piece
