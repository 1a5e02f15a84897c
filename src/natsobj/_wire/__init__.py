"""Layer 1, the wire (pure): what an object store is made of, with no I/O.

Names and subjects (`names`), digests (`digest`), meta JSON and headers (`meta`), stream
configs (`config`), and the values (`models`) and errors (`errors`) every layer above uses.
Writes exactly what nats.go writes; reads what any client ever wrote (see
shared/spec/object-store-wire.md). Imports nothing of natsobj's above it.
"""

from .config import config_from_stream, status_from_stream, stream_config
from .digest import DIGEST_PREFIX, digest_hex, format_digest, parse_digest
from .meta import (
    EXPECTED_LAST_MSG_ID_HEADER,
    EXPECTED_LAST_SUBJECT_SEQ_HEADER,
    MSG_ID_HEADER,
    ROLLUP_HEADER,
    ROLLUP_SUBJECT,
    ZERO_TIME,
    decode_meta,
    encode_meta,
    format_time,
    meta_headers,
    parse_time,
)
from .names import (
    ALL_BUCKETS_CHUNKS,
    DEFAULT_CHUNK_SIZE,
    STREAM_PREFIX,
    all_chunks_subject,
    all_meta_subject,
    bucket_from_stream,
    bucket_subjects,
    chunk_msg_id,
    chunk_subject,
    chunk_subject_prefix,
    encode_name,
    encode_name_latin1,
    meta_subject,
    meta_subject_token,
    new_nuid,
    parse_chunk_msg_id,
    stream_name,
    validate_bucket_name,
    validate_object_name,
)

__all__ = [
    "ALL_BUCKETS_CHUNKS",
    "DEFAULT_CHUNK_SIZE",
    "DIGEST_PREFIX",
    "EXPECTED_LAST_MSG_ID_HEADER",
    "EXPECTED_LAST_SUBJECT_SEQ_HEADER",
    "MSG_ID_HEADER",
    "ROLLUP_HEADER",
    "ROLLUP_SUBJECT",
    "STREAM_PREFIX",
    "ZERO_TIME",
    "all_chunks_subject",
    "all_meta_subject",
    "bucket_from_stream",
    "bucket_subjects",
    "chunk_msg_id",
    "chunk_subject",
    "chunk_subject_prefix",
    "config_from_stream",
    "decode_meta",
    "digest_hex",
    "encode_meta",
    "encode_name",
    "encode_name_latin1",
    "format_digest",
    "format_time",
    "meta_headers",
    "meta_subject",
    "meta_subject_token",
    "new_nuid",
    "parse_chunk_msg_id",
    "parse_digest",
    "parse_time",
    "status_from_stream",
    "stream_config",
    "stream_name",
    "validate_bucket_name",
    "validate_object_name",
]
