"""The commit of a meta, as pure decisions: which guard it carries, and what its outcome means.

A put is committed by its meta; so are delete, update_meta and links. The meta carries a guard
(`Guard`): the sequence of the meta it replaces (`Nats-Expected-Last-Subject-Sequence`, 0 for
a new name), and on a single server, for a put alone on its store, the id of the chunk it must
follow (`Nats-Expected-Last-Msg-Id`), which lets it go out in the same round trip as the chunk.
`decide` maps what the server answered (`MetaOutcome`) to the next `Step`. No I/O here: every
rule is tested with plain values (tests/test_commit.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from .. import _wire as wire
from .._jetstream import Failure, classify
from .._wire.models import ObjectInfo
from .known import Known


@dataclass(frozen=True)
class Guard:
    """What a meta may replace, and the headers that make the server hold it to that."""

    last_seq: int | None
    """The sequence of the meta it replaces (0: the name has none); None: unguarded (rollup
    only), for names whose other subject no guard sees and for delete/update_meta/links."""
    replaces: Known | None = None
    """The version whose chunks go once the meta is stored."""
    after_msg_id: str | None = None
    """Single server only: stored only if this chunk is the stream's last message."""

    @classmethod
    def over(cls, found: ObjectInfo | None) -> Guard:
        """A guard over what a lookup found (None: a new name)."""
        if found is None:
            return cls(last_seq=0)
        return cls(last_seq=found.revision, replaces=Known.of(found))

    @classmethod
    def unguarded(cls, replaces: ObjectInfo | None = None) -> Guard:
        return cls(last_seq=None, replaces=Known.of(replaces) if replaces else None)

    def headers(self) -> dict[str, str]:
        if self.last_seq is None:
            return {wire.ROLLUP_HEADER: wire.ROLLUP_SUBJECT}
        headers = wire.meta_headers(self.last_seq)
        if self.after_msg_id is not None:
            headers[wire.EXPECTED_LAST_MSG_ID_HEADER] = self.after_msg_id
        return headers

    def without_chunk_check(self) -> Guard:
        return replace(self, after_msg_id=None) if self.after_msg_id else self


def plan_guard(
    *, known: Known | None, names_new: bool, other_subject: bool, streamed: bool = False
) -> Guard | None:
    """The guard of a put's meta if it can be known without a lookup; None: look the name up.

    `known`: the meta this client last saw at the name's subject; `names_new`: the last put
    found its name new (a guess: a wrong one costs a refusal and a lookup, one round trip);
    `streamed`: the chunks take long enough that a lookup beside them is free, so the name is
    looked up rather than guessed; `other_subject`: nats.js may have stored the name under a
    Latin-1 subject, which no guard sees (then it is looked up and committed unguarded).
    """
    if other_subject:
        return None
    if known is not None:
        return Guard(last_seq=known.seq, replaces=known)
    if names_new and not streamed:
        return Guard(last_seq=0)
    return None


def pipelines_meta(*, chunks: int, alone: bool, single_server: bool, guard: Guard | None) -> bool:
    """True if a put's meta may go out right behind its chunk, before the chunk's ack: one
    chunk, the only put on its store, a server that is not clustered (nats-server re-checks
    Nats-Expected-Last-Msg-Id on every replica as it applies it, and a chunk of another client
    in between stopped a follower for good), and a guard known without a lookup."""
    return (
        chunks == 1 and alone and single_server and guard is not None and guard.last_seq is not None
    )


@dataclass(frozen=True)
class MetaOutcome:
    """What came of sending a meta (after the retries of a transient failure)."""

    seq: int | None = None
    """The stream sequence the server stored it at."""
    error: BaseException | None = None
    sent: bool = True
    """False: it never left this client (cancelled or refused before it was queued)."""
    cancelled: bool = False
    """The sender was cancelled after it was sent, before an answer."""


class Step(enum.Enum):
    """What a commit does next."""

    STORED = "stored"
    """The server stored the meta: the put is complete; purge what it replaced."""
    REGUARD = "reguard"
    """A guard did not hold: nothing stored. Look the name up: if its meta is this one (a
    re-send met the first copy) it is stored; else guard over what is there and send again."""
    READ_BACK = "read back"
    """No clear answer (a lost ack, no leader, a cancellation in flight): ask the server."""
    ROLL_BACK = "roll back"
    """Refused for good (permission, sealed, full), or never sent: remove the new chunks and
    raise."""


def decide(outcome: MetaOutcome, *, identifiable: bool = True) -> Step:
    """The next step of a commit after `outcome`.

    `identifiable`: the meta names a version of its own (a put's or a link's new nuid), so a
    read-back can tell whether it landed. A tombstone or an update keeps the nuid of the
    version before it: unclear there means failed (nothing to roll back; get_info tells).
    """
    if outcome.seq is not None:
        return Step.STORED
    if not outcome.sent:
        return Step.ROLL_BACK
    failure = classify(outcome.error) if outcome.error is not None else Failure.TRANSIENT
    if failure is Failure.REFUSED_EXPECTATION:
        return Step.REGUARD
    if failure is Failure.REFUSED:
        return Step.ROLL_BACK
    return Step.READ_BACK if identifiable else Step.ROLL_BACK


def landed(found: ObjectInfo | None, ours: ObjectInfo) -> bool:
    """A read-back's verdict: the name's meta is the one `ours` describes (same nuid)."""
    return found is not None and found.nuid == ours.nuid and not found.deleted
