"""Names and subjects: bucket and object name rules, stream and subject names, nuids and
chunk msg ids."""

from __future__ import annotations

import base64
import re

from nats.nuid import NUID

from .errors import (
    InvalidBucketNameError,
    InvalidObjectNameError,
)

DEFAULT_CHUNK_SIZE = 128 * 1024
STREAM_PREFIX = "OBJ_"
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


def decode_name_token(token: str) -> str | None:
    """The object name a meta subject token stands for (UTF-8, else nats.js's Latin-1), or
    None if the token is not base64url. The meta itself holds the authoritative name."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def chunk_subject(bucket: str, nuid: str) -> str:
    return f"$O.{bucket}.C.{nuid}"


ALL_BUCKETS_CHUNKS = "$O.*.C.>"
"""The chunk subjects of every bucket: a stream that holds them backs an object store."""


def bucket_subjects(bucket: str) -> str:
    """Every subject of `bucket` (chunks and metas)."""
    return f"$O.{bucket}.>"


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
