"""aws-chunked request bodies, sans-I/O: `ChunkedDecoder` decodes them and, for the signed
variants, verifies every chunk's signature in the chain (and the trailer's) before it hands a
byte over; the trailers (x-amz-checksum-*) come back from `finish()`."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence

from ._canonical import _header_map, _hmac_hex, _one, _same
from ._sigv4 import (
    _STREAMING,
    EMPTY_SHA256,
    STREAMING_SIGNED,
    STREAMING_UNSIGNED_TRAILER,
    AuthError,
    Verified,
)

__all__ = ["ChunkedDecoder"]

# --- aws-chunked bodies --------------------------------------------------------------------

_LINE_LIMIT = 4096  # a chunk header is ~90 bytes; S3 allows extensions, not kilobytes of them
_TRAILER_LIMIT = 16384
_DEFAULT_MAX_SIGNED_CHUNK = 16 * 1024 * 1024

# Decoder states. After the last (empty) chunk of a trailer variant: _AFTER_LAST; a CRLF there
# may end the body or precede the trailers (encoders differ): _MAYBE_DONE.
_HEADER, _DATA, _DATA_END, _AFTER_LAST, _MAYBE_DONE, _TRAILERS, _DONE = range(7)


def _chunk_sts(verified: Verified, previous: str, chunk_sha256: str) -> bytes:
    return (
        f"AWS4-HMAC-SHA256-PAYLOAD\n{verified.amz_date}\n{verified.scope}\n{previous}\n"
        f"{EMPTY_SHA256}\n{chunk_sha256}"
    ).encode()


class ChunkedDecoder:
    """Decodes (and for the signed variants verifies) an aws-chunked body, sans-I/O.

    `feed(data)` returns the payload pieces decoded so far; `finish()` checks the body ended
    where it should and returns the trailers (e.g. {"x-amz-checksum-crc32": "..."}). Unsigned
    chunk data passes straight through; a signed chunk is held (as the pieces it came in, not
    copied) until its signature checks out, so nothing unverified is ever returned. Errors are
    `AuthError`s: SignatureDoesNotMatch for a bad chunk or trailer signature, IncompleteBody for
    a body that ends early or is shorter than `decoded_length`, InvalidRequest for bad framing.
    """

    def __init__(
        self,
        verified: Verified | None,
        decoded_length: int | None = None,
        *,
        declared_trailers: Collection[str] | None = None,
        max_signed_chunk: int = _DEFAULT_MAX_SIGNED_CHUNK,
    ) -> None:
        """`verified` is the request's `Verified` (its payload must be a STREAMING_* value),
        or None for an unsigned-trailer body (use `ChunkedDecoder.unsigned()`).
        `decoded_length` is x-amz-decoded-content-length. `declared_trailers` are the names
        in x-amz-trailer: when given, exactly those trailers must arrive."""
        mode = STREAMING_UNSIGNED_TRAILER if verified is None else verified.payload
        if mode not in _STREAMING:
            raise ValueError(f"payload {mode!r} is not aws-chunked")
        self._verified = verified
        self._signed = mode != STREAMING_UNSIGNED_TRAILER
        self._trailer = mode != STREAMING_SIGNED
        self._previous = verified.signature if verified is not None else ""
        self._decoded_length = decoded_length
        self._declared = (
            None if declared_trailers is None else {n.strip().lower() for n in declared_trailers}
        )
        self._max_signed_chunk = max_signed_chunk
        self._state = _HEADER
        self._buffer = b""
        self._remaining = 0  # bytes of the current chunk's data still to come
        self._chunk_signature = ""
        self._held: list[bytes] = []
        self._last = False
        self._hash = hashlib.sha256()
        self._total = 0
        self._chunks = 0
        self._trailer_lines: list[tuple[str, str]] = []
        self._trailer_bytes = 0
        self._trailer_signature: str | None = None
        self._error: AuthError | None = None  # once broken, a decoder stays broken

    @classmethod
    def unsigned(
        cls, decoded_length: int | None = None, *, declared_trailers: Collection[str] | None = None
    ) -> ChunkedDecoder:
        """A decoder for a STREAMING-UNSIGNED-PAYLOAD-TRAILER body."""
        return cls(None, decoded_length, declared_trailers=declared_trailers)

    @classmethod
    def for_request(
        cls, verified: Verified, headers: Sequence[tuple[bytes, bytes]]
    ) -> ChunkedDecoder:
        """The decoder of a verified aws-chunked request, with its x-amz-decoded-content-length
        (required, as S3 requires it) and, for the trailer variants, its x-amz-trailer."""
        hmap = _header_map(headers)
        length = _one(hmap, "x-amz-decoded-content-length")
        if length is None:
            raise AuthError(
                "MissingContentLength",
                "an aws-chunked upload must send x-amz-decoded-content-length",
            )
        if not length.isascii() or not length.isdigit():
            raise AuthError(
                "InvalidArgument", f"x-amz-decoded-content-length {length!r} is not a number"
            )
        declared: list[str] | None = None
        if verified.payload != STREAMING_SIGNED:
            trailer = _one(hmap, "x-amz-trailer") or ""
            declared = [t.strip() for t in trailer.split(",") if t.strip()]
        return cls(verified, int(length), declared_trailers=declared)

    @property
    def decoded(self) -> int:
        """Payload bytes decoded so far."""
        return self._total

    def feed(self, data: bytes) -> list[bytes]:
        """Take the next bytes of the body; return the payload pieces now known to be good."""
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except AuthError as error:
            self._error = error
            raise

    def finish(self) -> dict[str, str]:
        """The body ended: check it was complete and return its trailers."""
        if self._error is not None:
            raise self._error
        try:
            return self._finish()
        except AuthError as error:
            self._error = error
            raise

    # --- internals -------------------------------------------------------------------------

    def _feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = data if take == end else bytes(view[pos : pos + take])
                pos += take
                self._remaining -= take
                self._count(take)
                if self._signed:
                    self._hash.update(piece)
                    self._held.append(piece)
                else:
                    out.append(piece)
                if self._remaining == 0:
                    self._state = _DATA_END
            elif state == _DONE:
                raise AuthError("InvalidRequest", "data after the end of the aws-chunked body")
            else:
                newline = data.find(b"\n", pos)
                if newline < 0:
                    self._buffer += data[pos:]
                    pos = end
                    self._check_line_length()
                    continue
                line = self._buffer + data[pos : newline + 1]
                self._buffer = b""
                pos = newline + 1
                self._line(line, out)
        self._check_line_length()
        return out

    def _finish(self) -> dict[str, str]:
        if self._state == _MAYBE_DONE and not self._buffer:
            self._state = _DONE
        if self._state != _DONE:
            raise AuthError(
                "IncompleteBody",
                "The aws-chunked body ended early (after "
                f"{self._total} decoded bytes, in the middle of "
                f"{'a chunk' if self._state in (_DATA, _DATA_END) else 'the framing'})",
            )
        if self._decoded_length is not None and self._total != self._decoded_length:
            raise AuthError(
                "IncompleteBody",
                f"The body decoded to {self._total} bytes, but x-amz-decoded-content-length "
                f"is {self._decoded_length}",
            )
        trailers = dict(self._trailer_lines)
        if self._signed and self._trailer:
            self._check_trailer_signature()
        if self._declared is not None:
            missing = sorted(self._declared - trailers.keys())
            extra = sorted(trailers.keys() - self._declared)
            if missing:
                raise AuthError(
                    "IncompleteBody",
                    f"x-amz-trailer declares {', '.join(missing)}, but the body did not send it",
                )
            if extra:
                raise AuthError(
                    "InvalidRequest",
                    f"the body sent trailers not declared in x-amz-trailer: {', '.join(extra)}",
                )
        return trailers

    def _check_line_length(self) -> None:
        limit = _LINE_LIMIT if self._state in (_HEADER, _DATA_END) else _TRAILER_LIMIT
        if len(self._buffer) > limit:
            raise AuthError("InvalidRequest", "an aws-chunked header or trailer line is too long")

    def _count(self, n: int) -> None:
        self._total += n
        if self._decoded_length is not None and self._total > self._decoded_length:
            raise AuthError(
                "InvalidRequest",
                f"The body is longer than x-amz-decoded-content-length ({self._decoded_length})",
            )

    def _line(self, line: bytes, out: list[bytes]) -> None:
        if not line.endswith(b"\r\n"):
            raise AuthError("InvalidRequest", "aws-chunked lines must end with CRLF")
        line = line[:-2]
        if self._state == _HEADER:
            self._chunk_header(line)
        elif self._state == _DATA_END:
            if line:
                raise AuthError("InvalidRequest", "a chunk's data is longer than its size")
            self._end_chunk(out)
        else:
            self._trailer_line(line)

    def _chunk_header(self, line: bytes) -> None:
        size_text, _, extensions = line.partition(b";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > 16 or not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
            raise AuthError("InvalidRequest", f"bad aws-chunked chunk size {size_text[:32]!r}")
        size = int(size_text, 16)
        self._chunks += 1
        signature = ""
        for extension in extensions.split(b";") if extensions else ():
            name, _, value = extension.partition(b"=")
            if name.strip() == b"chunk-signature":
                signature = value.strip().decode("latin-1")
        if self._signed:
            if not signature:
                raise AuthError(
                    "SignatureDoesNotMatch", f"chunk {self._chunks} has no chunk-signature"
                )
            if size > self._max_signed_chunk:
                raise AuthError(
                    "InvalidRequest",
                    f"a signed chunk of {size} bytes is larger than the {self._max_signed_chunk} "
                    "this gateway accepts",
                )
        self._chunk_signature = signature
        self._hash = hashlib.sha256()
        self._held = []
        self._remaining = size
        self._last = size == 0
        if size == 0:
            if self._signed:
                self._verify_chunk()
            # The last chunk: a CRLF ends the body; with trailers, they follow (some encoders
            # put a CRLF before them, as if after empty chunk data; botocore does not).
            self._state = _AFTER_LAST if self._trailer else _DATA_END
        else:
            self._state = _DATA

    def _verify_chunk(self) -> None:
        assert self._verified is not None
        sts = _chunk_sts(self._verified, self._previous, self._hash.hexdigest())
        expected = _hmac_hex(self._verified.signing_key, sts)
        if not _same(expected, self._chunk_signature):
            raise AuthError(
                "SignatureDoesNotMatch",
                f"the signature of chunk {self._chunks} does not match its data",
            )
        self._previous = expected

    def _end_chunk(self, out: list[bytes]) -> None:
        if self._last:
            self._state = _DONE
            return
        if self._signed:
            self._verify_chunk()
            out.extend(self._held)
            self._held = []
        self._state = _HEADER

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > _TRAILER_LIMIT:
            raise AuthError("InvalidRequest", "the aws-chunked trailers are too long")
        if not line:
            # A CRLF right after the last chunk may be followed by trailers; anywhere else a
            # blank line ends them, and the body.
            self._state = _MAYBE_DONE if self._state == _AFTER_LAST else _DONE
            return
        self._state = _TRAILERS
        name, colon, value = line.partition(b":")
        if not colon:
            raise AuthError("InvalidRequest", f"bad aws-chunked trailer line {line[:64]!r}")
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        if key == "x-amz-trailer-signature":
            if self._trailer_signature is not None:
                raise AuthError("InvalidRequest", "x-amz-trailer-signature is sent twice")
            self._trailer_signature = text
        elif any(key == k for k, _ in self._trailer_lines):
            raise AuthError("InvalidRequest", f"the trailer {key} is sent twice")
        else:
            self._trailer_lines.append((key, text))

    def _check_trailer_signature(self) -> None:
        assert self._verified is not None
        if self._trailer_signature is None:
            raise AuthError("SignatureDoesNotMatch", "the body has no x-amz-trailer-signature")
        canonical = "".join(f"{k}:{v}\n" for k, v in self._trailer_lines).encode("latin-1")
        sts = (
            f"AWS4-HMAC-SHA256-TRAILER\n{self._verified.amz_date}\n{self._verified.scope}\n"
            f"{self._previous}\n{hashlib.sha256(canonical).hexdigest()}"
        ).encode()
        expected = _hmac_hex(self._verified.signing_key, sts)
        if not _same(expected, self._trailer_signature):
            raise AuthError(
                "SignatureDoesNotMatch", "the x-amz-trailer-signature does not match the trailers"
            )
