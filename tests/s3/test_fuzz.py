"""Hypothesis sends the real gateway process request lines, headers and XML bodies over a raw
socket, signed and unsigned: every answer is a valid HTTP response, a success or an S3 error
body (XML with Code and Message), never a 500; the log holds no traceback, and the gateway
still serves a signed request at the end."""

from __future__ import annotations

import string
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ._raw import UNSIGNED, Answer, request, sign
from .conftest import Gateway

BUCKET = "fuzz-target"

SUBRESOURCES = [
    "uploads", "uploadId", "partNumber", "delete", "versions", "versioning", "location", "acl",
    "tagging", "list-type", "prefix", "delimiter", "max-keys", "continuation-token", "marker",
    "encoding-type", "attributes", "versionId", "select", "policy", "cors", "lifecycle",
    "response-content-type", "x-id", "max-parts", "part-number-marker", "start-after",
]  # fmt: skip
HEADERS = [
    "range", "content-md5", "content-type", "if-match", "if-none-match", "if-modified-since",
    "if-unmodified-since", "x-amz-meta-a", "x-amz-copy-source", "x-amz-copy-source-range",
    "x-amz-metadata-directive", "x-amz-checksum-crc32", "x-amz-checksum-sha256",
    "x-amz-checksum-algorithm", "x-amz-checksum-mode", "x-amz-decoded-content-length",
    "x-amz-trailer", "content-encoding", "x-amz-object-attributes", "x-amz-date", "expect",
    "x-amz-acl", "cache-control", "authorization", "x-amz-content-sha256",
]  # fmt: skip
VALUES = [
    "", "*", "bytes=0-1", "bytes=-1", "bytes=5-2", "bytes=x", "0", "-1", "99999999999999999999",
    "CRC32", "ENABLED", "REPLACE", "COPY", "aws-chunked", "100-continue", '"abc"', "true",
    f"/{BUCKET}/k", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "AWS4-HMAC-SHA256 Credential=x",
    "ETag,ObjectSize", "Sun, 06 Nov 1994 08:49:37 GMT", "AAAAAA==", "x-amz-checksum-crc32",
]  # fmt: skip

printable = st.text(st.sampled_from(string.printable.strip() + " "), max_size=24)
tokens = st.one_of(st.sampled_from(VALUES), printable)
# mostly the fuzzed bucket and its object, so most requests reach an operation
names = st.one_of(*[st.just(BUCKET)] * 4, st.sampled_from(["no-such-fuzz", "", "a.b"]), printable)
keys = st.one_of(*[st.just("k")] * 3, st.sampled_from(["", "a/b", "x" * 1100, "%"]), printable)
queries = st.lists(st.tuples(st.one_of(st.sampled_from(SUBRESOURCES), printable), tokens),
                   max_size=2)  # fmt: skip
header_names = st.one_of(
    st.sampled_from(HEADERS), st.from_regex(r"[A-Za-z0-9-]{1,12}", fullmatch=True)
)
headers = st.dictionaries(header_names, tokens, max_size=3)
mostly = st.sampled_from([True, True, True, True, False])
methods = st.sampled_from(["GET", "GET", "PUT", "PUT", "POST", "HEAD", "DELETE", "PATCH"])


@st.composite
def xml_bodies(draw: st.DrawFn) -> bytes:
    """A Delete, CompleteMultipartUpload or bucket configuration document, mangled or not."""
    root = draw(st.sampled_from(["Delete", "CompleteMultipartUpload", "CreateBucketConfiguration"]))
    children = draw(st.lists(st.sampled_from([
        "<Object><Key>{t}</Key></Object>", "<Quiet>{t}</Quiet>", "<Object/>",
        "<Part><PartNumber>{t}</PartNumber><ETag>{t}</ETag></Part>", "<Part/>",
        "<LocationConstraint>{t}</LocationConstraint>", "<{t}>", "&{t};", "<![CDATA[{t}]]>",
    ]), max_size=5))  # fmt: skip
    text = draw(printable)
    doc = f"<{root}>" + "".join(c.format(t=text) for c in children) + f"</{root}>"
    if draw(st.booleans()):
        doc = doc[: draw(st.integers(0, len(doc)))]
    return doc.encode()


bodies = st.one_of(st.just(b""), xml_bodies(), st.binary(max_size=64))


def target_of(bucket: str, key: str, query: list[tuple[str, str]], raw: bool) -> str:
    """The request target: percent-encoded as an SDK sends it, or raw (maybe not valid HTTP)."""
    if raw:
        path = f"/{bucket}/{key}"
        tail = "&".join(f"{k}={v}" for k, v in query)
    else:
        path = "/" + quote(bucket, safe="") + ("/" + quote(key, safe="/~") if key else "")
        tail = "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in query)
    return path + ("?" + tail if tail else "")


def check(answer: Answer, method: str) -> None:
    assert answer.status != 500, answer
    assert 200 <= answer.status < 600, answer
    if answer.status >= 300 and answer.body and method != "HEAD":
        code, message = answer.error()
        assert code and message, answer


@pytest.fixture(scope="module")
def fuzzed(gateway: Gateway) -> Iterator[Gateway]:
    s3 = gateway.client()
    before = {b["Name"] for b in s3.list_buckets()["Buckets"]}  # type: ignore[attr-defined]
    s3.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"0123456789")  # type: ignore[attr-defined]
    yield gateway
    for name in {b["Name"] for b in s3.list_buckets()["Buckets"]} - before:  # type: ignore[attr-defined]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):  # type: ignore[attr-defined]
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=name, Key=item["Key"])  # type: ignore[attr-defined]
        s3.delete_bucket(Bucket=name)  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=methods, bucket=names, key=keys, query=queries, extra=headers, body=bodies,
    signed=mostly, unsigned_payload=st.booleans(), raw=mostly.map(lambda m: not m),
)  # fmt: skip
def test_any_request_gets_a_valid_answer(
    fuzzed: Gateway, method: str, bucket: str, key: str, query: list[tuple[str, str]],
    extra: dict[str, str], body: bytes, signed: bool, unsigned_payload: bool, raw: bool,
) -> None:  # fmt: skip
    target = target_of(bucket, key, query, raw)
    wanted = {**extra, "Content-Length": str(len(body))}
    if signed and not raw:
        payload = UNSIGNED if unsigned_payload else None
        wanted = sign(fuzzed.endpoint, method, target, wanted, body, payload=payload)
    else:
        wanted["Host"] = fuzzed.endpoint.split("//")[1]
    answer = request(fuzzed.endpoint, method, target, wanted, body, timeout=15)
    check(answer, method)
    code = answer.error()[0] if answer.status >= 300 and answer.body else ""
    event(f"{'signed' if signed and not raw else 'unsigned'} {answer.status} {code}")


def test_the_gateway_survives_the_fuzz_with_no_traceback(fuzzed: Gateway) -> None:
    """Runs after the fuzz (pytest keeps the file's order)."""
    s3 = fuzzed.client()
    # a bucket of its own: the fuzz may have emptied and deleted BUCKET
    s3.create_bucket(Bucket="fuzz-survivor")  # type: ignore[attr-defined]
    s3.put_object(Bucket="fuzz-survivor", Key="after", Body=b"alive")  # type: ignore[attr-defined]
    got = s3.get_object(Bucket="fuzz-survivor", Key="after")  # type: ignore[attr-defined]
    assert got["Body"].read() == b"alive"
    assert fuzzed.process.poll() is None
    log = fuzzed.log_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log
