"""SHA-256 digests as every client wrote them: 'SHA-256=' + base64url, and the tolerant reader."""

from __future__ import annotations

import base64
import binascii
import re

from .errors import (
    BadObjectMetaError,
)

DIGEST_PREFIX = "SHA-256="


# ---------------------------------------------------------------------------------------------
# digests


def format_digest(raw: bytes) -> str:
    """The canonical digest string: 'SHA-256=' + padded base64url."""
    return DIGEST_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def parse_digest(value: str | None) -> bytes | None:
    """The 32 raw bytes of a digest string, or None when there is none.

    Accepts what any client ever wrote: the prefix in either case, base64 in either alphabet
    with or without padding, or hex. Raises BadObjectMetaError for anything else.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadObjectMetaError(f"digest is not a string: {value!r}")
    if len(value) == 52 and value.startswith(DIGEST_PREFIX) and value.endswith("="):
        try:  # the canonical form, as nearly every writer since 2023 writes it
            raw = base64.urlsafe_b64decode(value[8:])
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == 32 and base64.urlsafe_b64encode(raw).decode() == value[8:]:
            return raw
    prefix, sep, body = value.partition("=")
    if not sep or prefix.upper() != "SHA-256":
        raise BadObjectMetaError(f"unknown digest type in {value!r}; expected 'SHA-256=...'")
    body = body.strip()
    if len(body) == 64 and re.fullmatch(r"[0-9a-f]{64}|[0-9A-F]{64}", body):
        return bytes.fromhex(body)
    cleaned = body.rstrip("=").replace("+", "-").replace("/", "_")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", cleaned):
        raise BadObjectMetaError(f"unable to parse digest {value!r}")
    try:
        raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadObjectMetaError(f"unable to parse digest {value!r}") from exc
    if len(raw) != 32:
        raise BadObjectMetaError(f"digest {value!r} is {len(raw)} bytes, expected 32")
    return raw


def digest_hex(value: str | None) -> str | None:
    """The digest as lowercase hex (as sha256sum prints it), or None."""
    raw = parse_digest(value)
    return raw.hex() if raw is not None else None
