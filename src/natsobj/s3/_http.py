"""A parsed S3 request and the response a handler returns (no I/O here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from . import _xml
from ._body import Body
from ._credentials import Identity
from ._sigv4 import Verified


@dataclass
class Request:
    """One S3 request, parsed."""

    method: str
    raw_path: bytes
    raw_query: bytes
    header_list: list[tuple[bytes, bytes]]
    headers: dict[str, str]
    query: dict[str, str]
    bucket: str
    key: str
    receive: Any
    request_id: str
    identity: Identity | None = None
    verified: Verified | None = None
    opened: Body | None = None
    op: str = "unknown"
    """The S3 operation, once routed."""
    idle_timeout: float = 60.0
    """Seconds the request body may stall before the request fails."""

    @property
    def body_unread(self) -> bool:
        """The request came with a body that was not read to its end (then the connection
        must close: the client may still send it, or may never, after Expect: 100-continue)."""
        has_body = self.headers.get("content-length", "0") not in ("", "0") or (
            "chunked" in self.headers.get("transfer-encoding", "")
        )
        return has_body and (self.opened is None or not self.opened.finished)

    def body(self, algorithms: tuple[str, ...] = ()) -> Body:
        self.opened = Body(
            self.receive,
            self.headers,
            self.verified,
            algorithms=algorithms,
            idle_timeout=self.idle_timeout,
        )
        return self.opened


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | AsyncIterator[bytes] = b""
    length: int | None = None
    """Content-Length of a streamed body."""


def xml_response(root: str, body: str, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/xml")], _xml.document(root, body))
