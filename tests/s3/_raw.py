"""Raw HTTP to the real gateway process: requests signed with botocore's SigV4 signer and sent
over a plain socket, so a test controls every byte (a body cut short, a client that goes idle
or away, a header no SDK would send), and responses parsed by the standard library."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .conftest import KEYS

UNSIGNED = "UNSIGNED-PAYLOAD"


def _credentials(key: int) -> Credentials:
    return Credentials(*KEYS[key])


def _at(when: datetime | None) -> contextlib.AbstractContextManager[object]:
    """botocore's clock, set to `when` (naive UTC) while a request is signed."""
    if when is None:
        return contextlib.nullcontext()
    return mock.patch("botocore.auth.get_current_datetime", return_value=when)


def sign(
    endpoint: str,
    method: str,
    target: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    payload: str | None = None,
    key: int = 0,
    when: datetime | None = None,
) -> dict[str, str]:
    """The headers of `method target` signed with SigV4 (target = path?query, already
    URL-encoded); `payload` is the x-amz-content-sha256 (default: the body's SHA-256)."""
    wanted = dict(headers or {})
    wanted["x-amz-content-sha256"] = payload or hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=endpoint + target, data=body, headers=wanted)
    with _at(when):
        S3SigV4Auth(_credentials(key), "s3", "us-east-1").add_auth(request)
    out = {k: v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}
    out["Host"] = urlsplit(endpoint).netloc
    return out


def presign(endpoint: str, method: str, target: str, expires: int, *, key: int = 0) -> str:
    """A presigned URL's path and query (botocore refuses no expiry, so any can be tested)."""
    request = AWSRequest(method=method, url=endpoint + target)
    S3SigV4QueryAuth(_credentials(key), "s3", "us-east-1", expires=expires).add_auth(request)
    parts = urlsplit(request.url)
    return parts.path + "?" + parts.query


def connect(endpoint: str, timeout: float = 10.0) -> socket.socket:
    parts = urlsplit(endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head_bytes(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> tuple[str, str]:
        """(Code, Message) of an S3 error body; fails if the body is not one."""
        root = ET.fromstring(self.body)
        assert root.tag == "Error", self.body[:300]
        code, message = root.findtext("Code"), root.findtext("Message")
        assert code and message is not None, self.body[:300]
        return code, message


def read_answer(sock: socket.socket, method: str = "GET") -> Answer:
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    body = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    return Answer(response.status, headers, body)


def request(
    endpoint: str,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    *,
    timeout: float = 10.0,
) -> Answer:
    """One request on its own connection, its whole answer."""
    with connect(endpoint, timeout) as sock:
        sock.sendall(head_bytes(method, target, headers) + body)
        return read_answer(sock, method)


def signed_request(
    endpoint: str, method: str, target: str, headers: Mapping[str, str] | None = None,
    body: bytes = b"", **kwargs: object,
) -> Answer:  # fmt: skip
    """`request`, signed, with a Content-Length for the body."""
    wanted = {**(headers or {}), "Content-Length": str(len(body))}
    signed = sign(endpoint, method, target, wanted, body, **kwargs)  # type: ignore[arg-type]
    return request(endpoint, method, target, signed, body)
