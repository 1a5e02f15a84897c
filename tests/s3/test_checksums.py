"""S3 checksums: published check values, equality with botocore's own hashers (incremental
too), and the rules for reading x-amz-checksum-*, x-amz-trailer and Content-MD5."""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore import httpchecksum
from hypothesis import given, settings
from hypothesis import strategies as st

from natsobj.s3 import _checksums
from natsobj.s3._checksums import ALGORITHMS, ChecksumError, check, content_md5, new, requested

CHECK = b"123456789"  # the input of every CRC catalogue's "check" value


@pytest.mark.parametrize(
    ("algorithm", "value", "size"),
    [("CRC32", 0xCBF43926, 4), ("CRC32C", 0xE3069283, 4), ("CRC64NVME", 0xAE8B14860A799888, 8)],
)
def test_crcs_have_their_catalogue_check_values(algorithm: str, value: int, size: int) -> None:
    hasher = new(algorithm)
    hasher.update(CHECK)
    assert hasher.digest() == value.to_bytes(size, "big")
    assert hasher.b64() == base64.b64encode(value.to_bytes(size, "big")).decode()


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "MD5"])
def test_hashes_are_hashlibs(algorithm: str) -> None:
    hasher = new(algorithm.lower())
    hasher.update(CHECK)
    assert hasher.digest() == hashlib.new(algorithm.lower(), CHECK).digest()


def test_empty_input_digests() -> None:
    assert new("crc32").b64() == "AAAAAA=="
    assert new("crc64nvme").b64() == "AAAAAAAAAAA="
    assert new("sha256").b64() == base64.b64encode(hashlib.sha256().digest()).decode()


def test_an_unknown_algorithm_is_an_invalid_request() -> None:
    with pytest.raises(ChecksumError) as info:
        new("XXHASH64")
    assert info.value.code == "InvalidRequest"


BOTOCORE = {
    "CRC32": httpchecksum.Crc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALGORITHMS), st.lists(st.binary(max_size=9000), max_size=5))
def test_every_algorithm_equals_botocores_also_incrementally(
    algorithm: str, pieces: list[bytes]
) -> None:
    ours, theirs, whole = new(algorithm), BOTOCORE[algorithm](), new(algorithm)
    for piece in pieces:
        ours.update(memoryview(piece))
        theirs.update(piece)
    whole.update(b"".join(pieces))
    assert ours.b64() == theirs.b64digest() == whole.b64()
    assert len(ours.digest()) == _checksums.digest_size(algorithm)


def h(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(n.encode(), v.encode()) for n, v in pairs]


def b64(algorithm: str, data: bytes = CHECK) -> str:
    hasher = new(algorithm)
    hasher.update(data)
    return hasher.b64()


def test_no_checksum_asked() -> None:
    assert requested(h(("content-type", "text/plain"), ("x-amz-checksum-mode", "ENABLED"))) == {}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_checksum_header_is_requested(algorithm: str) -> None:
    value = b64(algorithm)
    got = requested(
        h((f"X-Amz-Checksum-{algorithm}", value), ("x-amz-sdk-checksum-algorithm", algorithm))
    )
    assert got == {algorithm: value}


def test_a_trailer_checksum_is_requested_without_a_value() -> None:
    got = requested(
        h(("x-amz-trailer", "x-amz-checksum-crc32"), ("x-amz-sdk-checksum-algorithm", "CRC32"))
    )
    assert got == {"CRC32": None}


@pytest.mark.parametrize("value", ["", "not base64!", "AAAA", "AAAAAAAAAAA=", "AAAAAA"])
def test_a_malformed_checksum_is_an_invalid_request(value: str) -> None:
    # AWS (LocalStack's validated snapshot TestS3::test_put_object_checksum, put-wrong-checksum)
    with pytest.raises(ChecksumError) as info:
        requested(h(("x-amz-checksum-crc32", value)))
    assert info.value.code == "InvalidRequest"
    assert info.value.message == "Value for x-amz-checksum-crc32 header is invalid."


@pytest.mark.parametrize(
    "headers",
    [
        (("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-checksum-crc32c", "AAAAAA==")),
        (("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-trailer", "x-amz-checksum-sha1")),
        (("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-sdk-checksum-algorithm", "SHA256")),
        (("x-amz-sdk-checksum-algorithm", "CRC32"),),
        (("x-amz-checksum-xxhash64", "AAAAAAAAAAA="),),
        (("x-amz-trailer", "x-amz-checksum-md5"),),
    ],
)
def test_conflicting_or_unknown_checksums_are_invalid_requests(
    headers: tuple[tuple[str, str], ...],
) -> None:
    with pytest.raises(ChecksumError) as info:
        requested(h(*headers))
    assert info.value.code == "InvalidRequest"


def test_content_md5() -> None:
    digest = hashlib.md5(CHECK).digest()
    assert content_md5(h(("Content-MD5", base64.b64encode(digest).decode()))) == digest
    assert content_md5(h(("content-type", "x"))) is None
    for bad in ("xyz", base64.b64encode(b"short").decode()):
        with pytest.raises(ChecksumError) as info:
            content_md5(h(("content-md5", bad)))
        assert info.value.code == "InvalidDigest"


def test_check_accepts_the_right_digest_and_refuses_another() -> None:
    hasher = new("CRC32C")
    hasher.update(CHECK)
    check(hasher, b64("CRC32C"))
    with pytest.raises(ChecksumError) as info:
        check(hasher, b64("CRC32C", b"other"))
    assert info.value.code == "BadDigest"


def test_header_names() -> None:
    assert _checksums.header_name("CRC64NVME") == "x-amz-checksum-crc64nvme"
