"""What JetStream sends back to the store: stored messages (direct get replies and consumer
deliveries) and publish acks, read into natsobj values or natsobj errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .._natspy import RawMsg, ack_seq, parse_headers
from .._wire.errors import ObjectStoreError, StoreTimeoutError
from .errors import api_error

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def from_ns(ns: int) -> datetime:
    """A UTC time from nanoseconds, truncated to microseconds as RFC 3339 parsing does."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


@dataclass
class StoredMsg:
    """A message read back from a stream (direct get or consumer delivery)."""

    subject: str
    seq: int
    data: bytes
    raw_headers: bytes | None
    time: str | None
    num_pending: int | None
    moment: datetime | None = None
    """The server's timestamp, when it came as a number (consumer deliveries)."""

    @property
    def headers(self) -> dict[str, str]:
        """The stored message's headers (parsed on each access: read them once)."""
        return parse_headers(self.raw_headers) or {}


def stored_msg(msg: RawMsg) -> StoredMsg:
    """A direct-get reply as a StoredMsg (its Nats-* headers describe the stored message)."""
    headers = msg.headers or {}
    pending = headers.get("Nats-Num-Pending")
    return StoredMsg(
        subject=headers.get("Nats-Subject", ""),
        seq=int(headers.get("Nats-Sequence", "0") or 0),
        data=msg.data,
        raw_headers=msg.raw_headers,
        time=headers.get("Nats-Time-Stamp"),
        num_pending=int(pending) if pending is not None else None,
    )


def ack_sequence(msg: RawMsg, *, bucket: str | None, subject: str) -> int:
    """The stream sequence a PubAck gives, or the natsobj error it reports (the common,
    successful ack is read without a JSON parse)."""
    seq = ack_seq(msg.data) if msg.raw_headers is None else None
    if seq is not None:
        return seq
    return int(parse_ack(msg, bucket=bucket, subject=subject).get("seq") or 0)


def parse_ack(msg: RawMsg, *, bucket: str | None, subject: str) -> dict[str, Any]:
    """The PubAck in `msg`, or the natsobj error it reports."""
    status = msg.status
    if status == "503":
        raise StoreTimeoutError(
            f"publish {subject}: no responders (the bucket's stream has no leader right now)"
        )
    try:
        doc = json.loads(msg.data)
    except ValueError as exc:
        raise ObjectStoreError(f"publish {subject}: unreadable ack {msg.data!r}") from exc
    if "error" in doc:
        raise api_error(doc["error"], bucket=bucket, context=f"publish {subject}")
    return doc
