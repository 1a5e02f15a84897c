"""The multipart checksum rules, sans-I/O: Create's algorithm and type, the checks of parts and
of Complete, and the completed object's checksum against values computed independently
(zlib, hashlib, awscrt over the whole data) and against AWS's own answers (LocalStack's
AWS-validated snapshots of TestS3MultipartUploadChecksum)."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from awscrt import checksums as crt

from natsobj.s3 import _checksums
from natsobj.s3._errors import S3Error
from natsobj.s3._multipart_checksums import (
    COMPOSITE,
    FULL_OBJECT,
    UploadChecksum,
    check_complete,
    check_part,
    check_whole,
    combined,
    created,
    shown,
)

# the data of test_complete_multipart_parts_checksum_*: two parts of 5 MiB + 1 "a", then 10
PART = b"a" * (5 * 1024 * 1024 + 1)
PARTS = [PART, PART, PART[:10]]


def _b64(algorithm: str, data: bytes) -> str:
    hasher = _checksums.new(algorithm)
    hasher.update(data)
    return hasher.b64()


def _parts(algorithm: str) -> list[tuple[str, int]]:
    return [(_b64(algorithm, p), len(p)) for p in PARTS]


def test_full_object_crcs_are_the_crc_of_the_whole_data() -> None:
    whole = b"".join(PARTS)
    crc32 = zlib.crc32(whole).to_bytes(4, "big")
    assert combined("CRC32", FULL_OBJECT, _parts("CRC32")) == base64.b64encode(crc32).decode()
    crc32c = crt.crc32c(whole).to_bytes(4, "big")
    assert combined("CRC32C", FULL_OBJECT, _parts("CRC32C")) == base64.b64encode(crc32c).decode()
    nvme = crt.crc64nvme(whole).to_bytes(8, "big")
    assert (
        combined("CRC64NVME", FULL_OBJECT, _parts("CRC64NVME")) == base64.b64encode(nvme).decode()
    )


def test_aws_answers_for_the_same_data() -> None:
    # complete-multipart-checksum of test_complete_multipart_parts_checksum_full_object[*] and
    # test_complete_multipart_parts_checksum_composite[*]; the parts' upload-part-* answers
    assert [v for v, _ in _parts("CRC32")] == ["NRU+Sw==", "NRU+Sw==", "TBHN8A=="]
    assert combined("CRC32", FULL_OBJECT, _parts("CRC32")) == "qSEQSA=="
    assert combined("CRC32C", FULL_OBJECT, _parts("CRC32C")) == "eTdAQA=="
    assert combined("CRC64NVME", FULL_OBJECT, _parts("CRC64NVME")) == "ZMNX55lZurA="
    assert shown(combined("CRC32", COMPOSITE, _parts("CRC32")), COMPOSITE, 3) == "5FRUiw==-3"
    assert combined("CRC32C", COMPOSITE, _parts("CRC32C")) == "XF5+4A=="
    assert combined("SHA1", COMPOSITE, _parts("SHA1")) == "AyE60nyQoBgJcwsyPHWu7aJuxBs="
    sha256 = "9o++y6AejqboiJ7MZCx0fahK2Vu5YC/qnNhhYsCLciI="
    assert combined("SHA256", COMPOSITE, _parts("SHA256")) == sha256


def test_composite_is_the_hash_of_the_part_digests() -> None:
    digests = b"".join(hashlib.sha256(p).digest() for p in PARTS)
    expected = base64.b64encode(hashlib.sha256(digests).digest()).decode()
    assert combined("SHA256", COMPOSITE, _parts("SHA256")) == expected
    assert shown(expected, FULL_OBJECT, 3) == expected


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [("CRC32", COMPOSITE), ("CRC32C", COMPOSITE), ("SHA1", COMPOSITE), ("SHA256", COMPOSITE),
     ("CRC64NVME", FULL_OBJECT)],
)  # fmt: skip
def test_the_default_type_of_each_algorithm(algorithm: str, kind: str) -> None:
    # test_multipart_checksum_type_default_for_checksum[*]
    assert created(algorithm.lower(), None) == UploadChecksum(algorithm, kind)


def test_create_refuses_what_s3_refuses() -> None:
    # test_multipart_checksum_type_compatibility[*], test_multipart_parts_checksum_exceptions_*
    cases = {
        (None, "FULL_OBJECT"): "The x-amz-checksum-type header can only be used with the "
        "x-amz-checksum-algorithm header.",
        ("SHA1", "FULL_OBJECT"): "The FULL_OBJECT checksum type cannot be used with the sha1 "
        "checksum algorithm.",
        ("SHA256", "FULL_OBJECT"): "The FULL_OBJECT checksum type cannot be used with the sha256 "
        "checksum algorithm.",
        ("CRC64NVME", "COMPOSITE"): "The COMPOSITE checksum type cannot be used with the "
        "crc64nvme checksum algorithm.",
    }
    for (alg, kind), message in cases.items():
        with pytest.raises(S3Error) as caught:
            created(alg, kind)
        assert (caught.value.code, caught.value.message) == ("InvalidRequest", message)
    with pytest.raises(S3Error, match="unsupported"):
        created("TEST", None)
    assert created(None, None) == UploadChecksum()
    assert created("CRC32", "FULL_OBJECT") == UploadChecksum("CRC32", FULL_OBJECT)


def test_a_part_of_another_algorithm_is_refused() -> None:
    # test_multipart_parts_checksum_exceptions_full_object: upload-part-different-checksum-exc
    upload = UploadChecksum("CRC32C", FULL_OBJECT)
    check_part(upload, {"CRC32C": "x"})
    check_part(upload, {})
    check_part(UploadChecksum(), {"SHA1": "x"})
    with pytest.raises(S3Error) as caught:
        check_part(upload, {"CRC32": "x"})
    assert caught.value.message == (
        "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum "
        "Type: crc32"
    )


def _complete_error(upload: UploadChecksum, kind: str | None, sums: dict[str, str]) -> S3Error:
    with pytest.raises(S3Error) as caught:
        check_complete(upload, kind, [(1, "e", sums)], [{"CRC32": "ok=="}])
    return caught.value


def test_complete_checks_the_type_and_the_parts() -> None:
    composite = UploadChecksum("CRC32", COMPOSITE)
    check_complete(composite, None, [(1, "e", {"CRC32": "ok=="})], [{"CRC32": "ok=="}])
    check_complete(composite, "composite", [(1, "e", {"CRC32": "ok=="})], [{"CRC32": "ok=="}])
    missing = _complete_error(composite, None, {})
    assert missing.code == "InvalidRequest" and "It was missing for part 1" in missing.message
    assert _complete_error(composite, None, {"CRC32": "no=="}).code == "InvalidPart"
    wrong_type = _complete_error(composite, "FULL_OBJECT", {"CRC32": "ok=="})
    assert wrong_type.message.startswith("The upload was created using the COMPOSITE checksum")
    full = UploadChecksum("CRC32", FULL_OBJECT)
    check_complete(full, None, [(1, "e", {})], [{"CRC32": "ok=="}])
    assert _complete_error(full, None, {"CRC32": "no=="}).code == "InvalidPart"
    # test_complete_multipart_parts_checksum_default: an upload without an algorithm
    none = UploadChecksum()
    check_complete(none, None, [(1, "e", {})], [{"CRC32": "ok=="}])
    assert _complete_error(none, None, {"CRC32": "ok=="}).code == "InvalidPart"
    null = _complete_error(none, "COMPOSITE", {})
    assert null.message == (
        "The upload was created using the null checksum mode. The complete request must use "
        "the same checksum mode."
    )


def test_the_whole_object_checksum_of_a_full_object_upload() -> None:
    # test_multipart_parts_checksum_exceptions_full_object: complete-part-* and complete-success
    upload = UploadChecksum("CRC32C", FULL_OBJECT)
    check_whole(upload, "FULL_OBJECT", {"CRC32C": "v"}, "v")
    check_whole(upload, None, {}, "v")
    for kind, sent in [
        (None, {"CRC32C": "v"}), ("FULL_OBJECT", {"CRC32C": "w"}), ("FULL_OBJECT", {"CRC32": "v"}),
        (None, {"CRC32C": "v-1"}), (None, {"CRC64NVME": "v"}),
    ]:  # fmt: skip
        with pytest.raises(S3Error) as caught:
            check_whole(upload, kind, sent, "v")
        assert caught.value.code == "BadDigest"
        assert (
            caught.value.message
            == "The crc32c you specified did not match the calculated checksum."
        )
    check_whole(UploadChecksum(), None, {"CRC32C": "bad-2"}, "v")  # ignored, as S3 does
