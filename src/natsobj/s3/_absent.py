"""What S3 answers about features natsobj never has, for the buckets and objects that cannot
have them: an object's tags (none: GetObjectTagging is an empty set, DeleteObjectTagging has
nothing to do), a bucket's Object Lock (none: retention and legal holds are refused as on a
bucket created without it), and the request headers that ask for encryption or an ACL.

A request S3 would refuse as malformed gets S3's 400 (a tag set over S3's limits, an SSE
header without its companions, a canned ACL that does not exist); only a well-formed request
for the feature itself is 501 NotImplemented (see `_dispatch`)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from .. import ObjectNotFoundError
from . import _xml
from ._errors import S3Error
from ._http import Request, Response, xml_response
from ._rules import bucket_for, check_version
from ._state import State

MAX_TAGS = 10
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256

CANNED_ACLS = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    }
)

_SSE = "x-amz-server-side-encryption"
_KMS_KEY = "x-amz-server-side-encryption-aws-kms-key-id"
_C_ALG = "x-amz-server-side-encryption-customer-algorithm"
_C_KEY = "x-amz-server-side-encryption-customer-key"
_C_MD5 = "x-amz-server-side-encryption-customer-key-md5"
_SSE_VALUES = ("AES256", "aws:kms", "aws:kms:dsse")
# storage classes S3 accepts on a general purpose bucket; natsobj stores STANDARD only
OTHER_STORAGE_CLASSES = frozenset(
    {
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "GLACIER_IR",
    }
)


# ---------------------------------------------------------------------------------------------
# object tags: natsobj stores none


async def _check_object(state: State, req: Request) -> None:
    """NoSuchBucket / NoSuchKey / a versionId natsobj cannot have, as S3 answers before
    looking at tags."""
    check_version(req.query.get("versionId"))
    store = await state.store(bucket_for(req.bucket))
    try:
        await store.get_info(req.key)
    except ObjectNotFoundError:
        raise S3Error("NoSuchKey", Key=req.key) from None


async def get_object_tagging(state: State, req: Request) -> Response:
    await _check_object(state, req)
    return xml_response("Tagging", "<TagSet></TagSet>")


async def delete_object_tagging(state: State, req: Request) -> Response:
    await _check_object(state, req)
    return Response(204)


async def put_object_tagging(state: State, req: Request) -> Response:
    """A tag set S3 would refuse gets S3's InvalidTag; a valid one is 501 (tags not kept)."""
    await _check_object(state, req)
    raw = await req.body().read_all(_xml.MAX_XML_BYTES)
    check_tag_set(_xml.parse(raw, "Tagging"))
    raise S3Error("NotImplemented", "natsobj's S3 gateway does not implement object tagging")


def check_tag_set(doc: object) -> None:
    """S3's limits on an object's tag set: at most 10 tags, keys of 1-128 characters unique
    in the set, values of at most 256 (InvalidTag otherwise)."""
    tag_set = doc.find("TagSet")  # type: ignore[attr-defined]
    tags = [] if tag_set is None else tag_set.findall("Tag")
    if len(tags) > MAX_TAGS:
        raise S3Error("InvalidTag", f"Object tags cannot be greater than {MAX_TAGS}")
    seen: set[str] = set()
    for tag in tags:
        key, value = _xml.child_text(tag, "Key"), _xml.child_text(tag, "Value")
        if key is None or value is None:
            raise S3Error("MalformedXML", "each <Tag> needs a <Key> and a <Value>")
        if not key or len(key) > MAX_TAG_KEY:
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid")
        if len(value) > MAX_TAG_VALUE:
            raise S3Error("InvalidTag", "The TagValue you have provided is invalid")
        if key in seen:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
        seen.add(key)


# ---------------------------------------------------------------------------------------------
# Object Lock: no natsobj bucket has it (it needs versioning)


async def no_object_lock(state: State, req: Request) -> Response:
    """?retention and ?legal-hold, read or written: S3's answer on a bucket without Object
    Lock."""
    await state.store(bucket_for(req.bucket))
    raise S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration")


async def put_object_lock_configuration(state: State, req: Request) -> Response:
    """S3 turns Object Lock on only for a bucket with versioning enabled: never one here."""
    await state.store(bucket_for(req.bucket))
    raise S3Error(
        "InvalidBucketState",
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration "
        "(natsobj keeps one version of each object)",
    )


def check_no_governance_bypass(req: Request) -> None:
    """x-amz-bypass-governance-retention (DeleteObject, DeleteObjects), true or false, is 400
    InvalidArgument on a bucket without Object Lock, as S3 answers."""
    if "x-amz-bypass-governance-retention" in req.headers:
        raise S3Error(
            "InvalidArgument",
            "x-amz-bypass-governance-retention is only applicable to Object Lock enabled buckets.",
            ArgumentName="x-amz-bypass-governance-retention",
        )


# ---------------------------------------------------------------------------------------------
# request headers


def check_canned_acl(req: Request) -> None:
    """x-amz-acl, when sent, names one of S3's canned ACLs (400 InvalidArgument otherwise)."""
    acl = req.headers.get("x-amz-acl")
    if acl is not None and acl not in CANNED_ACLS:
        raise S3Error(
            "InvalidArgument", f"the canned ACL {acl!r} does not exist", **_arg("x-amz-acl", acl)
        )


def check_storage_class(req: Request) -> bool:
    """x-amz-storage-class, when sent, is STANDARD (False) or another class S3 has (True: the
    caller answers 501); any other value is S3's 400 InvalidStorageClass (OUTPOSTS included,
    as on a bucket that is not on an Outpost)."""
    wanted = req.headers.get("x-amz-storage-class")
    if wanted is None or wanted == "STANDARD":
        return False
    if wanted in OTHER_STORAGE_CLASSES:
        return True
    raise S3Error(
        "InvalidStorageClass",
        "The storage class you specified is not valid",
        StorageClassRequested=wanted,
    )


def check_sse_headers(req: Request, *, writes: bool) -> bool:
    """The server-side encryption headers checked as S3 checks them (400 InvalidArgument for
    a malformed set). True when a write asks for encryption (the caller answers 501); a read
    naming SSE-S3/KMS, or SSE-C for an object that is not encrypted, is refused here."""
    h = req.headers
    sse, kms_key = h.get(_SSE), h.get(_KMS_KEY)
    customer = any(h.get(name) for name in (_C_ALG, _C_KEY, _C_MD5))
    if not writes and (sse or kms_key):
        name = _SSE if sse else _KMS_KEY
        raise S3Error(
            "InvalidArgument",
            f"{name} header is not supported for this operation.",
            **_arg(name, h[name]),
        )
    if sse and sse not in _SSE_VALUES:
        raise S3Error(
            "InvalidArgument", "The encryption method specified is not supported", **_arg(_SSE, sse)
        )
    if kms_key and sse not in ("aws:kms", "aws:kms:dsse"):
        raise S3Error(
            "InvalidArgument",
            "Server Side Encryption with AWS KMS managed key requires HTTP header "
            "x-amz-server-side-encryption : aws:kms",
            **_arg(_SSE, sse or "null"),
        )
    if sse and customer:
        raise S3Error(
            "InvalidArgument",
            "Server Side Encryption with Customer provided key is incompatible with the "
            "encryption method specified",
            **_arg(_SSE, sse),
        )
    if customer:
        _check_customer_key(h)
        if not writes:
            raise S3Error(
                "InvalidRequest", "The encryption parameters are not applicable to this object."
            )
    return bool(sse or customer)


def _check_customer_key(h: dict[str, str]) -> None:
    """SSE-C: algorithm AES256, a base64 256-bit key and the base64 MD5 of that key."""
    alg, key, md5 = h.get(_C_ALG), h.get(_C_KEY), h.get(_C_MD5)
    if not alg:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.",
            **_arg(_C_ALG, "null"),
        )
    if alg != "AES256":
        raise S3Error(
            "InvalidEncryptionAlgorithmError",
            "The encryption request you specified is not valid. The valid value is AES256.",
            **_arg(_C_ALG, alg),
        )
    if not key:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.",
            **_arg(_C_KEY, "null"),
        )
    secret = _b64(key)
    if secret is None or len(secret) != 32:
        raise S3Error(
            "InvalidArgument",
            "The secret key was invalid for the specified algorithm.",
            **_arg(_C_KEY, "*****"),
        )
    if not md5:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.",
            **_arg(_C_MD5, "null"),
        )
    if _b64(md5) != hashlib.md5(secret).digest():
        raise S3Error(
            "InvalidArgument",
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            **_arg(_C_MD5, md5),
        )


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _arg(name: str, value: str) -> dict[str, str]:
    return {"ArgumentName": name, "ArgumentValue": value}
