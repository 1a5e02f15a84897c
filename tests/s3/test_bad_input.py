"""Bad input sent over a raw socket to the real gateway process: each request is answered with
its S3 error code in an XML error body, nothing is stored, and the gateway's log holds no
traceback. (Unit tests of the same rules: test_rules.py, test_sigv4.py; bad ranges end to end:
test_objects.py::test_ranges.)"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from ._raw import (
    UNSIGNED,
    Answer,
    connect,
    head_bytes,
    presign,
    read_answer,
    request,
    sign,
    signed_request,
)
from .conftest import Gateway

MiB = 1 << 20
OVERSIZED = b"<Delete>" + b" " * (2 * MiB + 1) + b"</Delete>"
TOO_MANY = (
    b"<Delete>" + b"".join(b"<Object><Key>k%d</Key></Object>" % i for i in range(1001))
    + b"</Delete>"
)  # fmt: skip
NEW = "bad-input-never"
"""A bucket the bad CreateBucket requests name: it must not come to exist."""
LAUGHS = b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Delete>&b;</Delete>'


@dataclass
class Site:
    """The bucket, an object and an open multipart upload the cases aim at."""

    gateway: Gateway
    bucket: str
    upload: str
    requests: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return self.gateway.endpoint


@pytest.fixture(scope="module")
def site(gateway: Gateway) -> Iterator[Site]:
    s3 = gateway.client()
    bucket = "bad-input"
    s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")  # type: ignore[attr-defined]
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")  # type: ignore[attr-defined]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]  # type: ignore[attr-defined]
    yield Site(gateway, bucket, upload)
    s3.abort_multipart_upload(Bucket=bucket, Key="m", UploadId=upload)  # type: ignore[attr-defined]
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])  # type: ignore[attr-defined]
    assert sorted(o["Key"] for o in listed) == ["empty", "k"], "a bad request stored something"
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}  # type: ignore[attr-defined]
    assert NEW not in names, "a bad CreateBucket made its bucket"
    for key in ("k", "empty"):
        s3.delete_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    s3.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]


Send = Callable[[Site], Answer]


def signed(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"",
           **kwargs: object) -> Send:  # fmt: skip
    """A signed request; `{b}` and `{u}` in the target are the bucket and the upload id."""

    def send(site: Site) -> Answer:
        where = target.format(b=site.bucket, u=site.upload)
        return signed_request(site.endpoint, method, where, headers, body, **kwargs)

    return send


def longer_than_declared(site: Site) -> Answer:
    """A signed PUT declaring 10 bytes and sending 20 (signed over the 20): its answer, then
    the surplus (parsed as a next request) gets an S3 error and the connection closes."""
    target, body = f"/{site.bucket}/longer", b"x" * 20
    headers = sign(site.endpoint, "PUT", target, {"Content-Length": "10"}, body)
    with connect(site.endpoint) as sock:
        sock.sendall(head_bytes("PUT", target, headers) + body)
        replies = sock.makefile("rb")
        answer = read_answer(replies, "PUT")
        surplus = read_answer(replies, "GET")
        assert (surplus.status, surplus.error()[0]) == (400, "InvalidRequest"), surplus
        assert surplus.headers["connection"] == "close" and sock.recv(1) == b""
        return answer


def chunked_longer_than_declared(site: Site) -> Answer:
    """An aws-chunked body (as boto3 sends over HTTPS) with more data than its decoded length."""
    crc = base64.b64encode(zlib.crc32(b"0123456789").to_bytes(4, "big")).decode()
    body = f"a\r\n0123456789\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    target = f"/{site.bucket}/chunked"
    headers = {
        "Content-Encoding": "aws-chunked", "Content-Length": str(len(body)),
        "x-amz-decoded-content-length": "5", "x-amz-trailer": "x-amz-checksum-crc32",
    }  # fmt: skip
    signed_headers = sign(site.endpoint, "PUT", target, headers, payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")  # noqa: E501  # fmt: skip
    return request(site.endpoint, "PUT", target, signed_headers, body)


def bad_http_chunking(site: Site) -> Answer:
    """A PUT whose HTTP chunked framing breaks mid-body (the server's parser refuses it)."""
    target = f"/{site.bucket}/framing"
    headers = sign(site.endpoint, "PUT", target, {"Transfer-Encoding": "chunked"}, payload=UNSIGNED)
    return request(site.endpoint, "PUT", target, headers, b"3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n")


def no_length(target: str) -> Send:
    """A signed PUT with neither Content-Length nor Transfer-Encoding (and so no body)."""

    def send(site: Site) -> Answer:
        where = target.format(b=site.bucket, u=site.upload)
        headers = sign(site.endpoint, "PUT", where, {}, payload=UNSIGNED)
        assert not any(k.lower() in ("content-length", "transfer-encoding") for k in headers)
        return request(site.endpoint, "PUT", where, headers)

    return send


def skewed(minutes: int) -> Send:
    def send(site: Site) -> Answer:
        when = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(minutes=minutes)
        return signed_request(site.endpoint, "GET", f"/{site.bucket}/k", when=when)

    return send


def presigned(expires: int) -> Send:
    def send(site: Site) -> Answer:
        target = presign(site.endpoint, "GET", f"/{site.bucket}/k", expires)
        return request(site.endpoint, "GET", target, {"Host": site.endpoint.split("//")[1]})

    return send


def part(number: str) -> Send:
    return signed("PUT", "/{b}/m?partNumber=" + number + "&uploadId={u}", body=b"part")


# fmt: off
CASES: dict[str, tuple[Send, int, str]] = {
    "delete-objects malformed": (signed("POST", "/{b}?delete", body=b"<Delete><Object>"), 400, "MalformedXML"),  # noqa: E501
    "delete-objects wrong root": (signed("POST", "/{b}?delete", body=b"<Other/>"), 400, "MalformedXML"),  # noqa: E501
    "delete-objects entities": (signed("POST", "/{b}?delete", body=LAUGHS), 400, "MalformedXML"),
    "delete-objects oversized": (signed("POST", "/{b}?delete", body=OVERSIZED, payload=UNSIGNED), 400, "MaxMessageLengthExceeded"),  # noqa: E501
    "delete-objects 1001 keys": (signed("POST", "/{b}?delete", body=TOO_MANY), 400, "MalformedXML"),
    "delete-objects empty": (signed("POST", "/{b}?delete"), 400, "MalformedXML"),
    "complete malformed": (signed("POST", "/{b}/m?uploadId={u}", body=b"<CompleteMultipartUpload><Part>"), 400, "MalformedXML"),  # noqa: E501
    "complete text part number": (signed("POST", "/{b}/m?uploadId={u}", body=b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>"), 400, "MalformedXML"),  # noqa: E501
    "complete oversized": (signed("POST", "/{b}/m?uploadId={u}", body=OVERSIZED.replace(b"Delete", b"CompleteMultipartUpload"), payload=UNSIGNED), 400, "MaxMessageLengthExceeded"),  # noqa: E501
    "create-bucket malformed": (signed("PUT", f"/{NEW}", body=b"<CreateBucketConfiguration><Loc"), 400, "MalformedXML"),  # noqa: E501
    "create-bucket oversized": (signed("PUT", f"/{NEW}", body=OVERSIZED, payload=UNSIGNED), 400, "MaxMessageLengthExceeded"),  # noqa: E501
    "unknown subresource on a bucket": (signed("PUT", "/{b}?replication", body=b"<x/>"), 501, "NotImplemented"),  # noqa: E501
    "unknown subresource on an object": (signed("GET", "/{b}/k?torrent"), 501, "NotImplemented"),
    "select on an object": (signed("POST", "/{b}/k?select&select-type=2", body=b"<x/>"), 501, "NotImplemented"),  # noqa: E501
    "object tagging": (signed("PUT", "/{b}/k?tagging", body=b"<Tagging/>"), 501, "NotImplemented"),
    "a method S3 lacks": (signed("PATCH", "/{b}/k"), 405, "MethodNotAllowed"),
    "body longer than declared": (longer_than_declared, 400, "XAmzContentSHA256Mismatch"),
    "aws-chunked body longer than declared": (chunked_longer_than_declared, 400, "InvalidRequest"),
    "broken HTTP chunking": (bad_http_chunking, 400, "InvalidRequest"),
    "versioning status unknown": (signed("PUT", "/{b}?versioning", body=b"<VersioningConfiguration><Status>bogus</Status></VersioningConfiguration>"), 400, "MalformedXML"),  # noqa: E501
    "list parts text marker": (signed("GET", "/{b}/m?uploadId={u}&part-number-marker=one"), 400, "InvalidArgument"),  # noqa: E501
    "attributes text max-parts": (signed("GET", "/{b}/k?attributes", {"x-amz-object-attributes": "ObjectParts", "x-amz-max-parts": "ten"}), 400, "InvalidArgument"),  # noqa: E501
    "copy source of a version never issued": (signed("PUT", "/{b}/copied", {"x-amz-copy-source": "/bad-input/k?versionId=abc"}), 400, "InvalidArgument"),  # noqa: E501
    "put without Content-Length": (no_length("/{b}/no-length"), 411, "MissingContentLength"),
    "part without Content-Length": (no_length("/{b}/m?partNumber=1&uploadId={u}"), 411, "MissingContentLength"),  # noqa: E501
    "key of 1025 bytes": (signed("PUT", "/{b}/" + "k" * 1025, body=b"x"), 400, "KeyTooLongError"),
    "key of 1025 bytes, multipart": (signed("POST", "/{b}/" + "%C3%A9" * 513 + "?uploads"), 400, "KeyTooLongError"),  # noqa: E501
    "metadata over 2 KiB, multipart": (signed("POST", "/{b}/meta?uploads", {"x-amz-meta-a": "v" * 1100, "x-amz-meta-b": "v" * 1000}), 400, "MetadataTooLarge"),  # noqa: E501
    "metadata over 2 KiB": (signed("PUT", "/{b}/meta", {"x-amz-meta-big": "v" * 2100}, b"x"), 400, "MetadataTooLarge"),  # noqa: E501
    "part number 0": (part("0"), 400, "InvalidArgument"),
    "part number 10001": (part("10001"), 400, "InvalidArgument"),
    "part number text": (part("one"), 400, "InvalidArgument"),
    "get part number 0": (signed("GET", "/{b}/k?partNumber=0"), 400, "InvalidArgument"),
    "range past the end": (signed("GET", "/{b}/k", {"Range": "bytes=10-"}), 416, "InvalidRange"),
    "range of an empty object": (signed("GET", "/{b}/empty", {"Range": "bytes=0-0"}), 416, "InvalidRange"),  # noqa: E501
    "suffix range of zero": (signed("GET", "/{b}/k", {"Range": "bytes=-0"}), 416, "InvalidRange"),
    "clock 20 min behind": (skewed(-20), 403, "RequestTimeTooSkewed"),
    "clock 20 min ahead": (skewed(20), 403, "RequestTimeTooSkewed"),
    "presigned for 7 days and 1 s": (presigned(604801), 400, "AuthorizationQueryParametersError"),
    "presigned for 0 s": (presigned(0), 403, "AccessDenied"),  # valid, already expired (as AWS)
}
# fmt: on


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_its_s3_error(site: Site, case: str) -> None:
    send, status, code = CASES[case]
    answer = send(site)
    assert (answer.status, answer.error()[0]) == (status, code), answer
    assert answer.headers["content-type"] == "application/xml"


def test_bad_input_leaves_no_traceback(site: Site) -> None:
    for send, _, _ in CASES.values():
        send(site)
    log = site.gateway.log_text()
    assert "Traceback" not in log and "InternalError" not in log


def test_a_body_refused_before_it_is_read_is_drained_and_the_connection_kept(
    site: Site,
) -> None:
    # Closing with the body still coming made the kernel reset the connection, and a client
    # still sending lost the answer (ConnectionResetError in sendall, seen in CI).
    for _ in range(5):
        answer = CASES["complete oversized"][0](site)
        assert answer.status == 400 and answer.error()[0] == "MaxMessageLengthExceeded"
        assert answer.headers.get("connection", "").lower() != "close"
