"""S3's default data integrity: an object uploaded with no checksum gets a CRC64NVME one, which
PutObject answers, HEAD/GET in checksum mode and GetObjectAttributes give, and listings name
(AWS since 2025: "ChecksumCRC64NVME" with "ChecksumType": "FULL_OBJECT" in every answer to a
put-object that sent none). An object written by another NATS client has no S3 checksum: its
NATS digest is served as its SHA256, and a copy of it gets the default."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest

from .conftest import Gateway


def crc64nvme(data: bytes) -> str:
    """CRC-64/NVME, bit by bit (reflected 0xAD93D23594C93659, init and xorout all ones), as
    base64: written here so the gateway's awscrt is checked against something else."""
    crc = 0xFFFF_FFFF_FFFF_FFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x9A6C_9329_AC4B_C9B5 if crc & 1 else 0)
    return base64.b64encode((crc ^ 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "big")).decode()


def test_the_reference_crc_is_crc64_nvme() -> None:
    # the check value of CRC-64/NVME (the CRC catalogue, and AWS's SDKs' tests)
    assert base64.b64decode(crc64nvme(b"123456789")).hex() == "ae8b14860a799888"


@pytest.fixture
def plain(gateway: Gateway) -> object:
    """A boto3 client that sends a checksum only where S3 requires one."""
    return gateway.client(request_checksum_calculation="when_required")


def _sums(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k.startswith("Checksum")}


def test_a_put_without_a_checksum_gets_crc64nvme(plain, bucket) -> None:
    body = b"no checksum sent with this"
    expected = {"ChecksumCRC64NVME": crc64nvme(body), "ChecksumType": "FULL_OBJECT"}
    assert _sums(plain.put_object(Bucket=bucket, Key="plain", Body=body)) == expected
    head = plain.head_object(Bucket=bucket, Key="plain", ChecksumMode="ENABLED")
    assert _sums(head) == expected  # that one, alone
    got = plain.get_object(Bucket=bucket, Key="plain", ChecksumMode="ENABLED")
    assert (got["Body"].read(), _sums(got)) == (body, expected)
    attrs = plain.get_object_attributes(Bucket=bucket, Key="plain", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"] == expected
    listed = plain.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["ChecksumAlgorithm"], o["ChecksumType"]) for o in listed] == [
        (["CRC64NVME"], "FULL_OBJECT")
    ]
    empty = plain.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert empty["ChecksumCRC64NVME"] == "AAAAAAAAAAA="  # as S3 answers an empty put


def test_a_sent_checksum_is_the_only_one(plain, bucket) -> None:
    """An object put with a CRC32 keeps that one alone: no default beside it, and HEAD does not
    add the SHA-256 as well."""
    answer = plain.put_object(Bucket=bucket, Key="crc", Body=b"abc", ChecksumAlgorithm="CRC32")
    assert _sums(answer) == {"ChecksumCRC32": "NSRBwg==", "ChecksumType": "FULL_OBJECT"}
    head = plain.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert _sums(head) == {"ChecksumCRC32": "NSRBwg==", "ChecksumType": "FULL_OBJECT"}


async def test_an_object_from_another_client_and_its_copy(gateway: Gateway, bucket, client) -> None:
    """What natsobj (or nats.go, nats-py) stored has no S3 checksum: HEAD in checksum mode
    gives its NATS digest as SHA256; a copy of it gets S3's default."""
    body = b"written by a NATS client"
    await (await client.object_store(bucket)).put("nats", body)
    s3 = gateway.client(request_checksum_calculation="when_required")

    def calls() -> tuple[dict, dict, dict]:
        head = s3.head_object(Bucket=bucket, Key="nats", ChecksumMode="ENABLED")
        copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource=f"{bucket}/nats")
        copy_head = s3.head_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED")
        return _sums(head), _sums(copied["CopyObjectResult"]), _sums(copy_head)

    head, copied, copy_head = await asyncio.to_thread(calls)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert head == {"ChecksumSHA256": digest, "ChecksumType": "FULL_OBJECT"}
    default = {"ChecksumCRC64NVME": crc64nvme(body), "ChecksumType": "FULL_OBJECT"}
    assert copied == default
    assert copy_head == default
