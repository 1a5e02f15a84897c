"""SigV4 verification: AWS's published examples, and requests signed by botocore (and boto3
itself) verified by ours, then mutated one byte at a time."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from natsobj.s3._sigv4 import (
    EMPTY_SHA256,
    STREAMING_SIGNED,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    AuthError,
    Verified,
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


@pytest.mark.parametrize("expires", [b"0", b"604801", b"-1", b"abc", b"1e3"])
def test_presign_expiry_must_be_1_second_to_7_days(expires: bytes) -> None:
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
    assert "x-amz-copy-source" in error.message


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
    error = refused("InvalidRequest", "GET", b"/test.txt", query, headers)
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
    from natsobj.s3._sigv4 import signing_key

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
    v = verify(method, path, query, headers, secret_for=SECRETS.get, region=REGION, now=now())
    assert v.presigned and v.payload == UNSIGNED_PAYLOAD


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
