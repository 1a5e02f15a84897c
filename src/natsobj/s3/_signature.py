"""The SigV4 signature check and the refusals S3 explains field by field, sans-I/O: `AuthError`
(an S3 error code, a message and the extra XML fields S3 adds, e.g. the StringToSign and
CanonicalRequest of a SignatureDoesNotMatch, so a client can see what the server signed)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from ._canonical import _hmac_hex, _same

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers a presigned URL may carry unsigned: S3 ignores them (the Go SDK adds
# x-amz-content-sha256 to requests it sends to presigned URLs).
PRESIGN_IGNORED = frozenset({"x-amz-content-sha256"})


class AuthError(Exception):
    """A request S3 would refuse; `.code` is the S3 error code, `.message` says what was wrong,
    `.fields` are the extra elements of S3's error document (HeadersNotSigned, X-Amz-Expires...)."""

    def __init__(self, code: str, message: str, **fields: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields


def check_all_amz_signed(
    hmap: dict[str, list[bytes]], signed: Collection[str], ignored: Collection[str] = ()
) -> None:
    """AccessDenied, naming them in HeadersNotSigned as S3 does, if an x-amz-* header the
    request carries is not among its signed headers."""
    unsigned = sorted(
        n for n in hmap if n.startswith("x-amz-") and n not in signed and n not in ignored
    )
    if unsigned:
        raise AuthError(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )


def _hex_bytes(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data)


def check_signature(
    method: str,
    uris: list[bytes],
    queries: list[bytes],
    tail: tuple[bytes, str, str],
    amz_date: str,
    scope: str,
    key: tuple[str, bytes],
    signature: str,
) -> None:
    """SignatureDoesNotMatch unless `signature` signs one of the request's canonical forms
    (each URI and query form S3 accepts); `tail` is (canonical headers, signed headers,
    payload hash) and `key` (access key, signing key). The error carries what S3's does: the
    access key, the signature given, and the string to sign and canonical request computed."""
    canonical_headers, signed_headers, payload_hash = tail
    tail_bytes = b"\n" + canonical_headers + b"\n" + signed_headers.encode() + b"\n"
    tail_bytes += payload_hash.encode("latin-1")
    head = f"{ALGORITHM}\n{amz_date}\n{scope}\n".encode()
    ok = False
    first: tuple[bytes, bytes] | None = None
    for uri in uris:
        for query in queries:
            request = method.upper().encode() + b"\n" + uri + b"\n" + query + tail_bytes
            to_sign = head + hashlib.sha256(request).hexdigest().encode()
            first = first or (request, to_sign)
            ok |= _same(_hmac_hex(key[1], to_sign), signature)
    if not ok and first is not None:
        request, to_sign = first
        raise AuthError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=key[0],
            StringToSign=to_sign.decode("latin-1"),
            SignatureProvided=signature,
            StringToSignBytes=_hex_bytes(to_sign),
            CanonicalRequest=request.decode("latin-1"),
            CanonicalRequestBytes=_hex_bytes(request),
        )
