"""S3's checksums of multipart uploads, sans-I/O: the algorithm and type an upload is created
with, what its parts and its Complete must carry, and the checksum of the completed object.

An upload's type is COMPOSITE (the checksum of the parts' checksums, shown with "-N") or
FULL_OBJECT (the CRC of the whole object, combined from the parts' CRCs). S3 computes
CRC64NVME, FULL_OBJECT, for an upload created without an algorithm.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from awscrt import checksums as _crt

from . import _checksums
from ._errors import S3Error

__all__ = [
    "COMPOSITE",
    "DEFAULT_ALGORITHM",
    "FULL_OBJECT",
    "UploadChecksum",
    "algorithm_named",
    "check_complete",
    "check_part",
    "check_whole",
    "combined",
    "created",
    "of_record",
    "shown",
]

COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"
TYPES = (COMPOSITE, FULL_OBJECT)
DEFAULT_ALGORITHM = _checksums.DEFAULT
"""What S3 computes for an upload created without an algorithm (FULL_OBJECT)."""
_CRCS = {
    "CRC32": _crt.combine_crc32,
    "CRC32C": _crt.combine_crc32c,
    "CRC64NVME": _crt.combine_crc64nvme,
}


@dataclass(frozen=True)
class UploadChecksum:
    """The checksum an upload was created with (both None: none asked)."""

    algorithm: str | None = None
    type: str | None = None

    @property
    def computed(self) -> str:
        """The algorithm of the completed object's checksum (S3's default if none asked)."""
        return self.algorithm or DEFAULT_ALGORITHM

    @property
    def computed_type(self) -> str:
        return self.type or FULL_OBJECT


def created(algorithm: str | None, checksum_type: str | None) -> UploadChecksum:
    """CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type, checked; the
    type defaults to COMPOSITE, FULL_OBJECT for CRC64NVME."""
    alg = algorithm.strip().upper() if algorithm else None
    kind = checksum_type.strip().upper() if checksum_type else None
    if alg is None:
        if kind is not None:
            raise S3Error(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
        return UploadChecksum()
    alg = algorithm_named(alg)
    if kind is not None and kind not in TYPES:
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    kind = kind or (FULL_OBJECT if alg == "CRC64NVME" else COMPOSITE)
    if (kind == FULL_OBJECT and alg not in _CRCS) or (kind == COMPOSITE and alg == "CRC64NVME"):
        raise S3Error(
            "InvalidRequest",
            f"The {kind} checksum type cannot be used with the {alg.lower()} checksum algorithm.",
        )
    return UploadChecksum(alg, kind)


def algorithm_named(text: str) -> str:
    """An x-amz-checksum-algorithm value, upper-cased; one S3 does not know is InvalidRequest."""
    alg = text.strip().upper()
    if alg not in _checksums.ALGORITHMS:
        raise S3Error(
            "InvalidRequest",
            "Checksum algorithm provided is unsupported. Please try again with any of the valid "
            f"types: [{', '.join(sorted(_checksums.ALGORITHMS))}]",
        )
    return alg


def of_record(record: Mapping[str, object]) -> UploadChecksum:
    """The checksum an upload's record keeps (one recorded before types were: its default)."""
    alg, kind = record.get("checksum"), record.get("checksum_type")
    try:
        return created(
            alg if isinstance(alg, str) else None, kind if isinstance(kind, str) else None
        )
    except S3Error:
        return UploadChecksum()


def check_part(upload: UploadChecksum, sent: Mapping[str, object]) -> None:
    """An UploadPart's checksum (by algorithm) must be the upload's algorithm, if it has one."""
    for alg in sent:
        if upload.algorithm is not None and alg != upload.algorithm:
            raise S3Error(
                "InvalidRequest",
                "Checksum Type mismatch occurred, expected checksum Type: "
                f"{upload.algorithm.lower()}, actual checksum Type: {alg.lower()}",
            )


def check_complete(
    upload: UploadChecksum,
    checksum_type: str | None,
    asked: list[tuple[int, str, dict[str, str]]],
    stored: list[dict[str, str]],
) -> None:
    """Complete's x-amz-checksum-type and the checksums its <Part>s carry (number, ETag,
    {algorithm: base64}) against the parts' stored ones: the type must be the upload's; with
    COMPOSITE every part needs its checksum; one of another algorithm is BadDigest; one that
    differs, or one of an upload created without an algorithm, is InvalidPart."""
    kind = checksum_type.strip().upper() if checksum_type else None
    if kind is not None and kind != upload.type:
        raise S3Error(
            "InvalidRequest",
            f"The upload was created using the {upload.type or 'null'} checksum mode. The "
            "complete request must use the same checksum mode.",
        )
    for (number, etag, sums), kept in zip(asked, stored, strict=True):
        if upload.algorithm is None:
            if sums:
                raise S3Error("InvalidPart", PartNumber=str(number), ETag=etag)
            continue
        other = next((alg for alg in sums if alg != upload.algorithm), None)
        if other is not None:  # the part has no checksum of that algorithm to match
            raise S3Error(
                "BadDigest",
                f"The {other.lower()} you specified for part {number} did not match what we "
                "received.",
            )
        if upload.type == COMPOSITE and upload.algorithm not in sums:
            raise S3Error(
                "InvalidRequest",
                f"The upload was created using a {upload.algorithm.lower()} checksum. The "
                "complete request must include the checksum for each part. It was missing for "
                f"part {number} in the request.",
            )
        if any(kept.get(alg) != value for alg, value in sums.items()):
            raise S3Error("InvalidPart", PartNumber=str(number), ETag=etag)


def combined(algorithm: str, checksum_type: str, parts: list[tuple[str, int]]) -> str:
    """The completed object's checksum from its parts' (base64, size): COMPOSITE, the
    algorithm over the parts' digests (without S3's "-N"); FULL_OBJECT, the CRCs combined."""
    if checksum_type == COMPOSITE:
        hasher = _checksums.new(algorithm)
        for value, _ in parts:
            hasher.update(base64.b64decode(value))
        return hasher.b64()
    combine = _CRCS[algorithm]
    size = _checksums.digest_size(algorithm)
    crc = 0
    for value, length in parts:
        crc = combine(crc, int.from_bytes(base64.b64decode(value), "big"), length)
    return base64.b64encode(crc.to_bytes(size, "big")).decode("ascii")


def shown(value: str, checksum_type: str, parts: int) -> str:
    """A stored object checksum as S3 answers it in headers: a composite one with "-N"."""
    return f"{value}-{parts}" if checksum_type == COMPOSITE else value


def check_whole(
    upload: UploadChecksum, checksum_type: str | None, sent: Mapping[str, str], value: str
) -> None:
    """Complete's whole-object x-amz-checksum-<alg> of a FULL_OBJECT upload: BadDigest unless
    it is the object's `value`, sent with x-amz-checksum-type FULL_OBJECT (S3 takes no other
    algorithm, and none without the type). Other uploads' are not checked (S3 ignores one
    sent for an upload created without an algorithm)."""
    if upload.type != FULL_OBJECT or upload.algorithm is None or not sent:
        return
    kind = checksum_type.strip().upper() if checksum_type else None
    if kind != FULL_OBJECT or sent.get(upload.algorithm) != value:
        raise S3Error(
            "BadDigest",
            f"The {upload.algorithm.lower()} you specified did not match the calculated checksum.",
        )
