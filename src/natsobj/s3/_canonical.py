"""The canonical form of a request that SigV4 signs: headers, query and path as S3 encodes
them, and the HMAC and constant-time comparison the signatures use (pure functions)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote, unquote_to_bytes


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
