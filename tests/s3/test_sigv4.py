"""SigV4 verification: AWS's published examples, and requests signed by botocore (and boto3
itself) verified by ours, then mutated one byte at a time. Then aws-chunked bodies: AWS's
chunked-upload examples (plain and with a signed trailer), bodies from botocore's own encoder and
from boto3, and signed bodies whose seed request awscrt signed, decoded in random splits and
corrupted."""

from __future__ import annotations

import hashlib
import hmac
import io
import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import pytest
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from botocore import httpchecksum
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from natsobj.s3._checksums import new
from natsobj.s3._chunked import ChunkedDecoder
from natsobj.s3._sigv4 import (
    EMPTY_SHA256,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    AuthError,
    Verified,
    signing_key,
    verify,
)

# The credentials, time and region of every example in AWS's SigV4 documentation for S3.
AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_TIME = datetime(2013, 5, 24, tzinfo=timezone.utc)
REGION = "us-east-1"
HOST = b"examplebucket.s3.amazonaws.com"
SECRETS = {AK: SK, "AKOTHER": "another-secret"}

Headers = list[tuple[bytes, bytes]]


def check(
    method: str,
    path: bytes,
    query: bytes,
    headers: Headers,
    *,
    now: datetime = DOC_TIME,
    region: str = REGION,
) -> Verified:
    return verify(method, path, query, headers, secret_for=SECRETS.get, region=region, now=now)


def refused(code: str, *args: Any, **kwargs: Any) -> AuthError:
    with pytest.raises(AuthError) as info:
        check(*args, **kwargs)
    assert info.value.code == code, info.value
    return info.value


def auth(signed: str, signature: str, date: str = "20130524") -> tuple[bytes, bytes]:
    value = (
        f"AWS4-HMAC-SHA256 Credential={AK}/{date}/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed},Signature={signature}"
    )
    return (b"Authorization", value.encode())


# --- AWS's published examples ------------------------------------------------------------


def get_with_range() -> Headers:
    return [
        (b"Host", HOST),
        (b"Range", b"bytes=0-9"),
        (b"x-amz-content-sha256", EMPTY_SHA256.encode()),
        (b"x-amz-date", b"20130524T000000Z"),
        auth(
            "host;range;x-amz-content-sha256;x-amz-date",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
    ]


def test_the_documented_get_object_with_range_verifies() -> None:
    v = check("GET", b"/test.txt", b"", get_with_range())
    assert v.access_key == AK
    assert not v.presigned
    assert v.payload == EMPTY_SHA256
    assert v.payload_sha256 == EMPTY_SHA256
    assert v.scope == "20130524/us-east-1/s3/aws4_request"
    assert v.amz_date == "20130524T000000Z"
    assert v.signed_headers == ("host", "range", "x-amz-content-sha256", "x-amz-date")


def test_the_documented_put_object_with_date_and_dollar_key_verifies() -> None:
    body = b"Welcome to Amazon S3."
    digest = hashlib.sha256(body).hexdigest()
    headers = [
        (b"Host", HOST),
        (b"Date", b"Fri, 24 May 2013 00:00:00 GMT"),
        (b"x-amz-date", b"20130524T000000Z"),
        (b"x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        (b"x-amz-content-sha256", digest.encode()),
        auth(
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
    ]
    assert check("PUT", b"/test%24file.text", b"", headers).payload == digest
    # The same key sent with `$` unescaped canonicalises the same way.
    assert check("PUT", b"/test$file.text", b"", headers).payload == digest


@pytest.mark.parametrize(
    ("query", "signature"),
    [
        (b"lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        (b"lifecycle=", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        (
            b"max-keys=2&prefix=J",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
        (
            b"prefix=J&max-keys=2",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ],
)
def test_the_documented_bucket_requests_verify(query: bytes, signature: str) -> None:
    headers = [
        (b"Host", HOST),
        (b"x-amz-date", b"20130524T000000Z"),
        (b"x-amz-content-sha256", EMPTY_SHA256.encode()),
        auth("host;x-amz-content-sha256;x-amz-date", signature),
    ]
    check("GET", b"/", query, headers)


PRESIGNED = (
    b"X-Amz-Algorithm=AWS4-HMAC-SHA256"
    b"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    b"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    b"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)


def test_the_documented_presigned_url_verifies() -> None:
    v = check("GET", b"/test.txt", PRESIGNED, [(b"host", HOST)])
    assert v.presigned
    assert v.payload == UNSIGNED_PAYLOAD
    assert v.payload_sha256 is None
    assert v.expires == DOC_TIME + timedelta(days=1)


def test_a_presigned_url_works_until_it_expires() -> None:
    last = DOC_TIME + timedelta(seconds=86400)
    check("GET", b"/test.txt", PRESIGNED, [(b"host", HOST)], now=last)
    error = refused(
        "AccessDenied",
        "GET",
        b"/test.txt",
        PRESIGNED,
        [(b"host", HOST)],
        now=last + timedelta(seconds=1),
    )
    assert "Request has expired" in error.message


def test_a_presigned_url_from_the_future_is_refused() -> None:
    error = refused(
        "AccessDenied",
        "GET",
        b"/test.txt",
        PRESIGNED,
        [(b"host", HOST)],
        now=DOC_TIME - timedelta(minutes=16),
    )
    assert "not valid yet" in error.message


@pytest.mark.parametrize("expires", [b"604801", b"-1", b"abc", b"1e3", b""])
def test_presign_expiry_must_be_0_to_7_days(expires: bytes) -> None:
    # 0 is a valid X-Amz-Expires on AWS (a URL already expired: see test_conformance_access)
    query = PRESIGNED.replace(b"X-Amz-Expires=86400", b"X-Amz-Expires=" + expires)
    refused("AuthorizationQueryParametersError", "GET", b"/test.txt", query, [(b"host", HOST)])


@pytest.mark.parametrize(
    "param", [b"X-Amz-Credential", b"X-Amz-Date", b"X-Amz-Expires", b"X-Amz-SignedHeaders"]
)
def test_a_presigned_url_missing_a_parameter_is_refused(param: bytes) -> None:
    query = b"&".join(p for p in PRESIGNED.split(b"&") if not p.startswith(param + b"="))
    refused("AuthorizationQueryParametersError", "GET", b"/test.txt", query, [(b"host", HOST)])


def test_a_presigned_url_with_a_wrong_algorithm_is_refused() -> None:
    query = PRESIGNED.replace(b"AWS4-HMAC-SHA256", b"AWS4-HMAC-SHA512")
    refused("AuthorizationQueryParametersError", "GET", b"/test.txt", query, [(b"host", HOST)])


def test_a_presigned_url_for_another_region_names_the_expected_one() -> None:
    error = refused(
        "AuthorizationQueryParametersError",
        "GET",
        b"/test.txt",
        PRESIGNED,
        [(b"host", HOST)],
        region="eu-west-1",
    )
    assert "eu-west-1" in error.message


@pytest.mark.parametrize(
    "mutate",
    [
        lambda q: q.replace(b"X-Amz-Expires=86400", b"X-Amz-Expires=86401"),
        lambda q: q + b"&extra=1",
        lambda q: q.replace(b"d404", b"d405"),
    ],
)
def test_a_changed_presigned_url_does_not_match(mutate: Callable[[bytes], bytes]) -> None:
    refused("SignatureDoesNotMatch", "GET", b"/test.txt", mutate(PRESIGNED), [(b"host", HOST)])


def test_an_unsigned_amz_header_on_a_presigned_url_is_refused() -> None:
    headers = [(b"host", HOST), (b"x-amz-copy-source", b"/other/secret")]
    error = refused("AccessDenied", "GET", b"/test.txt", PRESIGNED, headers)
    # S3 names them in the error's own HeadersNotSigned element
    assert error.message == "There were headers present in the request which were not signed"
    assert error.fields["HeadersNotSigned"] == "x-amz-copy-source"


# --- errors of header auth ---------------------------------------------------------------


def test_the_clock_may_be_15_minutes_off_and_no_more() -> None:
    for skew in (timedelta(minutes=15), -timedelta(minutes=15)):
        check("GET", b"/test.txt", b"", get_with_range(), now=DOC_TIME + skew)
    for skew in (timedelta(minutes=15, seconds=1), -timedelta(minutes=15, seconds=1)):
        refused(
            "RequestTimeTooSkewed",
            "GET",
            b"/test.txt",
            b"",
            get_with_range(),
            now=DOC_TIME + skew,
        )


def test_another_region_is_malformed_and_names_the_expected_region() -> None:
    error = refused(
        "AuthorizationHeaderMalformed",
        "GET",
        b"/test.txt",
        b"",
        get_with_range(),
        region="eu-central-1",
    )
    assert "'eu-central-1'" in error.message and "'us-east-1'" in error.message


def test_another_service_is_malformed() -> None:
    headers = [
        (n, v.replace(b"/s3/", b"/iam/")) if n == b"Authorization" else (n, v)
        for n, v in get_with_range()
    ]
    refused("AuthorizationHeaderMalformed", "GET", b"/test.txt", b"", headers)


def test_a_credential_date_other_than_the_request_date_is_malformed() -> None:
    headers = [
        (n, v.replace(b"/20130524/", b"/20130523/")) if n == b"Authorization" else (n, v)
        for n, v in get_with_range()
    ]
    refused("AuthorizationHeaderMalformed", "GET", b"/test.txt", b"", headers)


def test_an_unknown_access_key_is_invalid() -> None:
    headers = [
        (n, v.replace(AK.encode(), b"AKUNKNOWN")) if n == b"Authorization" else (n, v)
        for n, v in get_with_range()
    ]
    refused("InvalidAccessKeyId", "GET", b"/test.txt", b"", headers)


def test_anonymous_requests_are_refused() -> None:
    refused("AccessDenied", "GET", b"/test.txt", b"", [(b"host", HOST)])


@pytest.mark.parametrize(
    "authorization",
    [b"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", None],
)
def test_sigv2_is_refused_with_a_clear_message(authorization: bytes | None) -> None:
    if authorization is None:
        query = b"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1141889120&Signature=vjbyPxybd"
        headers: Headers = [(b"host", HOST)]
    else:
        query, headers = b"", [(b"host", HOST), (b"authorization", authorization)]
    error = refused("NotImplemented", "GET", b"/test.txt", query, headers)
    assert "SigV2 is not supported, use SigV4" in error.message


def test_header_and_query_auth_together_are_refused() -> None:
    refused("InvalidArgument", "GET", b"/test.txt", PRESIGNED, get_with_range())


def test_a_request_without_x_amz_content_sha256_is_refused() -> None:
    headers = [(n, v) for n, v in get_with_range() if n != b"x-amz-content-sha256"]
    refused("InvalidRequest", "GET", b"/test.txt", b"", headers)


def test_a_bad_x_amz_content_sha256_is_an_invalid_argument() -> None:
    headers = [
        (n, b"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD") if n == b"x-amz-content-sha256" else (n, v)
        for n, v in get_with_range()
    ]
    refused("InvalidArgument", "GET", b"/test.txt", b"", headers)


def test_a_request_without_a_date_is_refused() -> None:
    headers = [(n, v) for n, v in get_with_range() if n != b"x-amz-date"]
    refused("AccessDenied", "GET", b"/test.txt", b"", headers)


@pytest.mark.parametrize(
    "authorization",
    [
        b"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        b"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3,"
        b"SignedHeaders=host,Signature=00",
        b"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        b"SignedHeaders=range,Signature=00",
        b"AWS4-HMAC-SHA256 garbage",
    ],
)
def test_a_malformed_authorization_header_is_malformed(authorization: bytes) -> None:
    headers = [(n, v) for n, v in get_with_range() if n != b"Authorization"]
    headers.append((b"Authorization", authorization))
    refused("AuthorizationHeaderMalformed", "GET", b"/test.txt", b"", headers)


def test_an_unsigned_amz_header_is_refused() -> None:
    headers = [*get_with_range(), (b"x-amz-acl", b"public-read")]
    refused("AccessDenied", "GET", b"/test.txt", b"", headers)


@pytest.mark.parametrize(
    ("method", "path", "query", "change"),
    [
        ("HEAD", b"/test.txt", b"", None),
        ("GET", b"/test.txu", b"", None),
        ("GET", b"/test.txt/", b"", None),
        ("GET", b"//test.txt", b"", None),
        ("GET", b"/test.txt", b"a=1", None),
        ("GET", b"/test.txt", b"", (b"Range", b"bytes=0-8")),
        ("GET", b"/test.txt", b"", (b"x-amz-date", b"20130524T000001Z")),
    ],
)
def test_a_changed_request_does_not_match(
    method: str, path: bytes, query: bytes, change: tuple[bytes, bytes] | None
) -> None:
    headers = get_with_range()
    if change is not None:
        headers = [(n, change[1]) if n == change[0] else (n, v) for n, v in headers]
    refused("SignatureDoesNotMatch", method, path, query, headers)


def test_header_values_are_trimmed_and_their_spaces_collapsed() -> None:
    headers = [(n, b"  bytes=0-9 ") if n == b"Range" else (n, v) for n, v in get_with_range()]
    check("GET", b"/test.txt", b"", headers)


def test_signing_keys_are_cached() -> None:
    signing_key.cache_clear()
    check("GET", b"/test.txt", b"", get_with_range())
    check("GET", b"/test.txt", b"", get_with_range())
    assert signing_key.cache_info().hits >= 1


# --- differential: botocore signs, we verify ----------------------------------------------

ENDPOINT = "http://gw.example:9000"
NETLOC = b"gw.example:9000"
SPECIAL_KEYS = [
    '&+-é"/x',
    "a//b",
    "dir/",
    "..",
    "../x",
    "a b",
    "~user",
    "日本語/ключ",
    "100%",
    "%2F",
    "+",
    " lead",
    "trail ",
    "a?b#c",
    "tab\there",
    "semi;colon=eq",
    "*'()!",
    "",
    "/leading",
]
keys = st.one_of(
    st.sampled_from(SPECIAL_KEYS),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30),
)
param_names = st.one_of(
    st.sampled_from(["uploads", "prefix", "list-type", "delimiter", "encoding-type", "x"]),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8),
).filter(lambda n: not n.lower().startswith("x-amz-"))
param_values = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
header_values = st.text(
    st.sampled_from(string.ascii_letters + string.digits + " -_=;,./:"), max_size=20
)
methods = st.sampled_from(["GET", "PUT", "POST", "HEAD", "DELETE"])


def creds() -> Credentials:
    return Credentials(AK, SK)


def path_of(key: str) -> str:
    # As botocore's REST serializer puts a key into the URL.
    return "/bucket/" + quote(key, safe="/~")


def query_of(params: list[tuple[str, str]]) -> str:
    return "&".join(
        quote(k, safe="-_.~") + ("=" + quote(v, safe="-_.~") if v else "") for k, v in params
    )


def wire(request: AWSRequest) -> tuple[bytes, bytes, Headers]:
    """What a server would receive for a request botocore signed."""
    parts = urlsplit(request.url)
    headers = [(b"host", NETLOC)]
    for name, value in request.headers.items():
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        headers.append((name.encode("latin-1"), raw))
    return parts.path.encode("ascii"), parts.query.encode("ascii"), headers


def signed_by_botocore(
    method: str,
    key: str,
    params: list[tuple[str, str]],
    meta: dict[str, str],
    body: bytes,
) -> tuple[bytes, bytes, Headers]:
    query = query_of(params)
    url = ENDPOINT + path_of(key) + ("?" + query if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=dict(meta))
    S3SigV4Auth(creds(), "s3", REGION).add_auth(request)
    return wire(request)


def presigned_by_botocore(
    method: str, key: str, params: list[tuple[str, str]], meta: dict[str, str], expires: int
) -> tuple[bytes, bytes, Headers]:
    query = query_of(params)
    url = ENDPOINT + path_of(key) + ("?" + query if query else "")
    request = AWSRequest(method=method, url=url, headers=dict(meta))
    S3SigV4QueryAuth(creds(), "s3", REGION, expires=expires).add_auth(request)
    return wire(request)


def now() -> datetime:
    return datetime.now(timezone.utc)


metas = st.dictionaries(
    st.sampled_from(["x-amz-meta-a", "x-amz-meta-b", "content-type", "range", "x-amz-acl"]),
    header_values,
    max_size=3,
)
DIFF = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@DIFF
@given(
    methods,
    keys,
    st.lists(st.tuples(param_names, param_values), max_size=4),
    metas,
    st.binary(max_size=64),
)
def test_what_botocore_signs_we_verify(
    method: str, key: str, params: list[tuple[str, str]], meta: dict[str, str], body: bytes
) -> None:
    path, query, headers = signed_by_botocore(method, key, params, meta, body)
    v = verify(method, path, query, headers, secret_for=SECRETS.get, region=REGION, now=now())
    assert v.access_key == AK
    assert v.payload == hashlib.sha256(body).hexdigest()


@DIFF
@given(
    methods,
    keys,
    st.lists(st.tuples(param_names, param_values), max_size=3),
    metas,
    st.integers(1, 604800),
)
def test_what_botocore_presigns_we_verify(
    method: str, key: str, params: list[tuple[str, str]], meta: dict[str, str], expires: int
) -> None:
    path, query, headers = presigned_by_botocore(method, key, params, meta, expires)
    # The URL's own time, X-Amz-Date: a 1-second URL may have expired by now().
    signed_at = datetime.strptime(
        query.split(b"X-Amz-Date=")[1][:16].decode(), "%Y%m%dT%H%M%SZ"
    ).replace(tzinfo=timezone.utc)
    for moment in (signed_at, signed_at + timedelta(seconds=expires)):
        v = verify(method, path, query, headers, secret_for=SECRETS.get, region=REGION, now=moment)
        assert v.presigned and v.payload == UNSIGNED_PAYLOAD
    with pytest.raises(AuthError, match="Request has expired"):
        verify(
            method,
            path,
            query,
            headers,
            secret_for=SECRETS.get,
            region=REGION,
            now=signed_at + timedelta(seconds=expires + 1),
        )


def mutations(path: bytes, query: bytes, headers: Headers) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        ("path", (path + b"x", query, headers)),
        ("path", (path[:-1] if len(path) > 1 else b"/y", query, headers)),
        ("query", (path, query + b"&zz=1" if query else b"zz=1", headers)),
    ]
    for i, (name, value) in enumerate(headers):
        lname = name.lower()
        if lname == b"authorization":
            flipped = value[:-1] + (b"0" if value[-1:] != b"0" else b"1")
            out.append(
                ("signature", (path, query, [*headers[:i], (name, flipped), *headers[i + 1 :]]))
            )
        elif lname in (b"x-amz-meta-a", b"range", b"host"):
            changed = [*headers[:i], (name, value + b"z"), *headers[i + 1 :]]
            out.append(("header", (path, query, changed)))
        elif lname == b"x-amz-date":
            later = value[:-3] + (b"01Z" if value[-3:] != b"01Z" else b"02Z")
            out.append(("date", (path, query, [*headers[:i], (name, later), *headers[i + 1 :]])))
    if b"X-Amz-Signature=" in query:
        flipped = query[:-1] + (b"0" if query[-1:] != b"0" else b"1")
        out.append(("signature", (path, flipped, headers)))
        out.append(("query", (path, query.replace(b"X-Amz-Expires=", b"X-Amz-Expires=1"), headers)))
    return out


@DIFF
@given(
    methods,
    keys,
    st.lists(st.tuples(param_names, param_values), max_size=3),
    metas,
    st.binary(max_size=16),
    st.booleans(),
)
def test_one_changed_byte_does_not_match(
    method: str,
    key: str,
    params: list[tuple[str, str]],
    meta: dict[str, str],
    body: bytes,
    presign: bool,
) -> None:
    if presign:
        request = presigned_by_botocore(method, key, params, meta, 3600)
    else:
        request = signed_by_botocore(method, key, params, meta, body)
    for what, (path, query, headers) in mutations(*request):
        with pytest.raises(AuthError) as info:
            verify(method, path, query, headers, secret_for=SECRETS.get, region=REGION, now=now())
        allowed = {"SignatureDoesNotMatch"}
        if what == "query":  # X-Amz-Expires=1... may become too long a week
            allowed.add("AuthorizationQueryParametersError")
        assert info.value.code in allowed, (what, path, query, info.value)
    other = "PUT" if method != "PUT" else "GET"
    with pytest.raises(AuthError) as info:
        verify(other, *request, secret_for=SECRETS.get, region=REGION, now=now())
    assert info.value.code == "SignatureDoesNotMatch"


# --- boto3 itself: the requests a real client sends ---------------------------------------


class Captured(Exception):
    """Raised by the before-send hook: the request boto3 was about to send."""


def capture(endpoint: str, call: Callable[[Any], Any]) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )

    def hook(request: Any, **_: Any) -> None:
        raise Captured(request)

    client.meta.events.register("before-send.s3.*", hook)
    with pytest.raises(Captured) as info:
        call(client)
    return info.value.args[0]


def verify_prepared(request: Any) -> Verified:
    parts = urlsplit(request.url)
    headers = [
        (n.encode("latin-1"), v if isinstance(v, bytes) else v.encode())
        for n, v in request.headers.items()
    ]
    return verify(
        request.method,
        parts.path.encode(),
        parts.query.encode(),
        headers,
        secret_for=SECRETS.get,
        region=REGION,
        now=now(),
    )


@pytest.mark.parametrize("key", SPECIAL_KEYS[:-2])
def test_boto3_get_object_with_range_verifies(key: str) -> None:
    request = capture(ENDPOINT, lambda c: c.get_object(Bucket="bucket", Key=key, Range="bytes=0-9"))
    assert verify_prepared(request).payload == EMPTY_SHA256


def test_boto3_list_objects_v2_verifies() -> None:
    request = capture(
        ENDPOINT,
        lambda c: c.list_objects_v2(
            Bucket="bucket", Prefix="a b/é+&=", Delimiter="/", StartAfter="x~y", MaxKeys=7
        ),
    )
    verify_prepared(request)


def test_boto3_put_object_over_http_signs_its_payload() -> None:
    body = b"hello world"
    request = capture(ENDPOINT, lambda c: c.put_object(Bucket="bucket", Key="k", Body=body))
    assert verify_prepared(request).payload == hashlib.sha256(body).hexdigest()


def test_boto3_put_object_over_https_streams_an_unsigned_trailer() -> None:
    request = capture(
        "https://gw.example:9000",
        lambda c: c.put_object(Bucket="bucket", Key='&+-é"/x', Body=b"hello world"),
    )
    v = verify_prepared(request)
    assert v.payload == STREAMING_UNSIGNED_TRAILER and v.chunked


def test_boto3_presigned_urls_verify() -> None:
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        region_name=REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    for key in SPECIAL_KEYS[:-2]:
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": "bucket", "Key": key}, ExpiresIn=600
        )
        parts = urlsplit(url)
        v = verify(
            "GET",
            parts.path.encode(),
            parts.query.encode(),
            [(b"host", NETLOC)],
            secret_for=SECRETS.get,
            region=REGION,
            now=now(),
        )
        assert v.presigned


def test_streaming_signed_payload_is_reported() -> None:
    # The seed request of AWS's chunked upload example.
    headers = [
        (b"host", b"s3.amazonaws.com"),
        (b"x-amz-date", b"20130524T000000Z"),
        (b"x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        (b"x-amz-content-sha256", STREAMING_SIGNED.encode()),
        (b"content-encoding", b"aws-chunked"),
        (b"x-amz-decoded-content-length", b"66560"),
        (b"content-length", b"66824"),
        auth(
            "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
            "x-amz-decoded-content-length;x-amz-storage-class",
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        ),
    ]
    v = check("PUT", b"/examplebucket/chunkObject.txt", b"", headers)
    assert v.payload == STREAMING_SIGNED and v.chunked
    assert v.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"


# --- aws-chunked bodies -------------------------------------------------------------------

A = b"a"
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
DOC_CHUNK_1 = (
    b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    + A * 65536
    + b"\r\n"
)
DOC_CHUNK_2 = (
    b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
    + A * 1024
    + b"\r\n"
)
DOC_LAST = (
    b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
)
DOC_CHUNKS = DOC_CHUNK_1 + DOC_CHUNK_2 + DOC_LAST
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
DOC_TRAILER_CHUNKS = (
    b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n"
    + A * 65536
    + b"\r\n"
    + b"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n"
    + A * 1024
    + b"\r\n"
    + b"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n"
    + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
    + b"x-amz-trailer-signature:"
    + b"d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
    + b"\r\n"
)


def doc_request(payload: str, signature: str, extra: Headers) -> Verified:
    """The seed request of AWS's chunked-upload examples, verified."""
    headers: Headers = [
        (b"host", b"s3.amazonaws.com"),
        (b"x-amz-date", b"20130524T000000Z"),
        (b"x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        (b"x-amz-content-sha256", payload.encode()),
        (b"content-encoding", b"aws-chunked"),
        (b"x-amz-decoded-content-length", b"66560"),
        *extra,
    ]
    signed = ";".join(sorted(n.decode() for n, _ in headers))
    headers.append(
        (
            b"authorization",
            f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,"
            f"SignedHeaders={signed},Signature={signature}".encode(),
        )
    )
    return verify(
        "PUT",
        b"/examplebucket/chunkObject.txt",
        b"",
        headers,
        secret_for=SECRETS.get,
        region=REGION,
        now=DOC_TIME,
    )


def plain_doc() -> Verified:
    return doc_request(STREAMING_SIGNED, SEED, [(b"content-length", b"66824")])


def trailer_doc() -> Verified:
    return doc_request(
        STREAMING_SIGNED_TRAILER, TRAILER_SEED, [(b"x-amz-trailer", b"x-amz-checksum-crc32c")]
    )


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    out, last = [], 0
    for p in [*points, len(body)]:
        out.append(body[last:p])
        last = p
    return out


def decode(decoder: ChunkedDecoder, pieces: list[bytes]) -> tuple[bytes, dict[str, str]]:
    out = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    return b"".join(out), decoder.finish()


def fails(code: str, decoder: ChunkedDecoder, pieces: list[bytes]) -> AuthError:
    with pytest.raises(AuthError) as info:
        decode(decoder, pieces)
    assert info.value.code == code, info.value
    return info.value


cuts = st.lists(st.integers(0, 1 << 20), max_size=12)
SPLITS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- AWS's examples -----------------------------------------------------------------------


def test_the_documented_chunked_upload_decodes() -> None:
    v = plain_doc()
    assert v.signature == SEED and v.payload == STREAMING_SIGNED
    assert decode(ChunkedDecoder(v, 66560), [DOC_CHUNKS]) == (A * 66560, {})


@SPLITS
@given(cuts)
def test_the_documented_chunked_upload_decodes_in_any_split(points: list[int]) -> None:
    assert decode(ChunkedDecoder(plain_doc(), 66560), split(DOC_CHUNKS, points)) == (A * 66560, {})


def test_the_documented_trailer_upload_decodes_and_its_trailer_signature_holds() -> None:
    v = trailer_doc()
    assert v.signature == TRAILER_SEED and v.payload == STREAMING_SIGNED_TRAILER
    decoder = ChunkedDecoder(v, 66560, declared_trailers=["x-amz-checksum-crc32c"])
    payload, trailers = decode(decoder, [DOC_TRAILER_CHUNKS])
    assert payload == A * 66560
    assert trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    crc = new("crc32c")
    crc.update(payload)
    assert crc.b64() == trailers["x-amz-checksum-crc32c"]


@SPLITS
@given(cuts)
def test_the_documented_trailer_upload_decodes_in_any_split(points: list[int]) -> None:
    payload, trailers = decode(
        ChunkedDecoder(trailer_doc(), 66560), split(DOC_TRAILER_CHUNKS, points)
    )
    assert payload == A * 66560 and trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}


@pytest.mark.parametrize("offset", [100, 65536 + 200, 66000])
def test_a_corrupted_documented_chunk_fails(offset: int) -> None:
    body = bytearray(DOC_CHUNKS)
    assert body[offset] == ord("a")
    body[offset] = ord("b")
    fails("SignatureDoesNotMatch", ChunkedDecoder(plain_doc(), 66560), [bytes(body)])


def test_a_changed_trailer_fails_its_signature() -> None:
    body = DOC_TRAILER_CHUNKS.replace(b"sOO8/Q==", b"sOO8/Q==".lower())
    fails("SignatureDoesNotMatch", ChunkedDecoder(trailer_doc(), 66560), [body])


def test_a_missing_trailer_signature_fails() -> None:
    body = DOC_TRAILER_CHUNKS.split(b"x-amz-trailer-signature")[0] + b"\r\n"
    fails("SignatureDoesNotMatch", ChunkedDecoder(trailer_doc(), 66560), [body])


def test_a_body_cut_short_is_incomplete() -> None:
    for end in (10, 90, 1000, 65536 + 90, len(DOC_CHUNKS) - 2, len(DOC_CHUNKS) - 1):
        fails("IncompleteBody", ChunkedDecoder(plain_doc(), 66560), [DOC_CHUNKS[:end]])


def test_the_decoded_length_must_match() -> None:
    fails("IncompleteBody", ChunkedDecoder(plain_doc(), 66561), [DOC_CHUNKS])
    fails("InvalidRequest", ChunkedDecoder(plain_doc(), 66559), [DOC_CHUNKS])


def test_a_signed_chunk_is_held_until_its_signature_checks_out() -> None:
    decoder = ChunkedDecoder(plain_doc(), 66560)
    first_chunk_end = DOC_CHUNKS.index(b"\r\n400;")
    assert decoder.feed(DOC_CHUNKS[: first_chunk_end + 1]) == []
    assert (
        sum(map(len, decoder.feed(DOC_CHUNKS[first_chunk_end + 1 : first_chunk_end + 2]))) == 65536
    )


def test_data_after_the_end_is_refused() -> None:
    fails("InvalidRequest", ChunkedDecoder(plain_doc(), 66560), [DOC_CHUNKS + b"0\r\n"])


def test_swapped_chunks_fail() -> None:
    body = DOC_CHUNK_2 + DOC_CHUNK_1 + DOC_LAST
    fails("SignatureDoesNotMatch", ChunkedDecoder(plain_doc(), 66560), [body])


def test_a_dropped_chunk_fails() -> None:
    fails("SignatureDoesNotMatch", ChunkedDecoder(plain_doc()), [DOC_CHUNK_1 + DOC_LAST])


# --- signed bodies: seed signed by awscrt, chunks by the published algorithm --------------


def crt_seed(payload: str, headers: list[tuple[str, str]], when: datetime) -> Headers:
    """A request signed by awscrt (AWS's own C signer) with a streaming payload value."""
    request = crt_http.HttpRequest("PUT", "/bucket/k%20y", crt_http.HttpHeaders(headers))
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4,
        signature_type=crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=crt_auth.AwsCredentialsProvider.new_static(AK, SK),
        region=REGION,
        service="s3",
        date=when,
        signed_body_value=payload,
        signed_body_header_type=crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
    )
    signed = crt_auth.aws_sign_request(request, config).result()
    return [(n.encode(), v.encode()) for n, v in signed.headers]


def chain(v: Verified, chunks: list[bytes], trailers: list[tuple[str, str]] | None) -> bytes:
    """An aws-chunked body signed as AWS documents it (checked above on AWS's own example)."""

    def sign(sts: str) -> str:
        return hmac.new(v.signing_key, sts.encode(), hashlib.sha256).hexdigest()

    previous, out = v.signature, []
    for chunk in [*chunks, b""]:
        previous = sign(
            f"AWS4-HMAC-SHA256-PAYLOAD\n{v.amz_date}\n{v.scope}\n{previous}\n{EMPTY_SHA256}\n"
            f"{hashlib.sha256(chunk).hexdigest()}"
        )
        out.append(b"%x;chunk-signature=%s\r\n%s" % (len(chunk), previous.encode(), chunk))
        if chunk or trailers is None:
            out.append(b"\r\n")
    if trailers is not None:
        canonical = "".join(f"{k}:{val}\n" for k, val in trailers)
        signature = sign(
            f"AWS4-HMAC-SHA256-TRAILER\n{v.amz_date}\n{v.scope}\n{previous}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        out.extend(f"{k}:{val}\r\n".encode() for k, val in trailers)
        out.append(f"x-amz-trailer-signature:{signature}\r\n\r\n".encode())
    return b"".join(out)


def signed_request(payload: str, size: int, trailer: str | None = None) -> Verified:
    when = now().replace(microsecond=0)
    headers = [
        ("host", "gw.example:9000"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", str(size)),
    ]
    if trailer:
        headers.append(("x-amz-trailer", trailer))
    wire = crt_seed(payload, headers, when)
    return verify(
        "PUT", b"/bucket/k%20y", b"", wire, secret_for=SECRETS.get, region=REGION, now=now()
    )


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@SPLITS
@given(st.binary(max_size=5000), st.integers(1, 3000), cuts)
def test_signed_chunks_decode_in_any_split(data: bytes, size: int, points: list[int]) -> None:
    v = signed_request(STREAMING_SIGNED, len(data))
    body = chain(v, chunks_of(data, size), None)
    assert decode(ChunkedDecoder(v, len(data)), split(body, points)) == (data, {})


@SPLITS
@given(st.binary(max_size=5000), st.integers(1, 3000), cuts, st.sampled_from(["crc32", "sha256"]))
def test_signed_chunks_with_a_signed_trailer_decode_in_any_split(
    data: bytes, size: int, points: list[int], algorithm: str
) -> None:
    name = f"x-amz-checksum-{algorithm}"
    v = signed_request(STREAMING_SIGNED_TRAILER, len(data), name)
    checksum = new(algorithm)
    checksum.update(data)
    body = chain(v, chunks_of(data, size), [(name, checksum.b64())])
    decoder = ChunkedDecoder(v, len(data), declared_trailers=[name])
    assert decode(decoder, split(body, points)) == (data, {name: checksum.b64()})


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.integers(1, 1000), st.data())
def test_any_corrupted_signed_byte_fails(data: bytes, size: int, draw: st.DataObject) -> None:
    v = signed_request(STREAMING_SIGNED, len(data))
    body = bytearray(chain(v, chunks_of(data, size), None))
    at = draw.draw(st.integers(0, len(body) - 1))
    body[at] ^= draw.draw(st.integers(1, 255))
    with pytest.raises(AuthError) as info:
        decode(ChunkedDecoder(v, len(data)), [bytes(body)])
    assert info.value.code in {"SignatureDoesNotMatch", "InvalidRequest", "IncompleteBody"}


def test_a_chunk_without_a_signature_fails() -> None:
    v = signed_request(STREAMING_SIGNED, 3)
    fails("SignatureDoesNotMatch", ChunkedDecoder(v, 3), [b"3\r\nabc\r\n0\r\n\r\n"])


def test_a_signed_chunk_too_big_to_hold_is_refused() -> None:
    v = signed_request(STREAMING_SIGNED, 100)
    decoder = ChunkedDecoder(v, 100, max_signed_chunk=64)
    fails("InvalidRequest", decoder, [chain(v, [b"x" * 100], None)])


# --- unsigned trailers: botocore's encoder and boto3's real requests ----------------------


@SPLITS
@given(st.binary(max_size=20000), st.integers(1, 9000), cuts)
def test_botocores_unsigned_trailer_bodies_decode_in_any_split(
    data: bytes, size: int, points: list[int]
) -> None:
    wrapper = httpchecksum.AwsChunkedWrapper(
        io.BytesIO(data), httpchecksum.Crc32Checksum, "x-amz-checksum-crc32", chunk_size=size
    )
    body = wrapper.read()
    expected = new("crc32")
    expected.update(data)
    decoder = ChunkedDecoder.unsigned(len(data), declared_trailers=["x-amz-checksum-crc32"])
    assert decode(decoder, split(body, points)) == (data, {"x-amz-checksum-crc32": expected.b64()})


def test_unsigned_chunks_pass_straight_through() -> None:
    decoder = ChunkedDecoder.unsigned(1 << 20)
    assert decoder.feed(b"100000\r\n") == []
    for _ in range(16):
        assert decoder.feed(b"z" * 65536) == [b"z" * 65536]  # nothing held back
    decoder.feed(b"\r\n0\r\n\r\n")
    assert decoder.finish() == {} and decoder.decoded == 1 << 20


def test_boto3_put_over_https_decodes() -> None:
    data = bytes(range(256)) * 1000
    request = capture(
        "https://gw.example:9000",
        lambda c: c.put_object(Bucket="bucket", Key='&+-é"/x', Body=data),
    )
    parts = urlsplit(request.url)
    headers = [
        (n.encode(), v if isinstance(v, bytes) else v.encode()) for n, v in request.headers.items()
    ]
    v = verify(
        "PUT",
        parts.path.encode(),
        parts.query.encode(),
        headers,
        secret_for=SECRETS.get,
        region=REGION,
        now=now(),
    )
    assert v.payload == STREAMING_UNSIGNED_TRAILER
    body = request.body.read()
    decoder = ChunkedDecoder(
        v,
        int(request.headers["X-Amz-Decoded-Content-Length"]),
        declared_trailers=[request.headers["X-Amz-Trailer"].decode()],
    )
    payload, trailers = decode(decoder, split(body, [7, 100, 5000]))
    expected = new("crc32")
    expected.update(data)
    assert payload == data and trailers == {"x-amz-checksum-crc32": expected.b64()}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"zz\r\nabc\r\n0\r\n\r\n", "InvalidRequest"),  # not hex
        (b"3\nabc\r\n0\r\n\r\n", "InvalidRequest"),  # LF without CR
        (b"3\r\nabcd\r\n0\r\n\r\n", "InvalidRequest"),  # data longer than its size
        (b"3\r\nab", "IncompleteBody"),
        (b"3\r\nabc\r\n", "IncompleteBody"),
        (b"3\r\nabc\r\n0\r\n", "IncompleteBody"),
        (b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n", "IncompleteBody"),
        (b"3\r\nabc\r\n0\r\nno colon\r\n\r\n", "InvalidRequest"),
        (b"3\r\nabc\r\n0\r\na:1\r\na:2\r\n\r\n", "InvalidRequest"),  # a trailer twice
        (b"1" * 5000, "InvalidRequest"),  # a header line that never ends
    ],
)
def test_malformed_unsigned_bodies_fail(body: bytes, code: str) -> None:
    fails(code, ChunkedDecoder.unsigned(3), [body])


def test_a_declared_trailer_must_arrive_and_nothing_else() -> None:
    fails(
        "IncompleteBody",
        ChunkedDecoder.unsigned(3, declared_trailers=["x-amz-checksum-crc32"]),
        [b"3\r\nabc\r\n0\r\n\r\n"],
    )
    fails(
        "InvalidRequest",
        ChunkedDecoder.unsigned(3, declared_trailers=[]),
        [b"3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"],
    )


def test_a_crlf_before_the_trailers_is_accepted() -> None:
    body = b"3\r\nabc\r\n0\r\n\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"
    assert decode(ChunkedDecoder.unsigned(3), [body]) == (
        b"abc",
        {"x-amz-checksum-crc32": "NSRBwg=="},
    )


def test_a_decoder_needs_a_streaming_payload() -> None:
    v = signed_request(STREAMING_SIGNED, 0)
    with pytest.raises(ValueError):
        ChunkedDecoder(Verified(**{**v.__dict__, "payload": EMPTY_SHA256}))
    assert decode(ChunkedDecoder(v, 0), [chain(v, [], None)]) == (b"", {})


def test_a_decoder_for_a_request_reads_its_length_and_declared_trailers() -> None:
    v = trailer_doc()
    headers = [
        (b"x-amz-decoded-content-length", b"66560"),
        (b"x-amz-trailer", b"x-amz-checksum-crc32c"),
    ]
    decoder = ChunkedDecoder.for_request(v, headers)
    assert decode(decoder, [DOC_TRAILER_CHUNKS])[1] == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    # The declared trailer is enforced: declaring another one fails.
    other = [
        (b"x-amz-decoded-content-length", b"66560"),
        (b"x-amz-trailer", b"x-amz-checksum-sha1"),
    ]
    fails("IncompleteBody", ChunkedDecoder.for_request(v, other), [DOC_TRAILER_CHUNKS])
    fails("IncompleteBody", ChunkedDecoder.for_request(v, headers), [DOC_TRAILER_CHUNKS[:-2]])


def test_a_decoder_for_a_request_needs_its_decoded_length() -> None:
    for headers, code in (
        ([], "MissingContentLength"),
        ([(b"x-amz-decoded-content-length", b"-1")], "InvalidArgument"),
    ):
        with pytest.raises(AuthError) as info:
            ChunkedDecoder.for_request(plain_doc(), headers)
        assert info.value.code == code


def test_a_date_header_without_x_amz_date_dates_the_request() -> None:
    headers = [
        (b"Host", HOST),
        (b"Range", b"bytes=0-9"),
        (b"x-amz-content-sha256", EMPTY_SHA256.encode()),
        (b"Date", b"Fri, 24 May 2013 00:00:00 GMT"),
    ]
    # botocore always sends X-Amz-Date: sign this one by hand, as AWS documents it.
    signed = "date;host;range;x-amz-content-sha256"
    canonical_request = (
        f"GET\n/test.txt\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:{HOST.decode()}\n"
        f"range:bytes=0-9\nx-amz-content-sha256:{EMPTY_SHA256}\n\n{signed}\n{EMPTY_SHA256}"
    )
    sts = (
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        + hashlib.sha256(canonical_request.encode()).hexdigest()
    )
    signature = hmac.new(signing_key(SK, "20130524", REGION), sts.encode(), hashlib.sha256)
    headers.append(auth(signed, signature.hexdigest()))
    assert check("GET", b"/test.txt", b"", headers).amz_date == "20130524T000000Z"
    refused(
        "RequestTimeTooSkewed", "GET", b"/test.txt", b"", headers, now=DOC_TIME + timedelta(hours=1)
    )


# --- a second signer: awscrt, AWS's C implementation --------------------------------------


def crt_signed(
    method: str, target: str, headers: list[tuple[str, str]], presign: bool, body_hash: str
) -> tuple[bytes, bytes, Headers]:
    request = crt_http.HttpRequest(method, target, crt_http.HttpHeaders(headers))
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4,
        signature_type=(
            crt_auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
            if presign
            else crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS
        ),
        credentials_provider=crt_auth.AwsCredentialsProvider.new_static(AK, SK),
        region=REGION,
        service="s3",
        signed_body_value=UNSIGNED_PAYLOAD if presign else body_hash,
        signed_body_header_type=(
            crt_auth.AwsSignedBodyHeaderType.NONE
            if presign
            else crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
        ),
        expiration_in_seconds=600 if presign else None,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
    )
    signed = crt_auth.aws_sign_request(request, config).result()
    path, _, query = signed.path.partition("?")
    return (
        path.encode("ascii"),
        query.encode("ascii"),
        [(n.encode(), v.encode()) for n, v in signed.headers],
    )


@DIFF
@given(
    methods,
    keys,
    st.lists(st.tuples(param_names, param_values), max_size=3),
    metas,
    st.binary(max_size=32),
    st.booleans(),
)
def test_what_awscrt_signs_we_verify(
    method: str,
    key: str,
    params: list[tuple[str, str]],
    meta: dict[str, str],
    body: bytes,
    presign: bool,
) -> None:
    query = query_of(params)
    target = path_of(key) + ("?" + query if query else "")
    headers = [("host", NETLOC.decode()), *meta.items()]
    digest = hashlib.sha256(body).hexdigest()
    path, raw_query, wire_headers = crt_signed(method, target, headers, presign, digest)
    v = verify(
        method, path, raw_query, wire_headers, secret_for=SECRETS.get, region=REGION, now=now()
    )
    assert v.presigned == presign
    assert v.payload == (UNSIGNED_PAYLOAD if presign else digest)
    with pytest.raises(AuthError) as info:
        verify(
            method,
            path + b"x",
            raw_query,
            wire_headers,
            secret_for=SECRETS.get,
            region=REGION,
            now=now(),
        )
    assert info.value.code == "SignatureDoesNotMatch"


def test_a_failed_decoder_stays_failed() -> None:
    decoder = ChunkedDecoder(plain_doc(), 66560)
    with pytest.raises(AuthError):
        decoder.feed(DOC_CHUNK_2)
    for call in (lambda: decoder.feed(DOC_CHUNK_1), decoder.finish):
        with pytest.raises(AuthError) as info:
            call()
        assert info.value.code == "SignatureDoesNotMatch"
