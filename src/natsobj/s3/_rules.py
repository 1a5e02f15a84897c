"""How S3 maps onto the object store, as pure functions: bucket names, keys, ETags,
headers and metadata, HTTP dates, ranges and conditional requests (RFC 7232).

Gateway-private fields travel in the object's NATS headers under one reserved prefix
(`PRIVATE_PREFIX`); every other header and the metadata are what natscli, nats.go and natsobj
users see.
"""

from __future__ import annotations

import base64
import email.errors
import email.header
import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import unquote_plus

from .. import ObjectInfo
from ._errors import S3Error
from ._multipart_checksums import FULL_OBJECT, shown

PRIVATE_PREFIX = "Natsobj-S3-"
ETAG_HEADER = PRIVATE_PREFIX + "Etag"
PARTS_HEADER = PRIVATE_PREFIX + "Parts"
"""Comma-separated part sizes of an object completed from a multipart upload."""
CHECKSUM_HEADER = PRIVATE_PREFIX + "Checksum-"
"""+ the algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): the base64 checksum."""
CHECKSUM_TYPE_HEADER = PRIVATE_PREFIX + "Sum-Type"
"""The type of a multipart object's checksum (COMPOSITE, FULL_OBJECT); none: FULL_OBJECT."""
PART_SUMS_HEADER = PRIVATE_PREFIX + "Part-Sums"
"""Comma-separated base64 checksums of a COMPOSITE multipart object's parts."""

INTERNAL_PREFIX = "natsobj_s3_"
"""Buckets of the gateway's own (multipart staging): never listed, never S3-addressable."""
OWNER_KEY = "natsobj.s3.owner"
"""Bucket metadata: the access key that created the bucket through the gateway."""
VERSIONING_KEY = "natsobj.s3.versioning"
"""Bucket metadata: "Suspended" once a client suspended versioning (GetBucketVersioning)."""

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
STORED_HEADERS = {
    "content-type": "Content-Type",
    "content-encoding": "Content-Encoding",
    "content-disposition": "Content-Disposition",
    "content-language": "Content-Language",
    "cache-control": "Cache-Control",
    "expires": "Expires",
}
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048

_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


# ---------------------------------------------------------------------------------------------
# names


def bucket_for(name: str) -> str:
    """The NATS bucket an S3 bucket name addresses (identity); dotted names can't be one."""
    if "." in name:
        raise S3Error(
            "InvalidBucketName",
            f"bucket name {name!r} has a dot: NATS bucket names may hold only letters, digits, "
            "'_' and '-'; use '-' instead",
            BucketName=name,
        )
    return name  # any other NATS rule is the store's (InvalidBucketNameError)


def check_new_bucket_name(name: str) -> str:
    """S3's rules for a bucket to create (3-63 of a-z, 0-9, '-', alphanumeric at both ends)."""
    bad = (
        not _S3_BUCKET.match(name)
        or ".." in name
        or name.startswith(("xn--", "sthree-"))
        or name.endswith(("-s3alias", "--ol-s3"))
        or _is_ip(name)
    )
    if bad:
        raise S3Error("InvalidBucketName", BucketName=name)  # S3's own message
    return bucket_for(name)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


AWS_REGIONS = frozenset(
    {
        *("af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2"),
        *("ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2"),
        *("ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6"),
        *("ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2"),
        *("eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3"),
        *("il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1"),
        *("us-east-1", "us-east-2", "us-west-1", "us-west-2", "cn-north-1", "cn-northwest-1"),
        *("us-gov-east-1", "us-gov-west-1"),
    }
)
"""The regions S3 knows by name (a gateway's own --region is one too, whatever its name)."""


def check_region(name: str, own: str, argument: str) -> None:
    """S3's InvalidArgument, for the request's `argument`, unless `name` is a region (AWS's,
    or `own`, the gateway's)."""
    if name != own and name not in AWS_REGIONS:
        raise S3Error(
            "InvalidArgument",
            f"Argument value {name} is not a valid AWS Region",
            ArgumentName=argument,
        )


def bucket_arn(name: str) -> str:
    """The bucket's ARN, as S3 gives it (ListBuckets, CreateBucket, HeadBucket)."""
    return f"arn:aws:s3:::{name}"


def check_key(key: str) -> str:
    if not key:
        raise S3Error("InvalidArgument", "the object key must not be empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", f"keys are at most {MAX_KEY_BYTES} bytes of UTF-8")
    return key


# ---------------------------------------------------------------------------------------------
# ETags, headers and metadata


def etag_of(info: ObjectInfo) -> str:
    """The object's quoted ETag: the MD5 the gateway stored, else "<sha256 hex>-1" (hex, so
    s3fs reads it; with '-', so rclone and the Java SDK don't take it for an MD5)."""
    stored = info.headers.get(ETAG_HEADER)
    if stored:
        return f'"{stored[0]}"'
    return f'"{info.digest_hex or ""}-1"'


def parts_of(info: ObjectInfo) -> list[int]:
    """The part sizes of a multipart object ([] for one written in one piece)."""
    stored = info.headers.get(PARTS_HEADER)
    if not stored or not stored[0]:
        return []
    return [int(size) for size in stored[0].split(",")]


def stored_meta(headers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The NATS headers and metadata for an object, from S3 request headers (lower-case)."""
    nats_headers: dict[str, str] = {}
    for name, canonical in STORED_HEADERS.items():
        value = headers.get(name)
        if value is None:
            continue
        if name == "content-encoding":
            value = ",".join(v.strip() for v in value.split(",") if v.strip() != "aws-chunked")
            if not value:
                continue
        nats_headers[canonical] = value
    metadata = {
        k[len("x-amz-meta-") :]: _decoded(_as_utf8(v))
        for k, v in headers.items()
        if k.startswith("x-amz-meta-")
    }
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise S3Error(
            "MetadataTooLarge",
            f"user metadata is {size} bytes; S3 allows at most {MAX_METADATA_BYTES}",
        )
    return nats_headers, metadata


def _as_utf8(value: str) -> str:
    """A metadata value as text: HTTP carries bytes (read as latin-1), and the UTF-8 ones a
    client sends (boto3 does for `é`) are stored as the text they encode, as NATS clients
    expect to read it; bytes that are not UTF-8 stay as read."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _decoded(value: str) -> str:
    """A metadata value sent RFC 2047-encoded (`=?UTF-8?B?YWJj?=`), decoded, as S3 stores it;
    one that does not decode is kept as sent."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


def _rfc2047(value: str) -> str:
    """A metadata value for a response header: as S3 does, one with a character that is not
    printable ASCII goes out RFC 2047-encoded, so none is lost or replaced: Q-encoded if most
    of its characters are ASCII (`=?UTF-8?Q?=C3=84M_S3?=`), else B (`=?UTF-8?B?...?=`)."""
    odd = sum(1 for c in value if ord(c) >= 0x7F or (ord(c) < 0x20 and c not in "\t\r\n"))
    if not odd:
        return value
    if len(value) - odd <= odd:
        return f"=?UTF-8?B?{base64.b64encode(value.encode()).decode()}?="
    quoted = "".join(
        "_" if b == 0x20 else chr(b) if 0x20 < b < 0x7F and b not in b"=_?" else f"={b:02X}"
        for b in value.encode()
    )
    return f"=?UTF-8?Q?{quoted}?="


def object_headers(info: ObjectInfo) -> list[tuple[str, str]]:
    """The response headers that describe an object (GET and HEAD)."""
    out = [
        ("ETag", etag_of(info)),
        ("Last-Modified", http_date(last_modified(info))),
        ("Accept-Ranges", "bytes"),
    ]
    content_type = None
    for name, values in info.headers.items():
        lower = name.lower()
        if lower in STORED_HEADERS and values:
            out.append((STORED_HEADERS[lower], values[0]))
            content_type = values[0] if lower == "content-type" else content_type
    if content_type is None:
        out.append(("Content-Type", DEFAULT_CONTENT_TYPE))
    out.extend((f"x-amz-meta-{k}", _rfc2047(v)) for k, v in info.metadata.items())
    return out


def checksums_of(info: ObjectInfo) -> dict[str, str]:
    """The S3 checksums stored with the object, by algorithm ("CRC32": base64); none for an
    object another NATS client wrote (see digest_checksum)."""
    found = {
        name[len(CHECKSUM_HEADER) :].upper(): values[0]
        for name, values in info.headers.items()
        if name.startswith(CHECKSUM_HEADER) and values
    }
    return found


def checksum_type_of(info: ObjectInfo) -> str:
    """The type of the object's stored checksum (FULL_OBJECT unless a multipart upload made it
    COMPOSITE)."""
    return (info.headers.get(CHECKSUM_TYPE_HEADER) or [FULL_OBJECT])[0]


def sha256_b64(digest_hex: str | None) -> str:
    """A hex SHA-256 (a NATS digest) as S3 writes a SHA256 checksum: base64."""
    return base64.b64encode(bytes.fromhex(digest_hex or "")).decode()


def digest_checksum(info: ObjectInfo) -> dict[str, str]:
    """The SHA-256 of an object stored with no S3 checksum (say, by another NATS client): its
    NATS digest, which is the SHA-256 of its bytes (a multipart object's is not a checksum S3
    could give for it)."""
    return {} if parts_of(info) else {"SHA256": sha256_b64(info.digest_hex)}


def shown_checksums(info: ObjectInfo) -> dict[str, str]:
    """The stored checksums as S3 shows them in headers and results (a composite one "-N")."""
    kind, count = checksum_type_of(info), len(parts_of(info))
    return {alg: shown(value, kind, count) for alg, value in checksums_of(info).items()}


def checksum_fields(sums: Mapping[str, str], kind: str) -> dict[str, str]:
    """The ChecksumX elements of an S3 result document (CopyObjectResult, Complete's,
    GetObjectAttributes'), for checksums by algorithm, and ChecksumType `kind` beside them."""
    fields = {f"Checksum{alg}": value for alg, value in sums.items()}
    return {**fields, "ChecksumType": kind} if fields else fields


def part_checksums_of(info: ObjectInfo) -> list[str]:
    """The parts' checksums of a COMPOSITE multipart object ([] for any other)."""
    stored = info.headers.get(PART_SUMS_HEADER)
    return stored[0].split(",") if stored and stored[0] else []


def check_version(version: str | None) -> None:
    """A `versionId` natsobj can serve: none, or "null" (its one version). Any other is one
    S3 could not have minted for this bucket: 400 InvalidArgument, as S3 answers an id it
    cannot decode (NoSuchVersion is for ids it issued and no longer has)."""
    if version is not None and version != "null":
        raise S3Error(
            "InvalidArgument",
            "Invalid version id specified",
            ArgumentName="versionId",
            ArgumentValue=version,
        )


def last_modified(info: ObjectInfo) -> datetime:
    return (info.mtime or datetime.fromtimestamp(0, timezone.utc)).astimezone(timezone.utc)


# ---------------------------------------------------------------------------------------------
# HTTP dates, ranges, conditions


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date; None if absent or unreadable (S3 then ignores the condition)."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range (first, last) a Range header asks of an object of `size`
    bytes; None for the whole object (no header, or one S3 ignores: bad syntax, several
    ranges). InvalidRange if it starts at or beyond the end."""
    if not value:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value)
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first_text, last_text = match.groups()
    if first_text:
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
        if last_text and last < first:
            return None
        if first >= size:
            raise unsatisfiable(size, value)
        return first, min(last, size - 1)
    suffix = int(last_text)
    if suffix == 0 or size == 0:
        raise unsatisfiable(size, value)
    return max(0, size - suffix), size - 1


def parse_copy_range(value: str, size: int) -> tuple[int, int]:
    """The inclusive byte range (first, last) an x-amz-copy-source-range asks of a source of
    `size` bytes. Stricter than Range: only `bytes=first-last`, and it must lie within the
    source (S3 answers InvalidArgument, or InvalidRequest for a start past the end, where a
    GET would clamp or ignore)."""
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", value.strip())
    if match is None or int(match.group(1)) > int(match.group(2)):
        raise S3Error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=value,
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first >= size:  # S3: a range that starts past the end is another error than one too long
        raise S3Error(
            "InvalidRequest", "The specified copy range is invalid for the source object size"
        )
    if last >= size:
        raise S3Error(
            "InvalidArgument",
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=value,
        )
    return first, last


def unsatisfiable(size: int, asked: str) -> S3Error:
    """416 InvalidRange, naming the Range header as it came (S3's RangeRequested)."""
    err = S3Error("InvalidRange", ActualObjectSize=str(size), RangeRequested=asked.strip())
    err.headers["Content-Range"] = f"bytes */{size}"
    return err


def check_onto_itself(headers: Mapping[str, str]) -> None:
    """InvalidRequest unless a copy of an object onto itself changes something, as S3 requires:
    metadata replaced, or a storage class named (S3 takes even the object's own as a change)."""
    if headers.get("x-amz-metadata-directive", "COPY").upper() == "REPLACE":
        return
    if "x-amz-storage-class" not in headers:
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes.",
        )


def etag_matches(header: str, etag: str) -> bool:
    """An If-Match / If-None-Match list against an ETag ('*' matches any object)."""
    wanted = etag.strip('"')
    for item in header.split(","):
        item = item.strip()
        if item == "*":
            return True
        if item.startswith("W/"):
            item = item[2:]
        if item.strip('"') == wanted:
            return True
    return False


def evaluate_conditions(
    headers: Mapping[str, str],
    etag: str,
    modified: datetime,
    *,
    prefix: str = "",
    read: bool = True,
) -> tuple[int, str] | None:
    """RFC 7232's evaluation order: (412 or, for reads, 304, the header that decided it, as
    S3's Condition element names it), or None to go on. `prefix` reads the copy-source variants
    (x-amz-copy-source-if-..., named so), where every failure is 412."""
    modified = modified.replace(microsecond=0)
    if_match = headers.get(prefix + "if-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            return 412, prefix + "If-Match"
    else:
        since = parse_http_date(headers.get(prefix + "if-unmodified-since"))
        if since is not None and modified > since:
            return 412, prefix + "If-Unmodified-Since"
    if_none = headers.get(prefix + "if-none-match")
    if if_none is not None:
        if etag_matches(if_none, etag):
            return (304 if read and not prefix else 412), prefix + "If-None-Match"
    else:
        since = parse_http_date(headers.get(prefix + "if-modified-since"))
        if since is not None and since > datetime.now(timezone.utc):
            since = None  # S3 ignores a date in the future
        if since is not None and modified <= since and (read or prefix):
            return (304 if not prefix else 412), prefix + "If-Modified-Since"
    return None


def copy_source(header: str) -> tuple[str, str]:
    """(bucket, key) of x-amz-copy-source ("/bucket/key" or "bucket/key", URL-encoded; a `+`
    is a space there, as S3 decodes this header)."""
    path, _, query = header.partition("?")
    if query:
        name, _, version = query.partition("=")
        if name != "versionId":
            raise S3Error("InvalidArgument", "Copy Source takes no query but versionId")
        check_version(unquote_plus(version))  # the one versionId rule of every request
    path = unquote_plus(path).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:  # S3 names the header, not the value, as ArgumentValue
        raise S3Error(
            "InvalidArgument",
            "Invalid copy source object key",
            ArgumentName="x-amz-copy-source",
            ArgumentValue="x-amz-copy-source",
        )
    return bucket, key


def part_page(marker: str | None, max_parts: str | None, names: str) -> tuple[int, int]:
    """The page of parts asked for (ListParts, GetObjectAttributes): the part number to list
    after and at most how many (1000 at most); InvalidArgument naming `names` otherwise."""
    try:
        return int(marker or 0), min(int(max_parts or 1000), 1000)
    except ValueError:
        raise S3Error("InvalidArgument", f"{names} must be integers") from None
