"""A request body as an async stream of payload bytes: aws-chunked bodies decoded (and their
chunk signatures verified), the declared length held to, idle clients timed out, and the
digests S3 asks for (MD5 for the ETag and Content-MD5, an x-amz-checksum-*) computed on the way.

Big bodies are hashed on a thread of their own, in order, so the event loop goes on moving
bytes to NATS meanwhile (MD5 runs at ~600-700 MiB/s on one core, and hashlib lets go of the GIL
while it hashes); small ones inline. The thread is handed blocks of about HASH_BLOCK bytes (the
pieces as they came, not joined), so the event loop pays for a hand-over (a future, a wake-up
of the thread and one of the loop) once a MiB rather than once a piece.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from . import _checksums
from ._chunked import ChunkedDecoder
from ._errors import S3Error
from ._sigv4 import AuthError, Verified

Receive = Callable[[], Awaitable[dict[str, Any]]]

OFFLOAD_FROM = 256 * 1024
"""Bodies hashed on a thread once this many bytes have come."""
HASH_BLOCK = 1 << 20
"""Bytes handed to the hashing thread at a time."""
MAX_PENDING = 2
"""Blocks queued for the hashing thread before the stream waits (keeps memory flat)."""


class ClientGone(Exception):
    """The client went away before the request body ended."""


class Body:
    """The payload of one request; iterate it once, then read `md5`, `checksums`, `trailers`."""

    def __init__(
        self,
        receive: Receive,
        headers: Mapping[str, str],
        verified: Verified | None,
        *,
        idle_timeout: float = 60.0,
        algorithms: tuple[str, ...] = (),
    ) -> None:
        self._receive = receive
        self._idle = idle_timeout
        self.declared = _declared_length(headers, verified)
        self._decoder: ChunkedDecoder | None = None
        if verified is not None and verified.chunked:
            trailer = headers.get("x-amz-trailer")
            self._decoder = ChunkedDecoder(
                verified,
                self.declared,
                declared_trailers=[t for t in trailer.split(",")] if trailer else None,
            )
        self._hashers: dict[str, Any] = {"MD5": hashlib.md5()}
        for name in algorithms:
            self._hashers[name] = _checksums.new(name)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: list[asyncio.Future[None]] = []
        self._block: list[bytes] = []
        self._block_bytes = 0
        self.received = 0
        self.trailers: dict[str, str] = {}
        self.finished = False
        self.started = False
        """Reading the body has begun."""
        self.ended = False
        """The last message of the body has been received (whether or not it was good)."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        try:
            async for raw in self._raw():
                pieces = self._decoder.feed(raw) if self._decoder is not None else [raw]
                for piece in pieces:
                    if piece:
                        await self._hash(piece)
                        self.received += len(piece)
                        yield piece
            if self._decoder is not None:
                self.trailers = self._decoder.finish()
            await self._drain()
        except AuthError as exc:
            raise S3Error(exc.code, exc.message, **exc.fields) from None
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
        if self.declared is not None and self.received != self.declared:
            raise S3Error(
                "IncompleteBody",
                f"the body has {self.received} bytes, the request declared {self.declared}",
            )
        self.finished = True

    async def _raw(self) -> AsyncIterator[bytes]:
        self.started = True
        while True:
            try:
                message = await asyncio.wait_for(self._receive(), self._idle)
            except asyncio.TimeoutError:
                raise S3Error("RequestTimeout", f"no request body for {self._idle:.0f} s") from None
            if message["type"] == "http.disconnect":
                raise ClientGone("the client closed the connection during the request body")
            data = message.get("body", b"")
            if not message.get("more_body", False):
                self.ended = True
            if data:
                yield data
            if self.ended:
                return

    async def _hash(self, piece: bytes) -> None:
        if self._pool is None and self.received + len(piece) < OFFLOAD_FROM:
            self._update_all([piece])
            return
        self._block.append(piece)
        self._block_bytes += len(piece)
        if self._block_bytes >= HASH_BLOCK:
            await self._hand_over()

    async def _hand_over(self) -> None:
        """Queue the block gathered so far for the hashing thread (in order); wait while
        MAX_PENDING blocks are queued before it."""
        if not self._block:
            return
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, "natsobj-s3-hash")
        block, self._block, self._block_bytes = self._block, [], 0
        loop = asyncio.get_running_loop()
        self._pending.append(loop.run_in_executor(self._pool, self._update_all, block))
        if len(self._pending) > MAX_PENDING:
            await self._pending.pop(0)

    def _update_all(self, pieces: list[bytes]) -> None:
        for hasher in self._hashers.values():
            for piece in pieces:
                hasher.update(piece)

    async def _drain(self) -> None:
        await self._hand_over()
        for future in self._pending:
            await future
        self._pending.clear()

    async def read_all(self, limit: int) -> bytes:
        """The whole (small) body; one above `limit` bytes is refused as S3 refuses it."""
        if self.declared is not None and self.declared > limit:
            raise S3Error("MaxMessageLengthExceeded", f"the request body is over {limit} bytes")
        parts = []
        async for piece in self:
            parts.append(piece)
            if self.received > limit:
                raise S3Error("MaxMessageLengthExceeded", f"the request body is over {limit} bytes")
        return b"".join(parts)

    @property
    def md5_hex(self) -> str:
        return self._hashers["MD5"].hexdigest()

    @property
    def md5_digest(self) -> bytes:
        return self._hashers["MD5"].digest()  # type: ignore[no-any-return]

    def checksum_b64(self, algorithm: str) -> str:
        return self._hashers[algorithm].b64()


def _declared_length(headers: Mapping[str, str], verified: Verified | None) -> int | None:
    text = headers.get("x-amz-decoded-content-length")
    if text is None and not (verified is not None and verified.chunked):
        text = headers.get("content-length")
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise S3Error("InvalidArgument", f"the declared length {text!r} is not a number") from None
    if value < 0:
        raise S3Error("InvalidArgument", "the declared length must not be negative")
    return value


def hashed(source: AsyncIterator[bytes], *also: Any) -> tuple[AsyncIterator[bytes], Any]:
    """`source` passed through, and the MD5 of what went by (read it at the end); the hashers
    `also` are fed too."""
    md5 = hashlib.md5()
    hashers = (md5, *also)

    def update(piece: bytes) -> None:
        for hasher in hashers:
            hasher.update(piece)

    async def through() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        async for piece in source:
            if len(piece) >= OFFLOAD_FROM // 4:
                await loop.run_in_executor(None, update, piece)
            else:
                update(piece)
            yield piece

    return through(), md5
