"""The commit's decisions, with plain values: no server, no event loop (as _wire's vectors)."""

from __future__ import annotations

import asyncio

import pytest

from natsobj import (
    BucketFullError,
    BucketSealedError,
    ConnectionLostError,
    JetStreamAPIError,
    ObjectInfo,
    PermissionDeniedError,
    StoreTimeoutError,
)
from natsobj._store.commit import (
    Guard,
    MetaOutcome,
    Step,
    decide,
    landed,
    pipelines_meta,
    plan_guard,
)
from natsobj._store.known import Known

REFUSALS = {
    "wrong last sequence": JetStreamAPIError(400, 10071, "wrong last sequence: 5"),
    "wrong last sequence, clustered": JetStreamAPIError(400, 10164, "wrong last sequence"),
    "wrong last msg id": JetStreamAPIError(400, 10070, "wrong last msg ID: x.0"),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_refusal_by_each_guard_looks_the_name_up_and_guards_again(name: str) -> None:
    assert decide(MetaOutcome(error=REFUSALS[name])) is Step.REGUARD
    assert decide(MetaOutcome(error=REFUSALS[name]), identifiable=False) is Step.REGUARD


def test_an_acked_meta_is_stored() -> None:
    assert decide(MetaOutcome(seq=42)) is Step.STORED
    assert decide(MetaOutcome(seq=42, cancelled=True)) is Step.STORED  # cancelled after send


@pytest.mark.parametrize(
    "error",
    [
        StoreTimeoutError("publish: the server did not answer in time"),  # a lost ack
        ConnectionLostError("not connected"),
        JetStreamAPIError(503, 0, "no leader"),
        JetStreamAPIError(400, 10158, "duplicate message id is in process"),
        RuntimeError("unknown effect"),
    ],
)
def test_an_unclear_outcome_is_read_back(error: BaseException) -> None:
    assert decide(MetaOutcome(error=error)) is Step.READ_BACK


def test_an_unclear_outcome_of_a_meta_without_a_version_of_its_own_fails() -> None:
    """A tombstone or an update keeps the old nuid: a read-back could not tell."""
    lost = MetaOutcome(error=StoreTimeoutError("lost ack"))
    assert decide(lost, identifiable=False) is Step.ROLL_BACK


@pytest.mark.parametrize(
    "error",
    [
        PermissionDeniedError("permission denied"),
        BucketSealedError("b"),
        BucketFullError("b"),
        JetStreamAPIError(400, 10999, "some other refusal"),
    ],
)
def test_a_refusal_for_good_rolls_back(error: BaseException) -> None:
    assert decide(MetaOutcome(error=error)) is Step.ROLL_BACK


def test_a_meta_cancelled_before_it_was_sent_rolls_back() -> None:
    outcome = MetaOutcome(error=asyncio.CancelledError(), sent=False, cancelled=True)
    assert decide(outcome) is Step.ROLL_BACK


def test_a_meta_cancelled_after_it_was_sent_is_read_back() -> None:
    assert decide(MetaOutcome(cancelled=True)) is Step.READ_BACK


def test_a_read_back_tells_its_own_version_by_the_nuid() -> None:
    ours = ObjectInfo(name="a", bucket="b", nuid="N1")
    assert landed(ObjectInfo(name="a", bucket="b", nuid="N1", revision=9), ours)
    assert not landed(ObjectInfo(name="a", bucket="b", nuid="N2", revision=9), ours)
    assert not landed(ObjectInfo(name="a", bucket="b", nuid="N1", deleted=True), ours)
    assert not landed(None, ours)


def test_the_guard_of_a_put_comes_from_what_the_store_knows_else_a_guess_else_a_lookup() -> None:
    known = Known(seq=7, nuid="OLD")
    assert plan_guard(known=known, names_new=False, other_subject=False) == Guard(7, known)
    assert plan_guard(known=None, names_new=True, other_subject=False) == Guard(0)
    assert plan_guard(known=None, names_new=False, other_subject=False) is None
    assert plan_guard(known=None, names_new=True, other_subject=False, streamed=True) is None
    assert plan_guard(known=known, names_new=True, other_subject=True) is None


def test_guard_headers_are_the_rollup_and_the_expected_last_headers() -> None:
    assert Guard(None).headers() == {"Nats-Rollup": "sub"}
    assert Guard(0).headers() == {
        "Nats-Rollup": "sub",
        "Nats-Expected-Last-Subject-Sequence": "0",
    }
    assert Guard(5, after_msg_id="n.0").headers() == {
        "Nats-Rollup": "sub",
        "Nats-Expected-Last-Subject-Sequence": "5",
        "Nats-Expected-Last-Msg-Id": "n.0",
    }
    assert Guard(5, after_msg_id="n.0").without_chunk_check() == Guard(5)


def test_a_guard_over_a_lookup_replaces_only_live_chunks() -> None:
    live = ObjectInfo(name="a", bucket="b", nuid="L", revision=3)
    tomb = ObjectInfo(name="a", bucket="b", nuid="L", revision=4, deleted=True)
    assert Guard.over(None) == Guard(0)
    assert Guard.over(live) == Guard(3, Known(3, "L"))
    assert Guard.over(tomb) == Guard(4, Known(4, None))


def test_only_a_lone_one_chunk_put_on_a_single_server_sends_its_meta_unacked() -> None:
    guard = Guard(0)
    assert pipelines_meta(chunks=1, alone=True, single_server=True, guard=guard)
    assert not pipelines_meta(chunks=1, alone=True, single_server=False, guard=guard)
    assert not pipelines_meta(chunks=1, alone=False, single_server=True, guard=guard)
    assert not pipelines_meta(chunks=0, alone=True, single_server=True, guard=guard)
    assert not pipelines_meta(chunks=1, alone=True, single_server=True, guard=None)
    assert not pipelines_meta(chunks=1, alone=True, single_server=True, guard=Guard(None))
