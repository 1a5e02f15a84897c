"""S3's checksums for the gateway, sans-I/O: incremental hashers for CRC32, CRC32C, CRC64NVME,
SHA1, SHA256 and MD5, and the rules for reading which checksum a request asks to be verified
(`x-amz-checksum-*`, `x-amz-trailer`, `x-amz-sdk-checksum-algorithm`, `Content-MD5`).

Digests are what S3 puts in headers: the big-endian bytes of a CRC (4 or 8 of them), or the
hash's own digest, base64-encoded by `b64()`. Every `update()` releases the GIL on big buffers
(hashlib above 2 KiB, zlib and awscrt above 5 KiB), so a caller may hash in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Iterable
from typing import Protocol

from awscrt import checksums as _crt

__all__ = [
    "ALGORITHMS",
    "DEFAULT",
    "Checksum",
    "ChecksumError",
    "check",
    "content_md5",
    "digest_size",
    "header_name",
    "new",
    "requested",
]

# The algorithms S3 verifies in x-amz-checksum-<alg> headers and trailers, and their digest sizes.
_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
ALGORITHMS: tuple[str, ...] = tuple(_SIZES)
DEFAULT = "CRC64NVME"
"""What S3 computes and keeps for an object whose upload sent no checksum (FULL_OBJECT)."""
# x-amz-checksum-* headers that name no algorithm.
_NOT_ALGORITHMS = frozenset({"mode", "type", "algorithm"})


class ChecksumError(Exception):
    """A checksum header S3 would refuse; `.code` is the S3 error code (InvalidDigest,
    InvalidRequest, BadDigest), `.message` says what was wrong, `.fields` are extra elements
    of the error document (S3 echoes a malformed Content-MD5 in one)."""

    def __init__(self, code: str, message: str, **fields: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields


class Checksum(Protocol):
    """An incremental hasher: feed it with `update`, read it with `digest` or `b64`."""

    algorithm: str

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def digest(self) -> bytes: ...

    def b64(self) -> str: ...


class _Crc:
    __slots__ = ("_fn", "_size", "_value", "algorithm")

    def __init__(self, algorithm: str, fn: _CrcFn, size: int) -> None:
        self.algorithm = algorithm
        self._fn = fn
        self._size = size
        self._value = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")

    def __repr__(self) -> str:
        return f"<{self.algorithm} {self.b64()}>"


class _Hash:
    __slots__ = ("_hash", "algorithm")

    def __init__(self, algorithm: str, name: str) -> None:
        self.algorithm = algorithm
        # S3's checksums and ETags are integrity checks, not security: allow FIPS builds.
        self._hash = hashlib.new(name, usedforsecurity=False)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")

    def __repr__(self) -> str:
        return f"<{self.algorithm} {self.b64()}>"


class _CrcFn(Protocol):
    def __call__(self, data: bytes | bytearray | memoryview, previous: int, /) -> int: ...


def _crc32(data: bytes | bytearray | memoryview, previous: int) -> int:
    return zlib.crc32(data, previous)


def _crc32c(data: bytes | bytearray | memoryview, previous: int) -> int:
    return _crt.crc32c(data, previous)  # type: ignore[arg-type]


def _crc64nvme(data: bytes | bytearray | memoryview, previous: int) -> int:
    return _crt.crc64nvme(data, previous)  # type: ignore[arg-type]


def _normal(algorithm: str) -> str:
    return algorithm.strip().upper()


def new(algorithm: str) -> Checksum:
    """A fresh hasher for CRC32, CRC32C, CRC64NVME, SHA1, SHA256 or MD5 (any case)."""
    name = _normal(algorithm)
    if name == "CRC32":
        return _Crc(name, _crc32, 4)
    if name == "CRC32C":
        return _Crc(name, _crc32c, 4)
    if name == "CRC64NVME":
        return _Crc(name, _crc64nvme, 8)
    if name in ("SHA1", "SHA256", "MD5"):
        return _Hash(name, name.lower())
    raise ChecksumError(
        "InvalidRequest",
        f"Checksum algorithm {algorithm!r} is not supported: use one of {', '.join(ALGORITHMS)}",
    )


def digest_size(algorithm: str) -> int:
    """How many bytes a digest of this S3 checksum algorithm has."""
    return 16 if _normal(algorithm) == "MD5" else _SIZES[_normal(algorithm)]


def header_name(algorithm: str) -> str:
    """The header (or trailer) carrying an algorithm's checksum: x-amz-checksum-crc32, ..."""
    return f"x-amz-checksum-{_normal(algorithm).lower()}"


def _decode(value: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        if what == "Content-MD5":
            raise ChecksumError(
                "InvalidDigest", "The Content-MD5 you specified was invalid.", **{what: value}
            )
        # S3 refuses a malformed x-amz-checksum-* as an invalid request, not a digest
        raise ChecksumError("InvalidRequest", f"Value for {what} header is invalid.")
    return raw


def _headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("latin-1").strip().lower()
        text = value.decode("latin-1").strip()
        out[key] = f"{out[key]},{text}" if key in out else text
    return out


def requested(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str | None]:
    """Which S3 checksum a request asks to verify: {algorithm: expected base64}, with None
    when the value comes in the aws-chunked trailer (declared by x-amz-trailer). Empty when
    none is asked. One algorithm at most, as S3 allows; malformed values are InvalidRequest.
    """
    hmap = _headers(headers)
    found: dict[str, str | None] = {}
    for name, value in hmap.items():
        if not name.startswith("x-amz-checksum-"):
            continue
        suffix = name.removeprefix("x-amz-checksum-")
        if suffix in _NOT_ALGORITHMS:
            continue
        algorithm = _normal(suffix)
        if algorithm not in _SIZES:
            raise ChecksumError(
                "InvalidRequest",
                f"Checksum algorithm {algorithm} (header {name}) is not supported: use one of "
                f"{', '.join(ALGORITHMS)}",
            )
        _decode(value, _SIZES[algorithm], name)
        found[algorithm] = value
    for trailer in filter(
        None, (t.strip().lower() for t in hmap.get("x-amz-trailer", "").split(","))
    ):
        if not trailer.startswith("x-amz-checksum-"):
            continue  # another trailer, not ours to verify
        algorithm = _normal(trailer.removeprefix("x-amz-checksum-"))
        if algorithm not in _SIZES:
            raise ChecksumError(
                "InvalidRequest",
                f"Checksum algorithm {algorithm} (in x-amz-trailer) is not supported",
            )
        if algorithm in found:
            raise ChecksumError(
                "InvalidRequest", f"{trailer} is sent both as a header and as a trailer"
            )
        found[algorithm] = None
    if len(found) > 1:
        raise ChecksumError(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    sdk = hmap.get("x-amz-sdk-checksum-algorithm")
    if sdk is not None:
        algorithm = _normal(sdk)
        if algorithm not in _SIZES:
            raise ChecksumError(
                "InvalidRequest", f"x-amz-sdk-checksum-algorithm {sdk!r} is not supported"
            )
        if found and algorithm not in found:
            raise ChecksumError(
                "InvalidRequest",
                f"x-amz-sdk-checksum-algorithm is {algorithm}, but the checksum sent is "
                f"{next(iter(found))}",
            )
        if not found:
            raise ChecksumError(
                "InvalidRequest",
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                "or x-amz-trailer headers were found.",
            )
    return found


def content_md5(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """The 16 bytes of the request's Content-MD5, or None; a malformed one is InvalidDigest."""
    value = _headers(headers).get("content-md5")
    if value is None:
        return None
    return _decode(value, 16, "Content-MD5")


def check(checksum: Checksum, expected_b64: str) -> None:
    """Raise BadDigest unless the data hashed so far has the expected base64 digest."""
    what = "Content-MD5" if checksum.algorithm == "MD5" else header_name(checksum.algorithm)
    expected = _decode(expected_b64, len(checksum.digest()), what)
    if checksum.digest() != expected:
        raise ChecksumError(
            "BadDigest",
            f"The {checksum.algorithm} you specified did not match the calculated checksum "
            f"({expected_b64} sent, {checksum.b64()} computed)",
        )
