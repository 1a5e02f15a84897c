"""SigV4 verification for the S3 gateway, sans-I/O: plain bytes of a request in, a `Verified`
out (or an `AuthError` carrying the S3 error code); `_chunked` decodes aws-chunked bodies.

What is checked, as S3 does it: header auth (`Authorization: AWS4-HMAC-SHA256 ...`) and
presigned URLs (`X-Amz-Algorithm=...`), the credential scope (region, service `s3`), clock skew
(15 minutes) and presign expiry (1 s to 7 days), that every `x-amz-*` header is signed, and the
signature itself with a constant-time comparison. The body is not read here: `Verified.payload`
says what it must match (a hex SHA-256 the caller checks while streaming, UNSIGNED-PAYLOAD, or
one of the aws-chunked variants, which `_chunked.ChunkedDecoder` decodes and verifies chunk by
chunk).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

from ._canonical import (
    _canonical_headers,
    _canonical_queries,
    _canonical_uris,
    _decoded,
    _header_map,
    _one,
    _query_pairs,
)
from ._signature import (
    ALGORITHM,
    PRESIGN_IGNORED,
    AuthError,
    check_all_amz_signed,
    check_signature,
)

__all__ = [
    "EMPTY_SHA256",
    "MAX_EXPIRES",
    "MAX_SKEW",
    "PRESIGN_PARAMS",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "STREAMING_UNSIGNED_TRAILER",
    "UNSIGNED_PAYLOAD",
    "AuthError",
    "Verified",
    "signing_key",
    "verify",
]

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES = 604800  # seconds: presigned URLs live 7 days at most

_STREAMING = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# The query parameters of a presigned URL, in the order S3's own error message names them.
PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
"""The query parameters of a presigned URL that make its signature."""


@dataclass(frozen=True)
class Verified:
    """An authenticated request: who signed it, and what its body must match.

    `payload` is UNSIGNED_PAYLOAD, a lowercase hex SHA-256 the body must match (the caller
    checks it while streaming), or one of the STREAMING_* values: then the body is aws-chunked
    and goes through `ChunkedDecoder(verified, ...)`, which needs `signature` (the seed of the
    chunk chain), `signing_key`, `amz_date` and `scope`.
    """

    access_key: str
    presigned: bool
    payload: str
    signature: str
    signing_key: bytes = field(repr=False)
    amz_date: str
    scope: str
    signed_headers: tuple[str, ...]
    expires: datetime | None = None  # presigned URLs only: when the URL stops working

    @property
    def chunked(self) -> bool:
        """The body is aws-chunked (decode it with `ChunkedDecoder`)."""
        return self.payload in _STREAMING

    @property
    def payload_sha256(self) -> str | None:
        """The hex SHA-256 the body must match, or None when the payload is not signed so."""
        return self.payload if _HEX64.fullmatch(self.payload) else None


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The SigV4 signing key of a secret for one day (YYYYMMDD), region and service (cached)."""
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _parse_amz_date(value: str) -> datetime | None:
    """An x-amz-date (YYYYMMDDTHHMMSSZ, UTC); None if it is not one (strptime takes about
    three times as long)."""
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=timezone.utc,
        )  # fmt: skip
    except ValueError:
        return None


@dataclass(frozen=True)
class _Credential:
    access_key: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def _parse_credential(value: str, code: str, region: str) -> _Credential:
    parts = value.rsplit("/", 4)
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request":
        expecting = 'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'
        if code == "AuthorizationQueryParametersError":  # S3's words for a presigned URL
            raise AuthError(
                code,
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                f"{expecting}.",
            )
        raise AuthError(code, f"the credential {value!r} is malformed; {expecting}")
    access_key, date, cred_region, service, _ = parts
    if not re.fullmatch(r"\d{8}", date):
        raise AuthError(code, f"the credential date {date!r} is not a YYYYMMDD date")
    if cred_region != region:
        wrong = f"the region {cred_region!r} is wrong; expecting {region!r}"
        if code == "AuthorizationHeaderMalformed":  # as S3 words it, naming the region
            raise AuthError(code, f"The authorization header is malformed; {wrong}", Region=region)
        raise AuthError(code, wrong)
    if service != "s3":
        raise AuthError(code, f"the service {service!r} is wrong; expecting 's3'")
    return _Credential(access_key, date, cred_region, service)


def _parse_signed_headers(value: str, code: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or any(not n or n != n.strip().lower() for n in names):
        raise AuthError(code, f"SignedHeaders {value!r} must be lowercase names joined by ';'")
    if "host" not in names:
        raise AuthError(code, "SignedHeaders must include 'host'")
    return names


def _payload_value(value: str) -> str:
    if value in _STREAMING or value == UNSIGNED_PAYLOAD:
        return value
    if _HEX64.fullmatch(value):
        return value.lower()
    raise AuthError(
        "InvalidArgument",
        f"x-amz-content-sha256 {value!r} must be UNSIGNED-PAYLOAD, a STREAMING-* value "
        "(STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER) "
        "or a hex SHA-256",
    )


# --- verification --------------------------------------------------------------------------


def verify(
    method: str,
    raw_path: bytes,
    raw_query: bytes,
    headers: list[tuple[bytes, bytes]],
    *,
    secret_for: Callable[[str], str | None],
    region: str,
    now: datetime,
) -> Verified:
    """Authenticate one request by its SigV4 header or presigned query, or raise `AuthError`.

    `raw_path` and `raw_query` are exactly as received (percent-encoded, no `?`); `headers`
    as the server got them (names in any case, repeated names allowed); `secret_for` maps an
    access key to its secret (None: unknown key); `now` is an aware datetime. Anonymous
    requests are refused (AccessDenied).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    hmap = _header_map(headers)
    pairs = _query_pairs(raw_query)
    query_keys = {_decoded(k) for k, _ in pairs}
    authorization = _one(hmap, "authorization") or None  # an empty one is no signature
    presign = "X-Amz-Algorithm" in query_keys or "X-Amz-Signature" in query_keys
    if "AWSAccessKeyId" in query_keys or (authorization or "").startswith("AWS "):
        raise AuthError(
            "NotImplemented",
            "SigV2 is not supported, use SigV4 (AWS4-HMAC-SHA256); with boto3: "
            "Config(signature_version='s3v4')",
        )
    if authorization is not None and presign:
        raise AuthError(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
            "Authorization header should be specified",
        )
    if presign:
        return _verify_presigned(method, raw_path, pairs, hmap, secret_for, region, now)
    if authorization is not None:
        return _verify_header(method, raw_path, pairs, hmap, authorization, secret_for, region, now)
    raise AuthError("AccessDenied", "Anonymous access is refused: sign the request with SigV4")


def _parse_authorization(value: str) -> tuple[str, str, str]:
    code = "AuthorizationHeaderMalformed"
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError(
            "InvalidArgument" if algorithm.startswith("AWS4-") else "InvalidRequest",
            f"Unsupported Authorization Type {algorithm!r}: only {ALGORITHM} (SigV4) is supported",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, val = part.strip().partition("=")
        if not eq or name in fields:
            raise AuthError(code, f"the authorization header is malformed near {part.strip()!r}")
        fields[name] = val.strip()
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in fields]
    if missing or len(fields) != 3:
        raise AuthError(
            code,
            "the authorization header needs exactly Credential=, SignedHeaders= and Signature="
            + (f" (missing {', '.join(missing)})" if missing else ""),
        )
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def _request_time(hmap: dict[str, list[bytes]]) -> tuple[datetime, str]:
    amz_date = _one(hmap, "x-amz-date")
    if amz_date is not None:
        parsed = _parse_amz_date(amz_date)
        if parsed is not None:
            return parsed, amz_date  # fixed-width digits: already in the signed form
    else:
        date = _one(hmap, "date")
        parsed = None
        if date is not None:
            try:
                parsed = parsedate_to_datetime(date)
                # RFC 5322's "-0000" zone parses naive; HTTP dates are GMT.
                parsed = (
                    parsed.replace(tzinfo=timezone.utc)
                    if parsed.tzinfo is None
                    else parsed.astimezone(timezone.utc)
                )
            except (TypeError, ValueError):
                parsed = None
    if parsed is None:
        raise AuthError(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    return parsed, parsed.strftime(_AMZ_DATE_FORMAT)


def _verify_header(
    method: str,
    raw_path: bytes,
    pairs: list[tuple[bytes, bytes]],
    hmap: dict[str, list[bytes]],
    authorization: str,
    secret_for: Callable[[str], str | None],
    region: str,
    now: datetime,
) -> Verified:
    code = "AuthorizationHeaderMalformed"
    credential_value, signed_value, signature = _parse_authorization(authorization)
    credential = _parse_credential(credential_value, code, region)
    signed = _parse_signed_headers(signed_value, code)
    when, amz_date = _request_time(hmap)
    if credential.date != amz_date[:8]:
        raise AuthError(
            code,
            f"Invalid credential date {credential.date!r}: it is not the date of the request "
            f"({amz_date[:8]})",
        )
    if abs(now - when) > MAX_SKEW:
        raise AuthError(
            "RequestTimeTooSkewed",
            f"The difference between the request time ({amz_date}) and the server's time "
            f"({now.astimezone(timezone.utc).strftime(_AMZ_DATE_FORMAT)}) is too large "
            "(more than 15 minutes)",
        )
    content_sha256 = _one(hmap, "x-amz-content-sha256")
    if content_sha256 is None:
        raise AuthError(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    payload = _payload_value(content_sha256)
    check_all_amz_signed(hmap, signed)
    key = _key_of(credential, secret_for, region)
    check_signature(
        method,
        _canonical_uris(raw_path),
        _canonical_queries(pairs, drop=None),
        (_canonical_headers(hmap, signed), signed_value, content_sha256),
        amz_date,
        credential.scope,
        (credential.access_key, key),
        signature,
    )
    return Verified(
        access_key=credential.access_key,
        presigned=False,
        payload=payload,
        signature=signature,
        signing_key=key,
        amz_date=amz_date,
        scope=credential.scope,
        signed_headers=signed,
    )


def _verify_presigned(
    method: str,
    raw_path: bytes,
    pairs: list[tuple[bytes, bytes]],
    hmap: dict[str, list[bytes]],
    secret_for: Callable[[str], str | None],
    region: str,
    now: datetime,
) -> Verified:
    code = "AuthorizationQueryParametersError"
    params = _presign_params(pairs, code)
    credential = _parse_credential(params["X-Amz-Credential"], code, region)
    amz_date = params["X-Amz-Date"]
    expiry = _presign_expiry(params, credential, now, code)
    signed = _parse_signed_headers(params["X-Amz-SignedHeaders"], code)
    check_all_amz_signed(hmap, signed, ignored=PRESIGN_IGNORED)
    # an x-amz-content-sha256 the URL does not sign is ignored, as S3 ignores it
    content_sha256 = (
        _one(hmap, "x-amz-content-sha256") if "x-amz-content-sha256" in signed else None
    )
    payload = UNSIGNED_PAYLOAD if content_sha256 is None else _payload_value(content_sha256)
    if payload in _STREAMING:
        raise AuthError("InvalidRequest", "aws-chunked uploads cannot use a presigned URL")
    key = _key_of(credential, secret_for, region)
    signature = params["X-Amz-Signature"]
    check_signature(
        method,
        _canonical_uris(raw_path),
        _canonical_queries(pairs, drop=b"X-Amz-Signature"),
        (
            _canonical_headers(hmap, signed),
            params["X-Amz-SignedHeaders"],
            content_sha256 or UNSIGNED_PAYLOAD,
        ),
        amz_date,
        credential.scope,
        (credential.access_key, key),
        signature,
    )
    return Verified(
        access_key=credential.access_key,
        presigned=True,
        payload=payload,
        signature=signature,
        signing_key=key,
        amz_date=amz_date,
        scope=credential.scope,
        signed_headers=signed,
        expires=expiry,
    )


def _presign_params(pairs: list[tuple[bytes, bytes]], code: str) -> dict[str, str]:
    """The X-Amz-* parameters of a presigned URL, each given once, all present."""
    params: dict[str, str] = {}
    for raw_key, raw_value in pairs:
        key = _decoded(raw_key)
        if key in PRESIGN_PARAMS:
            if key in params:
                raise AuthError(code, f"the query parameter {key} is given twice")
            params[key] = _decoded(raw_value)
    if any(name not in params for name in PRESIGN_PARAMS):
        raise AuthError(
            code,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters.",
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthError(code, f"X-Amz-Algorithm only supports {ALGORITHM!r}")
    return params


def _presign_expiry(
    params: dict[str, str], credential: _Credential, now: datetime, code: str
) -> datetime:
    """When a presigned URL stops working; AccessDenied if it is not valid now."""
    amz_date = params["X-Amz-Date"]
    when = _parse_amz_date(amz_date)
    if when is None:
        raise AuthError(
            code, f"X-Amz-Date {amz_date!r} must be in the ISO8601 form YYYYMMDD'T'HHMMSS'Z'"
        )
    if credential.date != amz_date[:8]:
        raise AuthError(
            code,
            f"Invalid credential date {credential.date!r}: it is not the date of X-Amz-Date "
            f"({amz_date[:8]})",
        )
    expires_value = params["X-Amz-Expires"]
    digits = expires_value.removeprefix("-")
    if not digits.isascii() or not digits.isdigit():
        raise AuthError(code, f"X-Amz-Expires {expires_value!r} should be a number")
    expires = int(expires_value)
    if expires < 0:  # 0 is a valid value, as on AWS: a URL that has already expired (403)
        raise AuthError(code, "X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise AuthError(
            code,
            f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_EXPIRES}",
        )
    if when - now > MAX_SKEW:
        raise AuthError("AccessDenied", "Request is not valid yet (X-Amz-Date is in the future)")
    expiry = when + timedelta(seconds=expires)
    if now > expiry or expires == 0:
        raise AuthError(
            "AccessDenied",
            "Request has expired",
            **{"X-Amz-Expires": expires_value},
            Expires=expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ServerTime=now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    return expiry


def _key_of(credential: _Credential, secret_for: Callable[[str], str | None], region: str) -> bytes:
    """The signing key of the credential's access key; InvalidAccessKeyId if unknown."""
    secret = secret_for(credential.access_key)
    if secret is None:
        raise AuthError(
            "InvalidAccessKeyId",
            f"The AWS Access Key Id {credential.access_key!r} does not exist in our records",
        )
    return signing_key(secret, credential.date, region)
