"""The object store wire format: subjects, name and digest encoding, meta JSON, stream config.

Pure functions, no I/O. Writes exactly what nats.go writes; reads what any client ever wrote
(see shared/spec/object-store-wire.md, sections 2-5 and 14).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from nats.nuid import NUID

from ._errors import (
    BadObjectMetaError,
    InvalidBucketNameError,
    InvalidObjectNameError,
)
from ._models import (
    ObjectInfo,
    ObjectLink,
    ObjectMetaOptions,
    ObjectStoreConfig,
)

DEFAULT_CHUNK_SIZE = 128 * 1024
STREAM_PREFIX = "OBJ_"
ROLLUP_HEADER = "Nats-Rollup"
ROLLUP_SUBJECT = "sub"
MSG_ID_HEADER = "Nats-Msg-Id"
EXPECTED_LAST_MSG_ID_HEADER = "Nats-Expected-Last-Msg-Id"
EXPECTED_LAST_SUBJECT_SEQ_HEADER = "Nats-Expected-Last-Subject-Sequence"
ZERO_TIME = "0001-01-01T00:00:00Z"
DIGEST_PREFIX = "SHA-256="

try:  # orjson parses metas about four times faster; the standard library is the fallback
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover
    _json_loads = json.loads

_BUCKET_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_nuid = NUID()


# ---------------------------------------------------------------------------------------------
# names and subjects


def validate_bucket_name(bucket: str) -> str:
    """Return the bucket name if it is valid, else raise InvalidBucketNameError."""
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket):
        raise InvalidBucketNameError(str(bucket))
    return bucket


def validate_object_name(name: str) -> str:
    """Return the object name if it is usable (non-empty), else raise InvalidObjectNameError."""
    if not isinstance(name, str) or name == "":
        raise InvalidObjectNameError()
    return name


def stream_name(bucket: str) -> str:
    """The JetStream stream that backs a bucket."""
    return STREAM_PREFIX + bucket


def bucket_from_stream(stream: str) -> str | None:
    """The bucket a stream name backs, or None if it is not an object store stream."""
    return stream[len(STREAM_PREFIX) :] if stream.startswith(STREAM_PREFIX) else None


def encode_name(name: str) -> str:
    """Padded base64url of the UTF-8 name: the meta subject token (Go's URLEncoding)."""
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii")


def encode_name_latin1(name: str) -> str | None:
    """The token nats.js writes for names whose code points are all <= U+00FF, else None."""
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        return None
    token = base64.urlsafe_b64encode(raw).decode("ascii")
    return None if token == encode_name(name) else token


def chunk_subject(bucket: str, nuid: str) -> str:
    return f"$O.{bucket}.C.{nuid}"


def chunk_subject_prefix(bucket: str) -> str:
    return f"$O.{bucket}.C."


def meta_subject(bucket: str, name: str) -> str:
    return f"$O.{bucket}.M.{encode_name(name)}"


def meta_subject_token(bucket: str, token: str) -> str:
    return f"$O.{bucket}.M.{token}"


def all_meta_subject(bucket: str) -> str:
    return f"$O.{bucket}.M.>"


def all_chunks_subject(bucket: str) -> str:
    return f"$O.{bucket}.C.>"


def new_nuid() -> str:
    """A standard 22-character NATS NUID."""
    return _nuid.next().decode("ascii")


def chunk_msg_id(nuid: str, index: int, rewrite: int = 0) -> str:
    """Nats-Msg-Id of chunk `index` of version `nuid`: makes re-sent chunks idempotent.

    A chunk re-published to restore the order after a failover gets a suffix `.r<n>`, so the
    duplicate window does not drop it as a repeat of the copy it replaces.
    """
    base = f"{nuid}.{index}"
    return f"{base}.r{rewrite}" if rewrite else base


def parse_chunk_msg_id(value: str | None, nuid: str) -> int | None:
    """The chunk index a natsobj writer recorded in Nats-Msg-Id, or None."""
    if not value or not value.startswith(nuid + "."):
        return None
    index, _, rewrite = value[len(nuid) + 1 :].partition(".")
    if not index.isdigit() or (rewrite and not (rewrite[:1] == "r" and rewrite[1:].isdigit())):
        return None
    return int(index)


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


# ---------------------------------------------------------------------------------------------
# time


def format_time(moment: datetime | None) -> str:
    """RFC 3339 UTC with a 'Z' (Go and .NET parse it); the Go zero time for None."""
    if moment is None:
        return ZERO_TIME
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def parse_time(value: Any) -> datetime | None:
    """A timestamp as any client wrote it (RFC 3339, Go's text form), or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed: datetime | None = datetime.fromisoformat(value)  # most forms, on 3.11+
    except ValueError:
        parsed = _parse_time_slowly(value.strip())
    if parsed is None or parsed.year <= 1:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _parse_time_slowly(text: str) -> datetime | None:
    # Go's time.String(): "2022-08-06 00:29:27.587861324 +0000 UTC"
    go = re.fullmatch(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))? ([+-]\d{4})(?: \w+)?", text)
    if go:
        day, clock, frac, offset = go.groups()
        text = f"{day}T{clock}{'.' + frac if frac else ''}{offset[:3]}:{offset[3:]}"
    match = re.fullmatch(
        r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)?", text
    )
    if not match:
        return None
    day, clock, frac, zone = match.groups()
    micro = (frac or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{day}T{clock}.{micro}{zone}")
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# meta JSON


def meta_headers(replaces: int) -> dict[str, str]:
    """Headers of a meta that replaces only the name's meta at stream sequence `replaces` (0:
    the name has none): the rollup every client sends, and JetStream's expected-last guard,
    which makes the server refuse it if another version landed meanwhile."""
    return {ROLLUP_HEADER: ROLLUP_SUBJECT, EXPECTED_LAST_SUBJECT_SEQ_HEADER: str(replaces)}


def encode_meta(info: ObjectInfo) -> bytes:
    """The meta message payload for `info`, with Go's keys, order and omissions."""
    doc: dict[str, Any] = {"name": info.name}
    if info.description:
        doc["description"] = info.description
    if info.headers:
        doc["headers"] = {k: list(v) for k, v in info.headers.items()}
    if info.metadata:
        doc["metadata"] = dict(info.metadata)
    options: dict[str, Any] = {}
    if info.options is not None:
        if info.options.link is not None:
            link: dict[str, str] = {"bucket": info.options.link.bucket}
            if info.options.link.name:
                link["name"] = info.options.link.name
            options["link"] = link
        if info.options.max_chunk_size:
            options["max_chunk_size"] = info.options.max_chunk_size
        doc["options"] = options
    doc["bucket"] = info.bucket
    doc["nuid"] = info.nuid
    doc["size"] = info.size
    doc["mtime"] = format_time(info.mtime)
    doc["chunks"] = info.chunks
    if info.digest:
        doc["digest"] = info.digest
    if info.deleted:
        doc["deleted"] = True
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _bad(detail: str) -> BadObjectMetaError:
    return BadObjectMetaError(f"object-store meta information invalid: {detail}")


_new_info = object.__new__
_CANONICAL_DIGEST = re.compile(r"SHA-256=[A-Za-z0-9_-]{43}=")
_OPTIONS_CACHE: dict[tuple[str | None, str | None, int], ObjectMetaOptions] = {}


def _options(doc: Any) -> ObjectMetaOptions | None:
    if doc is None:
        return None
    if type(doc) is not dict:
        raise _bad("options")
    link_doc = doc.get("link")
    bucket = name = None
    if link_doc is not None:
        if type(link_doc) is not dict or type(link_doc.get("bucket")) is not str:
            raise _bad("link")
        bucket = link_doc["bucket"]
        name = link_doc.get("name") or None
        if name is not None and type(name) is not str:
            raise _bad("link name")
    chunk = doc.get("max_chunk_size") or 0
    if type(chunk) is not int or chunk < 0:
        raise _bad(f"max_chunk_size {chunk!r}")
    key = (bucket, name, chunk)
    options = _OPTIONS_CACHE.get(key)
    if options is None:  # values are immutable, so equal ones can be shared
        link = ObjectLink(bucket=bucket, name=name) if bucket is not None else None
        options = ObjectMetaOptions(link=link, max_chunk_size=chunk)
        if len(_OPTIONS_CACHE) < 1024:
            _OPTIONS_CACHE[key] = options
    return options


def decode_meta(
    payload: bytes, *, server_time: datetime | None = None, revision: int = 0
) -> ObjectInfo:
    """Parse a meta message as any client wrote it. Raises BadObjectMetaError.

    Missing size/chunks count as 0, missing or null description/digest as None, unknown keys
    (such as nats.js's 'revision') are ignored. mtime comes from the server time when given.
    This runs once per object in list() and watch(), so it is written for speed.
    """
    try:
        doc = _json_loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(str(exc)) from exc
    if type(doc) is not dict:
        raise _bad("not a JSON object")
    get = doc.get
    name = get("name")
    if not name or type(name) is not str:
        raise _bad("no name")
    bucket, nuid, description, digest = (
        get("bucket"),
        get("nuid"),
        get("description") or None,
        get("digest") or None,
    )
    if not (
        (bucket is None or type(bucket) is str)
        and (nuid is None or type(nuid) is str)
        and (description is None or type(description) is str)
        and (digest is None or type(digest) is str)
    ):
        for key in ("bucket", "nuid", "description", "digest"):
            if get(key) is not None and type(get(key)) is not str:
                raise _bad(f"{key} is not a string: {get(key)!r}")
    size, chunks = get("size") or 0, get("chunks") or 0
    if type(size) is not int or type(chunks) is not int or size < 0 or chunks < 0:
        for key, value in (("size", size), ("chunks", chunks)):
            if type(value) is not int or value < 0:
                raise _bad(f"{key} is not a non-negative integer: {value!r}")
    headers: dict[str, list[str]] = {}
    headers_doc = get("headers")
    if headers_doc:
        if type(headers_doc) is not dict:
            raise _bad("headers")
        for key, values in headers_doc.items():
            if type(values) is str:
                values = [values]
            if type(values) is not list or not all(type(v) is str for v in values):
                raise _bad(f"header {key!r}")
            headers[key] = values
    metadata: dict[str, str] = {}
    metadata_doc = get("metadata")
    if metadata_doc:
        if type(metadata_doc) is not dict:
            raise _bad("metadata")
        metadata = {k: v if type(v) is str else str(v) for k, v in metadata_doc.items()}
    deleted = get("deleted") is True
    if digest is not None and not deleted and not _CANONICAL_DIGEST.fullmatch(digest):
        parse_digest(digest)  # a legacy form: accept it, or reject garbage here
    # A frozen dataclass's __init__ sets each field through object.__setattr__; filling the
    # instance dict at once builds the same object in a quarter of the time (list() of 10,000).
    info = _new_info(ObjectInfo)
    info.__dict__.update(
        name=name,
        bucket=bucket or "",
        nuid=nuid or "",
        size=size,
        chunks=chunks,
        digest=digest,
        mtime=server_time or parse_time(get("mtime")),
        deleted=deleted,
        description=description,
        headers=headers,
        metadata=metadata,
        options=_options(get("options")),
        revision=revision,
    )
    return info


# ---------------------------------------------------------------------------------------------
# stream config


def stream_config(config: ObjectStoreConfig) -> dict[str, Any]:
    """The JetStream stream config for a bucket, as nats.go builds it."""
    validate_bucket_name(config.bucket)
    ttl = config.ttl
    max_age = 0
    if ttl is not None:
        seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
        max_age = int(seconds * 1_000_000_000)
    doc: dict[str, Any] = {
        "name": stream_name(config.bucket),
        "subjects": [all_chunks_subject(config.bucket), all_meta_subject(config.bucket)],
        "max_age": max_age,
        "max_bytes": config.max_bytes if config.max_bytes else -1,
        "storage": config.storage or "file",
        "num_replicas": config.replicas or 1,
        "discard": "new",
        "allow_rollup_hdrs": True,
        "allow_direct": True,
        "compression": "s2" if config.compression else "none",
    }
    if config.description:
        doc["description"] = config.description
    if config.placement:
        doc["placement"] = dict(config.placement)
    if config.metadata:
        doc["metadata"] = dict(config.metadata)
    return doc


def config_from_stream(stream_cfg: Mapping[str, Any]) -> ObjectStoreConfig:
    """The bucket config a stream config describes."""
    name = str(stream_cfg.get("name", ""))
    max_age = int(stream_cfg.get("max_age") or 0)
    max_bytes = int(stream_cfg.get("max_bytes") or -1)
    metadata = {
        k: v for k, v in (stream_cfg.get("metadata") or {}).items() if not k.startswith("_nats.")
    }
    return ObjectStoreConfig(
        bucket=bucket_from_stream(name) or name,
        description=stream_cfg.get("description") or None,
        ttl=timedelta(microseconds=max_age // 1000) if max_age > 0 else None,
        max_bytes=max_bytes if max_bytes > 0 else None,
        storage=str(stream_cfg.get("storage") or "file"),
        replicas=int(stream_cfg.get("num_replicas") or 1),
        compression=stream_cfg.get("compression", "none") not in ("none", "", None),
        placement=stream_cfg.get("placement") or None,
        metadata=metadata or None,
    )
