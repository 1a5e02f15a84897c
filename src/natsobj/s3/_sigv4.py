"""SigV4 verification for the S3 gateway, sans-I/O: plain bytes of a request in, a `Verified`
out (or an `AuthError` carrying the S3 error code), plus `ChunkedDecoder` for aws-chunked bodies.

What is checked, as S3 does it: header auth (`Authorization: AWS4-HMAC-SHA256 ...`) and
presigned URLs (`X-Amz-Algorithm=...`), the credential scope (region, service `s3`), clock skew
(15 minutes) and presign expiry (1 s to 7 days), that every `x-amz-*` header is signed, and the
signature itself with a constant-time comparison. The body is not read here: `Verified.payload`
says what it must match (a hex SHA-256 the caller checks while streaming, UNSIGNED-PAYLOAD, or
one of the aws-chunked variants, which `ChunkedDecoder` decodes and verifies chunk by chunk).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

__all__ = [
    "EMPTY_SHA256",
    "MAX_EXPIRES",
    "MAX_SKEW",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "STREAMING_UNSIGNED_TRAILER",
    "UNSIGNED_PAYLOAD",
    "AuthError",
    "ChunkedDecoder",
    "Verified",
    "signing_key",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
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
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


class AuthError(Exception):
    """A request S3 would refuse; `.code` is the S3 error code, `.message` says what was wrong."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


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


def _hmac_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- parsing the request -------------------------------------------------------------------


def _header_map(headers: Sequence[tuple[bytes, bytes]]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for name, value in headers:
        out.setdefault(name.decode("latin-1").strip().lower(), []).append(value)
    return out


def _one(hmap: dict[str, list[bytes]], name: str) -> str | None:
    values = hmap.get(name)
    if not values:
        return None
    return b",".join(v.strip() for v in values).decode("latin-1")


def _query_pairs(raw_query: bytes) -> list[tuple[bytes, bytes]]:
    """The raw (still percent-encoded) key and value of each query parameter, in order."""
    pairs = []
    for part in raw_query.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            pairs.append((key, value))
    return pairs


def _decoded(raw: bytes) -> str:
    # `+` stays a literal plus, as S3 reads keys and parameters (SigV4 encodes a space as %20).
    return unquote_to_bytes(raw).decode("utf-8", "surrogateescape")


def _uri_encode(raw: bytes, safe: str) -> bytes:
    return quote(unquote_to_bytes(raw), safe=safe).encode("ascii")


def _canonical_uris(raw_path: bytes) -> list[bytes]:
    """The canonical URI S3 computes (decode once, re-encode; no normalisation, no double
    encoding), then the path as sent if that differs (a client that signed its own, differently
    but validly escaped path, e.g. lowercase hex or a literal `+`): both decode to the same key."""
    path = raw_path or b"/"
    canonical = _uri_encode(path, safe="/~")
    return [canonical] if canonical == path else [canonical, path]


def _canonical_queries(pairs: list[tuple[bytes, bytes]], *, drop: bytes | None) -> list[bytes]:
    kept = [(k, v) for k, v in pairs if drop is None or unquote_to_bytes(k) != drop]
    encoded = sorted((_uri_encode(k, "-_.~"), _uri_encode(v, "-_.~")) for k, v in kept)
    canonical = b"&".join(k + b"=" + v for k, v in encoded)
    as_sent = b"&".join(k + b"=" + v for k, v in sorted(kept))  # botocore signs the URL's own
    return [canonical] if canonical == as_sent else [canonical, as_sent]


def _canonical_headers(hmap: dict[str, list[bytes]], signed: Sequence[str]) -> bytes:
    lines = []
    for name in signed:
        values = b",".join(b" ".join(v.split()) for v in hmap.get(name, []))
        lines.append(name.encode("latin-1") + b":" + values + b"\n")
    return b"".join(lines)


def _parse_amz_date(value: str) -> datetime | None:
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, _AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc)
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
        raise AuthError(
            code,
            f"the credential {value!r} is malformed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"',
        )
    access_key, date, cred_region, service, _ = parts
    if not re.fullmatch(r"\d{8}", date):
        raise AuthError(code, f"the credential date {date!r} is not a YYYYMMDD date")
    if cred_region != region:
        raise AuthError(code, f"the region {cred_region!r} is wrong; expecting {region!r}")
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


def _check_all_amz_signed(hmap: dict[str, list[bytes]], signed: Collection[str]) -> None:
    unsigned = sorted(n for n in hmap if n.startswith("x-amz-") and n not in signed)
    if unsigned:
        raise AuthError(
            "AccessDenied",
            "There were headers present in the request which were not signed: "
            + ", ".join(unsigned),
        )


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
    authorization = _one(hmap, "authorization")
    presign = "X-Amz-Algorithm" in query_keys or "X-Amz-Signature" in query_keys
    if "AWSAccessKeyId" in query_keys or (authorization or "").startswith("AWS "):
        raise AuthError("InvalidRequest", "SigV2 is not supported, use SigV4 (AWS4-HMAC-SHA256)")
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
    _check_all_amz_signed(hmap, signed)
    secret = secret_for(credential.access_key)
    if secret is None:
        raise AuthError(
            "InvalidAccessKeyId",
            f"The AWS Access Key Id {credential.access_key!r} does not exist in our records",
        )
    key = signing_key(secret, credential.date, region)
    _check_signature(
        method,
        _canonical_uris(raw_path),
        _canonical_queries(pairs, drop=None),
        _canonical_headers(hmap, signed),
        signed_value,
        content_sha256,
        amz_date,
        credential.scope,
        key,
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
    params: dict[str, str] = {}
    for raw_key, raw_value in pairs:
        key = _decoded(raw_key)
        if key in _PRESIGN_PARAMS:
            if key in params:
                raise AuthError(code, f"the query parameter {key} is given twice")
            params[key] = _decoded(raw_value)
    if any(name not in params for name in _PRESIGN_PARAMS):
        raise AuthError(
            code,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters.",
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthError(code, f"X-Amz-Algorithm only supports {ALGORITHM!r}")
    credential = _parse_credential(params["X-Amz-Credential"], code, region)
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
    if not expires_value.isascii() or not expires_value.isdigit():
        raise AuthError(code, f"X-Amz-Expires {expires_value!r} must be a number of seconds")
    expires = int(expires_value)
    if expires < 1:
        raise AuthError(code, "X-Amz-Expires must be at least 1 second")
    if expires > MAX_EXPIRES:
        raise AuthError(
            code,
            f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_EXPIRES}",
        )
    if when - now > MAX_SKEW:
        raise AuthError("AccessDenied", "Request is not valid yet (X-Amz-Date is in the future)")
    expiry = when + timedelta(seconds=expires)
    if now > expiry:
        raise AuthError("AccessDenied", "Request has expired")
    signed = _parse_signed_headers(params["X-Amz-SignedHeaders"], code)
    _check_all_amz_signed(hmap, signed)
    content_sha256 = _one(hmap, "x-amz-content-sha256")
    payload = UNSIGNED_PAYLOAD if content_sha256 is None else _payload_value(content_sha256)
    if payload in _STREAMING:
        raise AuthError("InvalidRequest", "aws-chunked uploads cannot use a presigned URL")
    secret = secret_for(credential.access_key)
    if secret is None:
        raise AuthError(
            "InvalidAccessKeyId",
            f"The AWS Access Key Id {credential.access_key!r} does not exist in our records",
        )
    key = signing_key(secret, credential.date, region)
    signature = params["X-Amz-Signature"]
    _check_signature(
        method,
        _canonical_uris(raw_path),
        _canonical_queries(pairs, drop=b"X-Amz-Signature"),
        _canonical_headers(hmap, signed),
        params["X-Amz-SignedHeaders"],
        UNSIGNED_PAYLOAD if content_sha256 is None else content_sha256,
        amz_date,
        credential.scope,
        key,
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


def _check_signature(
    method: str,
    uris: list[bytes],
    queries: list[bytes],
    canonical_headers: bytes,
    signed_headers: str,
    payload_hash: str,
    amz_date: str,
    scope: str,
    key: bytes,
    signature: str,
) -> None:
    tail = b"\n" + canonical_headers + b"\n" + signed_headers.encode() + b"\n"
    tail += payload_hash.encode("latin-1")
    head = f"{ALGORITHM}\n{amz_date}\n{scope}\n".encode()
    ok = False
    for uri in uris:
        for query in queries:
            request = method.upper().encode() + b"\n" + uri + b"\n" + query + tail
            expected = _hmac_hex(key, head + hashlib.sha256(request).hexdigest().encode())
            ok |= _same(expected, signature)
    if not ok:
        raise AuthError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )


# --- aws-chunked bodies --------------------------------------------------------------------

_LINE_LIMIT = 4096  # a chunk header is ~90 bytes; S3 allows extensions, not kilobytes of them
_TRAILER_LIMIT = 16384
_DEFAULT_MAX_SIGNED_CHUNK = 16 * 1024 * 1024

# Decoder states. After the last (empty) chunk of a trailer variant: _AFTER_LAST; a CRLF there
# may end the body or precede the trailers (encoders differ): _MAYBE_DONE.
_HEADER, _DATA, _DATA_END, _AFTER_LAST, _MAYBE_DONE, _TRAILERS, _DONE = range(7)


def _chunk_sts(verified: Verified, previous: str, chunk_sha256: str) -> bytes:
    return (
        f"AWS4-HMAC-SHA256-PAYLOAD\n{verified.amz_date}\n{verified.scope}\n{previous}\n"
        f"{EMPTY_SHA256}\n{chunk_sha256}"
    ).encode()


class ChunkedDecoder:
    """Decodes (and for the signed variants verifies) an aws-chunked body, sans-I/O.

    `feed(data)` returns the payload pieces decoded so far; `finish()` checks the body ended
    where it should and returns the trailers (e.g. {"x-amz-checksum-crc32": "..."}). Unsigned
    chunk data passes straight through; a signed chunk is held (as the pieces it came in, not
    copied) until its signature checks out, so nothing unverified is ever returned. Errors are
    `AuthError`s: SignatureDoesNotMatch for a bad chunk or trailer signature, IncompleteBody for
    a body that ends early or is shorter than `decoded_length`, InvalidRequest for bad framing.
    """

    def __init__(
        self,
        verified: Verified | None,
        decoded_length: int | None = None,
        *,
        declared_trailers: Collection[str] | None = None,
        max_signed_chunk: int = _DEFAULT_MAX_SIGNED_CHUNK,
    ) -> None:
        """`verified` is the request's `Verified` (its payload must be a STREAMING_* value),
        or None for an unsigned-trailer body (use `ChunkedDecoder.unsigned()`).
        `decoded_length` is x-amz-decoded-content-length. `declared_trailers` are the names
        in x-amz-trailer: when given, exactly those trailers must arrive."""
        mode = STREAMING_UNSIGNED_TRAILER if verified is None else verified.payload
        if mode not in _STREAMING:
            raise ValueError(f"payload {mode!r} is not aws-chunked")
        self._verified = verified
        self._signed = mode != STREAMING_UNSIGNED_TRAILER
        self._trailer = mode != STREAMING_SIGNED
        self._previous = verified.signature if verified is not None else ""
        self._decoded_length = decoded_length
        self._declared = (
            None if declared_trailers is None else {n.strip().lower() for n in declared_trailers}
        )
        self._max_signed_chunk = max_signed_chunk
        self._state = _HEADER
        self._buffer = b""
        self._remaining = 0  # bytes of the current chunk's data still to come
        self._chunk_signature = ""
        self._held: list[bytes] = []
        self._last = False
        self._hash = hashlib.sha256()
        self._total = 0
        self._chunks = 0
        self._trailer_lines: list[tuple[str, str]] = []
        self._trailer_bytes = 0
        self._trailer_signature: str | None = None
        self._error: AuthError | None = None  # once broken, a decoder stays broken

    @classmethod
    def unsigned(
        cls, decoded_length: int | None = None, *, declared_trailers: Collection[str] | None = None
    ) -> ChunkedDecoder:
        """A decoder for a STREAMING-UNSIGNED-PAYLOAD-TRAILER body."""
        return cls(None, decoded_length, declared_trailers=declared_trailers)

    @classmethod
    def for_request(
        cls, verified: Verified, headers: Sequence[tuple[bytes, bytes]]
    ) -> ChunkedDecoder:
        """The decoder of a verified aws-chunked request, with its x-amz-decoded-content-length
        (required, as S3 requires it) and, for the trailer variants, its x-amz-trailer."""
        hmap = _header_map(headers)
        length = _one(hmap, "x-amz-decoded-content-length")
        if length is None:
            raise AuthError(
                "MissingContentLength",
                "an aws-chunked upload must send x-amz-decoded-content-length",
            )
        if not length.isascii() or not length.isdigit():
            raise AuthError(
                "InvalidArgument", f"x-amz-decoded-content-length {length!r} is not a number"
            )
        declared: list[str] | None = None
        if verified.payload != STREAMING_SIGNED:
            trailer = _one(hmap, "x-amz-trailer") or ""
            declared = [t.strip() for t in trailer.split(",") if t.strip()]
        return cls(verified, int(length), declared_trailers=declared)

    @property
    def decoded(self) -> int:
        """Payload bytes decoded so far."""
        return self._total

    def feed(self, data: bytes) -> list[bytes]:
        """Take the next bytes of the body; return the payload pieces now known to be good."""
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except AuthError as error:
            self._error = error
            raise

    def finish(self) -> dict[str, str]:
        """The body ended: check it was complete and return its trailers."""
        if self._error is not None:
            raise self._error
        try:
            return self._finish()
        except AuthError as error:
            self._error = error
            raise

    # --- internals -------------------------------------------------------------------------

    def _feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = data if take == end else bytes(view[pos : pos + take])
                pos += take
                self._remaining -= take
                self._count(take)
                if self._signed:
                    self._hash.update(piece)
                    self._held.append(piece)
                else:
                    out.append(piece)
                if self._remaining == 0:
                    self._state = _DATA_END
            elif state == _DONE:
                raise AuthError("InvalidRequest", "data after the end of the aws-chunked body")
            else:
                newline = data.find(b"\n", pos)
                if newline < 0:
                    self._buffer += data[pos:]
                    pos = end
                    self._check_line_length()
                    continue
                line = self._buffer + data[pos : newline + 1]
                self._buffer = b""
                pos = newline + 1
                self._line(line, out)
        self._check_line_length()
        return out

    def _finish(self) -> dict[str, str]:
        if self._state == _MAYBE_DONE and not self._buffer:
            self._state = _DONE
        if self._state != _DONE:
            raise AuthError(
                "IncompleteBody",
                "The aws-chunked body ended early (after "
                f"{self._total} decoded bytes, in the middle of "
                f"{'a chunk' if self._state in (_DATA, _DATA_END) else 'the framing'})",
            )
        if self._decoded_length is not None and self._total != self._decoded_length:
            raise AuthError(
                "IncompleteBody",
                f"The body decoded to {self._total} bytes, but x-amz-decoded-content-length "
                f"is {self._decoded_length}",
            )
        trailers = dict(self._trailer_lines)
        if self._signed and self._trailer:
            self._check_trailer_signature()
        if self._declared is not None:
            missing = sorted(self._declared - trailers.keys())
            extra = sorted(trailers.keys() - self._declared)
            if missing:
                raise AuthError(
                    "IncompleteBody",
                    f"x-amz-trailer declares {', '.join(missing)}, but the body did not send it",
                )
            if extra:
                raise AuthError(
                    "InvalidRequest",
                    f"the body sent trailers not declared in x-amz-trailer: {', '.join(extra)}",
                )
        return trailers

    def _check_line_length(self) -> None:
        limit = _LINE_LIMIT if self._state in (_HEADER, _DATA_END) else _TRAILER_LIMIT
        if len(self._buffer) > limit:
            raise AuthError("InvalidRequest", "an aws-chunked header or trailer line is too long")

    def _count(self, n: int) -> None:
        self._total += n
        if self._decoded_length is not None and self._total > self._decoded_length:
            raise AuthError(
                "InvalidRequest",
                f"The body is longer than x-amz-decoded-content-length ({self._decoded_length})",
            )

    def _line(self, line: bytes, out: list[bytes]) -> None:
        if not line.endswith(b"\r\n"):
            raise AuthError("InvalidRequest", "aws-chunked lines must end with CRLF")
        line = line[:-2]
        if self._state == _HEADER:
            self._chunk_header(line)
        elif self._state == _DATA_END:
            if line:
                raise AuthError("InvalidRequest", "a chunk's data is longer than its size")
            self._end_chunk(out)
        else:
            self._trailer_line(line)

    def _chunk_header(self, line: bytes) -> None:
        size_text, _, extensions = line.partition(b";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > 16 or not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
            raise AuthError("InvalidRequest", f"bad aws-chunked chunk size {size_text[:32]!r}")
        size = int(size_text, 16)
        self._chunks += 1
        signature = ""
        for extension in extensions.split(b";") if extensions else ():
            name, _, value = extension.partition(b"=")
            if name.strip() == b"chunk-signature":
                signature = value.strip().decode("latin-1")
        if self._signed:
            if not signature:
                raise AuthError(
                    "SignatureDoesNotMatch", f"chunk {self._chunks} has no chunk-signature"
                )
            if size > self._max_signed_chunk:
                raise AuthError(
                    "InvalidRequest",
                    f"a signed chunk of {size} bytes is larger than the {self._max_signed_chunk} "
                    "this gateway accepts",
                )
        self._chunk_signature = signature
        self._hash = hashlib.sha256()
        self._held = []
        self._remaining = size
        self._last = size == 0
        if size == 0:
            if self._signed:
                self._verify_chunk()
            # The last chunk: a CRLF ends the body; with trailers, they follow (some encoders
            # put a CRLF before them, as if after empty chunk data; botocore does not).
            self._state = _AFTER_LAST if self._trailer else _DATA_END
        else:
            self._state = _DATA

    def _verify_chunk(self) -> None:
        assert self._verified is not None
        sts = _chunk_sts(self._verified, self._previous, self._hash.hexdigest())
        expected = _hmac_hex(self._verified.signing_key, sts)
        if not _same(expected, self._chunk_signature):
            raise AuthError(
                "SignatureDoesNotMatch",
                f"the signature of chunk {self._chunks} does not match its data",
            )
        self._previous = expected

    def _end_chunk(self, out: list[bytes]) -> None:
        if self._last:
            self._state = _DONE
            return
        if self._signed:
            self._verify_chunk()
            out.extend(self._held)
            self._held = []
        self._state = _HEADER

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > _TRAILER_LIMIT:
            raise AuthError("InvalidRequest", "the aws-chunked trailers are too long")
        if not line:
            # A CRLF right after the last chunk may be followed by trailers; anywhere else a
            # blank line ends them, and the body.
            self._state = _MAYBE_DONE if self._state == _AFTER_LAST else _DONE
            return
        self._state = _TRAILERS
        name, colon, value = line.partition(b":")
        if not colon:
            raise AuthError("InvalidRequest", f"bad aws-chunked trailer line {line[:64]!r}")
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        if key == "x-amz-trailer-signature":
            if self._trailer_signature is not None:
                raise AuthError("InvalidRequest", "x-amz-trailer-signature is sent twice")
            self._trailer_signature = text
        elif any(key == k for k, _ in self._trailer_lines):
            raise AuthError("InvalidRequest", f"the trailer {key} is sent twice")
        else:
            self._trailer_lines.append((key, text))

    def _check_trailer_signature(self) -> None:
        assert self._verified is not None
        if self._trailer_signature is None:
            raise AuthError("SignatureDoesNotMatch", "the body has no x-amz-trailer-signature")
        canonical = "".join(f"{k}:{v}\n" for k, v in self._trailer_lines).encode("latin-1")
        sts = (
            f"AWS4-HMAC-SHA256-TRAILER\n{self._verified.amz_date}\n{self._verified.scope}\n"
            f"{self._previous}\n{hashlib.sha256(canonical).hexdigest()}"
        ).encode()
        expected = _hmac_hex(self._verified.signing_key, sts)
        if not _same(expected, self._trailer_signature):
            raise AuthError(
                "SignatureDoesNotMatch", "the x-amz-trailer-signature does not match the trailers"
            )
