"""uvicorn's httptools HTTP/1.1 protocol, with S3's answer to bytes it cannot parse and a
larger request-body buffer.

uvicorn answers unparsable bytes with a plain-text 400 and closes the connection at once, even
when they follow a complete request still being served (a body longer than its
Content-Length: the surplus is parsed as the next request), so that request's own answer was
lost. Here the request in flight is answered first; then the unparsable bytes get S3's XML
error and the connection closes.

uvicorn stops reading a request body once 64 KiB of it wait for the app, so a big upload came
in 256 KiB pieces (one socket read each), each with a pause and a resume of the socket
(two epoll calls) and a trip through the app's receive(). Here reading pauses past
BODY_BUFFER bytes instead: the same backpressure, in pieces of about a MiB.
"""

from __future__ import annotations

import secrets

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from . import _xml
from ._errors import S3Error

UNPARSABLE = "the request is not valid HTTP/1.1 (bytes past a body's Content-Length?)"
BODY_BUFFER = 1 << 20
"""Request-body bytes read ahead of the app before reading pauses (uvicorn's: 64 KiB)."""


class S3HttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose 400 for unparsable bytes is an S3 error, sent after the answer to
    a complete request still in flight, and which reads up to BODY_BUFFER of a request body
    ahead of the app."""

    _refusal_pending = False

    def on_body(self, body: bytes) -> None:
        """uvicorn's on_body, pausing past BODY_BUFFER bytes instead of 64 KiB."""
        cycle = self.cycle
        if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
            return
        cycle.body += body
        if len(cycle.body) > BODY_BUFFER:
            self.flow.pause_reading()
        cycle.message_event.set()

    def send_400_response(self, msg: str) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            # the bad bytes follow a whole request still being served: answer it first
            self._refusal_pending = True
            self.flow.pause_reading()
            return
        self._refuse()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refusal_pending and not self.transport.is_closing():
            self._refuse()

    def _refuse(self) -> None:
        self._refusal_pending = False
        request_id = secrets.token_hex(8).upper()
        body = _xml.error_body(S3Error("InvalidRequest", UNPARSABLE), request_id=request_id)
        head = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/xml\r\n",
            b"content-length: %d\r\n" % len(body),
            b"x-amz-request-id: " + request_id.encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
