"""Layer 3, jetstream (thin I/O): the JetStream API calls the store needs, with typed errors.

`api.JetStream` (requests, publishes, stream operations, direct gets), `messages` (stored
messages and publish acks as they come back), `readers` (batched direct gets and
flow-controlled consumers), `errors` (the one place where nats-py exceptions and
JetStream err_codes get their natsobj meaning) and `retry` (the one backoff loop).
"""

from .api import JetStream
from .errors import (
    ERR_DUPLICATE_IN_PROCESS,
    ERR_STREAM_NAME_IN_USE,
    Failure,
    api_error,
    classify,
    is_expectation_refused,
    is_retryable_write,
    is_transient,
    map_nats_error,
    stored_nothing,
)
from .messages import StoredMsg, ack_sequence, parse_ack, stored_msg
from .msgget import msg_get_last
from .readers import MULTI_LAST_LIMIT, ConsumerReader, DirectBatchReader, last_of_subjects
from .retry import deadline_in, retrying

__all__ = [
    "ERR_DUPLICATE_IN_PROCESS",
    "ERR_STREAM_NAME_IN_USE",
    "MULTI_LAST_LIMIT",
    "ConsumerReader",
    "DirectBatchReader",
    "Failure",
    "JetStream",
    "StoredMsg",
    "ack_sequence",
    "api_error",
    "classify",
    "deadline_in",
    "is_expectation_refused",
    "is_retryable_write",
    "is_transient",
    "last_of_subjects",
    "map_nats_error",
    "msg_get_last",
    "parse_ack",
    "retrying",
    "stored_msg",
    "stored_nothing",
]
