"""Raw HTTP to the real gateway process: requests signed with botocore's SigV4 signer and sent
over a plain socket, so a test controls every byte (a body cut short, a client that goes idle
or away, a header no SDK would send), and responses parsed by the standard library."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .conftest import KEYS

UNSIGNED = "UNSIGNED-PAYLOAD"


def _credentials(key: int) -> Credentials:
    return Credentials(*KEYS[key])


class _Signer(S3SigV4Auth):
    """botocore's S3 signer, with the x-amz-content-sha256 it is told (botocore picks its own
    from the body and the scheme)."""

    def __init__(self, payload: str, key: int = 0) -> None:
        super().__init__(_credentials(key), "s3", "us-east-1")
        self._payload = payload

    def payload(self, request: AWSRequest) -> str:
        return self._payload


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
    request = AWSRequest(method=method, url=endpoint + target, data=body, headers=headers)
    with _at(when):
        _Signer(payload or hashlib.sha256(body).hexdigest(), key).add_auth(request)
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


def read_answer(source: socket.socket | BinaryIO, method: str = "GET") -> Answer:
    """The next response on a connection. Pass the same `sock.makefile("rb")` to read several
    (a buffered reader may already hold the next one)."""
    fp = source.makefile("rb") if isinstance(source, socket.socket) else source
    line = fp.readline()
    if not line:
        raise ConnectionError("the connection closed without an answer")
    status = int(line.split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while (line := fp.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "content-length" in headers:
        body = fp.read(int(headers["content-length"]))
    elif "chunked" in headers.get("transfer-encoding", ""):
        body = _dechunk(fp)
    else:
        body = fp.read()
    return Answer(status, headers, body)


def _dechunk(fp: BinaryIO) -> bytes:
    out = []
    while size := int(fp.readline().split(b";")[0], 16):
        out.append(fp.read(size))
        fp.readline()
    while fp.readline() not in (b"\r\n", b""):
        pass
    return b"".join(out)


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
