"""The one place where failures get their natsobj meaning.

Two tables, in the style of httpx's `map_exceptions`: NATS_PY_ERRORS turns every nats-py
exception that can reach natsobj into a natsobj error with a message that says what to do;
`api_error` turns a JetStream API error (err_code) into one. `classify` then tells every layer
above what a failure means for a write: transient (a retry can outlast it), refused by an
expectation header (nothing stored), a duplicate still in process, or refused for good
(permission, sealed, full, any other API error: nothing stored).
"""

from __future__ import annotations

import asyncio
import builtins
import enum
import re
from typing import Any

import nats.errors
import nats.js.errors

from .._wire.errors import (
    BucketExistsError,
    BucketFullError,
    BucketNotFoundError,
    BucketReadOnlyError,
    BucketSealedError,
    ChunkTooLargeError,
    ConnectionLostError,
    InvalidObjectNameError,
    JetStreamAPIError,
    ObjectStoreError,
    PermissionDeniedError,
    StoreTimeoutError,
)

# JetStream API err_codes (nats-server's errors.json)
ERR_STREAM_NOT_FOUND = 10059
ERR_STREAM_NAME_IN_USE = 10058
ERR_NO_MESSAGE_FOUND = 10037
ERR_SEALED = 10109
ERR_MAX_BYTES = 10077
ERR_DUPLICATE_IN_PROCESS = 10158
ERR_WRONG_LAST_MSG_ID = 10070
ERR_WRONG_LAST_SEQUENCE = 10071
ERR_WRONG_LAST_SEQUENCE_CLUSTERED = 10164
"""A clustered stream leader's refusal while another write to the subject is in flight
("wrong last sequence", no number): seen with three clients writing one new name on R3."""
_EXPECTATION_CODES = frozenset(
    {ERR_WRONG_LAST_MSG_ID, ERR_WRONG_LAST_SEQUENCE, ERR_WRONG_LAST_SEQUENCE_CLUSTERED}
)

# nats-py lower-cases the server's -ERR text, so match (and compare subjects) without case.
PERMISSION_RE = re.compile(
    r'Permissions Violation for (Publish|Subscription) to "?([^"\s]+)"?', re.IGNORECASE
)


def api_error(
    err: dict[str, Any], *, bucket: str | None = None, context: str = ""
) -> ObjectStoreError:
    """The natsobj error for a JetStream API error object."""
    code = int(err.get("code") or 0)
    err_code = int(err.get("err_code") or 0)
    description = str(err.get("description") or "")
    if bucket is not None:
        if err_code == ERR_STREAM_NOT_FOUND:
            return BucketNotFoundError(bucket)
        if err_code == ERR_STREAM_NAME_IN_USE:
            return BucketExistsError(bucket)
        if err_code == ERR_SEALED or "sealed" in description:
            return BucketSealedError(bucket)
        if err_code == ERR_MAX_BYTES or "maximum bytes" in description:
            return BucketFullError(bucket)
    if code == 403 or "permission" in description.lower():
        return PermissionDeniedError(f"{context}: {description}" if context else description)
    return JetStreamAPIError(code, err_code, description, context)


def _timeout(_exc: BaseException, context: str) -> ObjectStoreError:
    return StoreTimeoutError(f"{context}: the server did not answer in time")


def _no_responders(_exc: BaseException, context: str) -> ObjectStoreError:
    return StoreTimeoutError(
        f"{context}: no responders; is JetStream enabled on the server, and does the "
        "bucket's stream have a leader?"
    )


def _disconnected(exc: BaseException, context: str) -> ObjectStoreError:
    return ConnectionLostError(
        f"{context}: not connected to a NATS server ({type(exc).__name__}); check that the "
        "server is up and reachable, then try again"
    )


def _unauthorized(exc: BaseException, context: str) -> ObjectStoreError:
    return PermissionDeniedError(
        f"{context}: the server refused these credentials ({exc}); check the user, token, "
        "nkey or creds file"
    )


def _too_large(_exc: BaseException, context: str) -> ObjectStoreError:
    return ChunkTooLargeError(
        detail=f"{context}: the message is larger than the server's max_payload; use a "
        "smaller chunk_size, or fewer and shorter headers, metadata and description"
    )


def _bad_subject(exc: BaseException, context: str) -> ObjectStoreError:
    return InvalidObjectNameError(
        f"{context}: nats-py refused the subject or headers built from this name ({exc}); "
        "pick another object or bucket name"
    )


def _js_api(exc: BaseException, context: str) -> ObjectStoreError:
    err = {
        "code": getattr(exc, "code", 0),
        "err_code": getattr(exc, "err_code", 0),
        "description": getattr(exc, "description", "") or str(exc),
    }
    return api_error(err, context=context)


_TABLE: tuple[tuple[str, str, Any], ...] = (
    ("nats.errors", "NoRespondersError", _no_responders),
    ("nats.js.errors", "ServiceUnavailableError", _no_responders),
    ("nats.js.errors", "NoStreamResponseError", _no_responders),
    ("nats.js.errors", "FetchTimeoutError", _timeout),
    ("nats.js.errors", "APIError", _js_api),
    ("nats.errors", "FlushTimeoutError", _timeout),
    ("nats.errors", "DrainTimeoutError", _timeout),
    ("nats.errors", "TimeoutError", _timeout),
    ("asyncio", "TimeoutError", _timeout),
    ("builtins", "TimeoutError", _timeout),
    ("nats.errors", "AuthorizationError", _unauthorized),
    ("nats.errors", "InvalidUserCredentialsError", _unauthorized),
    ("nats.errors", "MaxPayloadError", _too_large),
    ("nats.errors", "BadSubjectError", _bad_subject),
    ("nats.errors", "BadHeaderError", _bad_subject),
    ("nats.errors", "ConnectionClosedError", _disconnected),
    ("nats.errors", "ConnectionDrainingError", _disconnected),
    ("nats.errors", "ConnectionReconnectingError", _disconnected),
    ("nats.errors", "NoServersError", _disconnected),
    ("nats.errors", "OutboundBufferLimitError", _disconnected),
    ("nats.errors", "StaleConnectionError", _disconnected),
    ("nats.errors", "UnexpectedEOF", _disconnected),
    ("nats.errors", "ServerNotInPoolError", _disconnected),
    ("nats.errors", "SecureConnRequiredError", _disconnected),
    ("nats.errors", "SecureConnWantedError", _disconnected),
    ("nats.errors", "SecureConnFailedError", _disconnected),
    ("nats.errors", "ProtocolError", _disconnected),
    ("builtins", "ConnectionError", _disconnected),
    ("builtins", "OSError", _disconnected),
)
_MODULES: dict[str, Any] = {
    "nats.errors": nats.errors,
    "nats.js.errors": nats.js.errors,
    "asyncio": asyncio,
    "builtins": builtins,
}
NATS_PY_ERRORS: tuple[tuple[type[BaseException], Any], ...] = tuple(
    (cls, make)
    for module, name, make in _TABLE
    if (cls := getattr(_MODULES[module], name, None)) is not None  # older nats-py lack some
)
"""nats-py's exceptions that can reach natsobj, most specific first, and natsobj's meaning."""

_UNREACHABLE: dict[str, str] = {
    "BadSubscriptionError": "natsobj never unsubscribes a subscription twice",
    "BadTimeoutError": "natsobj passes only positive timeouts",
    "InvalidCallbackTypeError": "natsobj's callbacks are all coroutine functions",
    "JsonParseError": "natsobj parses JetStream's JSON itself",
    "MsgAlreadyAckdError": "natsobj never acks a nats-py Msg",
    "NotJSMessageError": "natsobj reads JetStream metadata only of its own consumers",
    "SlowConsumerError": "reported through the error callback, never raised",
}
NOT_REACHING_NATSOBJ: dict[type[BaseException], str] = {
    cls: why
    for name, why in _UNREACHABLE.items()
    if (cls := getattr(nats.errors, name, None)) is not None
}
"""nats-py's exceptions that no call natsobj makes can raise (checked by tests/test_errors)."""


def map_nats_error(exc: BaseException, context: str) -> ObjectStoreError:
    """The natsobj error for an exception raised by nats-py (or the socket below it)."""
    if isinstance(exc, ObjectStoreError):
        return exc
    for kind, make in NATS_PY_ERRORS:
        if isinstance(exc, kind):
            return make(exc, context)
    return ObjectStoreError(
        f"{context}: unexpected {type(exc).__name__} from nats-py ({exc}); this is a natsobj "
        "bug, please report it with the traceback (--debug)"
    )


class Failure(enum.Enum):
    """What a failed write means for whoever wrote it."""

    TRANSIENT = "transient"
    """No answer, no leader, no connection: the write may or may not be stored; a retry of an
    idempotent write (rollup, Nats-Msg-Id) can outlast it."""
    REFUSED_EXPECTATION = "refused expectation"
    """A Nats-Expected-Last-* header did not hold: nothing was stored."""
    DUPLICATE = "duplicate in process"
    """A re-send met its original still being stored: its outcome is the original's."""
    REFUSED = "refused"
    """Permission, sealed, full, read-only (a mirror) or another API error: nothing was
    stored, nor will be."""
    OTHER = "other"
    """Not a JetStream answer (a bug, a local error): its effect on the server is unknown."""


def classify(exc: BaseException | None) -> Failure:
    """The meaning of `exc` for a write (see Failure)."""
    if isinstance(exc, (StoreTimeoutError, ConnectionLostError)):
        return Failure.TRANSIENT
    if isinstance(exc, JetStreamAPIError):
        if exc.code == 503:
            return Failure.TRANSIENT
        if exc.err_code in _EXPECTATION_CODES:
            return Failure.REFUSED_EXPECTATION
        if exc.err_code == ERR_DUPLICATE_IN_PROCESS:
            return Failure.DUPLICATE
        return Failure.REFUSED
    if isinstance(
        exc, (PermissionDeniedError, BucketSealedError, BucketFullError, BucketReadOnlyError)
    ):
        return Failure.REFUSED
    return Failure.OTHER


def is_transient(exc: BaseException | None) -> bool:
    """True for errors a retry can outlast: timeouts, reconnects, JetStream 503s."""
    return classify(exc) is Failure.TRANSIENT


def is_expectation_refused(exc: BaseException | None) -> bool:
    """True for the server's refusal of a publish whose Nats-Expected-Last-* header did not
    hold: nothing was stored."""
    return classify(exc) is Failure.REFUSED_EXPECTATION


def is_retryable_write(exc: BaseException | None) -> bool:
    """True if re-sending an idempotent write may succeed: transient, or a duplicate still in
    process (the re-send's ack then tells the original's outcome)."""
    return classify(exc) in (Failure.TRANSIENT, Failure.DUPLICATE)


def stored_nothing(exc: BaseException | None) -> bool:
    """True if the server refused the write, so that nothing was stored."""
    return classify(exc) in (Failure.REFUSED, Failure.REFUSED_EXPECTATION)
