"""The gateway's ASGI application: parse a request, authenticate it, send it to its
operation, and write S3's answer (or its XML error), with one access-log line and metrics.

`create_app(client, credentials=..., region=...)` returns the app; `natsobj s3 serve` runs it
under uvicorn, and any ASGI server can mount it. S3 picks an operation by method, by whether a
bucket and a key are named, and by query subresources (`?uploads`, `?delete`, ...): the table
is `_dispatch.route`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from .. import BucketNotFoundError, Client, ObjectStoreError
from . import _metrics, _xml
from ._body import ClientGone
from ._checksums import ChecksumError
from ._credentials import Credentials, Identity
from ._dispatch import route
from ._errors import S3Error, from_store_error, unavailable
from ._http import Request, Response
from ._sigv4 import PRESIGN_PARAMS, AuthError, verify
from ._state import State

log = logging.getLogger("natsobj.s3")
access_log = logging.getLogger("natsobj.s3.access")

METRICS_PATH = b"/_natsobj/metrics"


class Gateway:
    """The S3 gateway over one natsobj Client (an ASGI app)."""

    def __init__(
        self,
        client: Client,
        *,
        credentials: Credentials | Mapping[str, str] | Iterable[Identity] | None,
        region: str = "us-east-1",
        domain: str | None = None,
        idle_timeout: float = 60.0,
        metrics: _metrics.Metrics | None = None,
    ) -> None:
        known = Credentials.of(credentials)
        if not known.identities:
            raise ValueError("the S3 gateway needs at least one access key (credentials=...)")
        self.state = State(client, known, region=region, idle_timeout=idle_timeout)
        self.domain = domain.lower().strip(".") if domain else None
        self.metrics = metrics or _metrics.Metrics()
        self.inflight = 0

    # -----------------------------------------------------------------------------------------
    # ASGI

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = secrets.token_hex(8).upper()
        request: Request | None = None
        response: Response
        self.inflight += 1
        try:
            if (
                scope.get("raw_path", b"").split(b"?")[0] == METRICS_PATH
                and scope["method"] == "GET"
            ):
                response = self.metrics.response()
            else:
                request = self._parse(scope, receive, request_id)
                response = await self._handle(request)
        except S3Error as err:
            response = self._error(err, scope, request_id)
        finally:
            self.inflight -= 1
        response = await self._started(response, scope, request_id)
        if request is not None and request.body_unread and not await _discard_body(request):
            response.headers.append(("Connection", "close"))
        sent = await self._send(send, receive, response, request_id)
        elapsed = time.perf_counter() - started
        op = request.op if request is not None else "metrics"
        received = request.opened.received if request is not None and request.opened else 0
        self.metrics.observe(op, response.status, received, sent, elapsed)
        access_log.info(
            '%s "%s %s" %d in=%d out=%d %.1fms id=%s op=%s',
            (scope.get("client") or ("-",))[0],
            scope["method"],
            scope.get("raw_path", b"").decode("latin-1") or scope.get("path", ""),
            response.status,
            received,
            sent,
            elapsed * 1000,
            request_id,
            op,
        )

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.state.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _parse(self, scope: dict[str, Any], receive: Any, request_id: str) -> Request:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        raw_path = raw_path.split(b"?", 1)[0]
        header_list = list(scope.get("headers") or [])
        headers: dict[str, str] = {}
        for name, value in header_list:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        raw_query = scope.get("query_string") or b""
        query = dict(
            parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
        )
        _hoist_presigned(query, headers)
        bucket, key = self._address(raw_path, headers.get("host", ""))
        return Request(
            scope["method"].upper(),
            raw_path,
            raw_query,
            header_list,
            headers,
            query,
            bucket,
            key,
            receive,
            request_id,
            idle_timeout=self.state.idle_timeout,
        )

    def _address(self, raw_path: bytes, host: str) -> tuple[str, str]:
        """(bucket, key) from a path-style or virtual-host-style request."""
        try:
            path = unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            raise S3Error("InvalidURI") from None  # S3's message: Couldn't parse the specified URI.
        path = path[1:] if path.startswith("/") else path
        hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
        if self.domain and hostname.endswith("." + self.domain):
            return hostname[: -len(self.domain) - 1], path
        bucket, _, key = path.partition("/")
        return bucket, key

    async def _handle(self, request: Request) -> Response:
        request.op, handler, writes = route(request)  # raises NotImplemented / MethodNotAllowed
        try:
            self._authenticate(request, writes)
        except S3Error:
            if _anonymous(request) and request.bucket and self.state.client.is_connected:
                await self._bucket_must_exist(request.bucket)
            raise
        if not self.state.client.is_connected:
            # NATS is away: say so now rather than hold the request for the store's timeouts
            # (requests already running ride out a short outage)
            raise unavailable()
        try:
            return await handler(self.state, request)
        except S3Error:
            raise
        except ChecksumError as exc:
            raise S3Error(exc.code, exc.message, **exc.fields) from None
        except ClientGone:
            raise S3Error(
                "IncompleteBody", "the client closed the connection mid-request"
            ) from None
        except BucketNotFoundError as exc:
            await self.state.forget(request.bucket)
            raise from_store_error(exc, bucket=request.bucket) from None
        except ObjectStoreError as exc:
            raise from_store_error(exc, bucket=request.bucket, key=request.key) from None
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("request %s failed", request.request_id)
            raise S3Error("InternalError") from None

    async def _bucket_must_exist(self, bucket: str) -> None:
        """NoSuchBucket for an anonymous request to a bucket that does not exist, as S3
        answers (bucket names are public); AccessDenied stays the answer for one that does."""
        try:
            await self.state.store(bucket)
        except BucketNotFoundError:
            raise S3Error("NoSuchBucket", BucketName=bucket) from None
        except (ObjectStoreError, ValueError):
            pass  # not a name a bucket can have, or the store did not answer: AccessDenied

    def _authenticate(self, request: Request, writes: bool) -> None:
        try:
            verified = verify(
                request.method,
                request.raw_path,
                request.raw_query,
                request.header_list,
                secret_for=self.state.credentials.secret_for,
                region=self.state.region,
                now=datetime.now(timezone.utc),
            )
        except AuthError as exc:
            raise S3Error(exc.code, exc.message, **exc.fields) from None
        identity = self.state.credentials.identities[verified.access_key]
        if request.bucket and not identity.may_use(request.bucket):
            raise S3Error(
                "AccessDenied", f"key {identity.name!r} may not use bucket {request.bucket!r}"
            )
        if writes and identity.read_only:
            raise S3Error("AccessDenied", f"key {identity.name!r} is read-only")
        request.identity, request.verified = identity, verified

    def _error(self, err: S3Error, scope: dict[str, Any], request_id: str) -> Response:
        body = _xml.error_body(err, request_id=request_id)
        headers = [("Content-Type", "application/xml"), *err.headers.items()]
        if scope.get("method") == "HEAD":
            return Response(err.status, headers, b"", length=len(body))
        return Response(err.status, headers, body)

    async def _started(
        self, response: Response, scope: dict[str, Any], request_id: str
    ) -> Response:
        """A streamed response with its first piece read, so that a store failing before the
        first byte is answered with its S3 error (503 when NATS is away), not a cut-off 200."""
        body = response.body
        if isinstance(body, bytes):
            return response
        try:
            first = await anext(aiter(body), None)
        except ObjectStoreError as exc:
            await _close(body)
            log.warning("request %s: no body to send: %s", request_id, exc)
            return self._error(from_store_error(exc), scope, request_id)
        response.body = _prepend(first, body)
        return response

    async def _send(self, send: Any, receive: Any, response: Response, request_id: str) -> int:
        """Write the response; the body bytes sent. A streamed body stops when the client
        leaves (the server drops what is sent to a closed connection, so the object would
        otherwise be read from NATS to its end for nobody)."""
        sent = 0
        headers = [
            (k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in response.headers
        ]
        headers += [
            (b"x-amz-request-id", request_id.encode()),
            (b"x-amz-id-2", request_id.encode()),
        ]
        body = response.body
        if isinstance(body, bytes):
            length = response.length if response.length is not None else len(body)
            headers.append((b"content-length", str(length).encode()))
            await send(
                {"type": "http.response.start", "status": response.status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})
            return len(body)
        if response.length is not None:
            headers.append((b"content-length", str(response.length).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        gone = asyncio.ensure_future(_disconnect(receive))
        try:
            async for piece in body:
                if gone.done():
                    log.info("request %s: the client left after %d bytes", request_id, sent)
                    return sent
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                sent += len(piece)
            await send({"type": "http.response.body", "body": b""})
        except (ObjectStoreError, OSError) as exc:
            # The status line is out: all the client can be told is an incomplete body. The
            # response stays unfinished, so the server closes the connection short of its
            # Content-Length (or of the last chunk), which every client reports as an error.
            log.warning("request %s: body stopped after %d bytes: %s", request_id, sent, exc)
        finally:
            gone.cancel()
            await _close(body)
        return sent


_AUTH_PARAMS = (*PRESIGN_PARAMS, "AWSAccessKeyId")
"""Query parameters that make a request signed (SigV4 presigned, or SigV2's, refused later)."""


# query parameters of a presigned URL that are no request header (its signature, a session
# token, a payload hash the URL does not sign)
_NOT_HEADERS = frozenset(
    {p.lower() for p in PRESIGN_PARAMS} | {"x-amz-security-token", "x-amz-content-sha256"}
)


def _hoist_presigned(query: dict[str, str], headers: dict[str, str]) -> None:
    """A presigned URL may carry x-amz-* headers as (signed) query parameters, as the AWS JS
    SDK hoists x-amz-meta-* and x-amz-storage-class: S3 reads them as the headers they name."""
    if "X-Amz-Signature" not in query:
        return
    for name, value in query.items():
        lower = name.lower()
        if lower.startswith("x-amz-") and lower not in _NOT_HEADERS:
            headers.setdefault(lower, value)


def _anonymous(request: Request) -> bool:
    """Whether a request carries no credentials at all (no header, no presigned query)."""
    return "authorization" not in request.headers and not any(
        name in request.query for name in _AUTH_PARAMS
    )


DISCARD_UP_TO = 16 << 20
"""The largest unread request body read and thrown away before an early answer."""


async def _discard_body(request: Request) -> bool:
    """Read and drop the rest of a body the answer did not need (a request refused before
    its body): True if it was read to its end, so the connection may stay open.

    Closing with a body still coming makes the kernel reset the connection, and a client
    still sending then often loses the answer (seen with a 2 MiB XML body refused from its
    declared length). A body over DISCARD_UP_TO, of unknown length, held back behind
    `Expect: 100-continue`, or that stalled while being read is not read: the connection
    closes instead.
    """
    headers = request.headers
    if "100-continue" in headers.get("expect", "").lower():
        return False
    try:
        left = int(headers.get("content-length", ""))
    except ValueError:
        return False
    if left > DISCARD_UP_TO:
        return False
    if request.opened is not None and request.opened.ended:
        return True  # all of it came; it was refused as it stood
    if request.opened is not None and request.opened.started:
        return False  # it stalled or broke off while being read: do not wait for it again
    try:
        while True:
            message = await asyncio.wait_for(request.receive(), request.idle_timeout)
            if message["type"] == "http.disconnect":
                return False
            if not message.get("more_body", False):
                return True
    except asyncio.TimeoutError:
        return False


async def _disconnect(receive: Any) -> None:
    """Return once the client has gone (the request body, if any, is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _close(body: object) -> None:
    closer = getattr(body, "aclose", None)
    if closer is not None:
        await closer()


async def _prepend(first: bytes | None, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        if first is not None:
            yield first
        async for piece in rest:
            yield piece
    finally:
        await _close(rest)


def create_app(
    client: Client,
    *,
    credentials: Credentials | Mapping[str, str] | Iterable[Identity],
    region: str = "us-east-1",
    domain: str | None = None,
    idle_timeout: float = 60.0,
) -> Gateway:
    """The S3 gateway as an ASGI app over `client` (a natsobj Client).

    `credentials`: {access_key: secret} or Identity values (per-key buckets, read-only);
    `domain`: also answer virtual-host requests (`bucket.<domain>`); `idle_timeout`: seconds a
    request body may stall before the request fails.
    """
    return Gateway(
        client, credentials=credentials, region=region, domain=domain, idle_timeout=idle_timeout
    )
