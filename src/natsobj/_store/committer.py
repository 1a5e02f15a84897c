"""commit(): send a meta until the server decides; the replaced chunks go to the janitor.

Every meta goes through here: a put's (whatever its variant), a tombstone, an update, a link.
The decisions are `commit.decide`'s; this module only carries them out. Once a meta is sent,
the commit ends as the server decided, even if the caller is cancelled meanwhile (the
cancellation goes on afterwards): stored, the put is complete; not stored, `rollback` removes
the new chunks. No half-written object remains.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .. import _wire as wire
from .._jetstream import deadline_in, is_retryable_write, retrying
from .._transfer import run_to_end
from .._wire.errors import ObjectStoreError, RevisionMismatchError
from .._wire.models import ObjectInfo
from .bucket import Bucket
from .commit import Guard, MetaOutcome, Step, decide, landed
from .known import Known

Action = Callable[[], Awaitable[None]]


async def commit(
    bucket: Bucket,
    info: ObjectInfo,
    guard: Guard,
    *,
    rollback: Action | None = None,
    settle_chunks: Action | None = None,
    identifiable: bool = True,
    purge_replaced: bool = True,
    strict: bool = False,
) -> ObjectInfo:
    """Publish the meta of `info` under `guard`, re-trying what a retry can outlast, until
    the server decides (see the module's text).

    `settle_chunks` waits for the chunks' acks: a guard that names the chunk to follow
    (`after_msg_id`) goes out before them, so before anything but success it is awaited (and
    a failed chunk rolls the put back). `identifiable`: see commit.decide. Once stored, the
    chunks of the version it replaced go to the janitor (unless not `purge_replaced`).
    `strict`: a guard that does not hold is final (a conditional put), never re-taken over
    what another writer stored: RevisionMismatchError.
    """
    subject = wire.meta_subject(bucket.name, info.name)
    payload = wire.encode_meta(info)
    # The first copy goes out here, at once (a task would send it one loop turn later); once
    # it is queued, a cancellation waits for the server's decision, as the module says.
    first: asyncio.Future[int] | None = None
    cancelled = False
    try:
        first, cancelled = await _start(bucket, subject, payload, guard)
    except ObjectStoreError:
        first = None  # nothing went out: the commit's own attempts send it
    if first is not None and not cancelled:
        # The common case in the caller's own task: the first copy's ack, stored (a task per
        # commit cost 64 concurrent small puts 10-15% more CPU each, measured against
        # 370c782). Anything else, a cancellation included, goes on below with that copy.
        try:
            seq = await asyncio.shield(first)
        except asyncio.CancelledError:
            cancelled = True
        except ObjectStoreError:
            pass
        else:
            stored = _stored(bucket, subject, info, seq, guard)
            if purge_replaced:  # handed to the janitor at once, even if cancelled meanwhile
                await bucket.purge_replaced(guard.replaces, info.nuid)
            return stored
    committed = await run_to_end(
        _commit(
            bucket,
            info,
            guard,
            (subject, payload, first),
            rollback,
            settle_chunks,
            identifiable,
            purge_replaced,
            strict,
        )
    )
    if cancelled:
        raise asyncio.CancelledError
    return committed


def _start(
    bucket: Bucket, subject: str, payload: bytes, guard: Guard
) -> Awaitable[tuple[asyncio.Future[int], bool]]:
    """Send the meta; the ack's future at once (see JetStream.start_publish). Straight to the
    socket only for a put alone on its store (latency); with many in flight, nats-py's
    flusher batches the writes (one syscall per message measured slower)."""
    return bucket.js.start_publish(
        subject,
        payload,
        headers=guard.headers(),
        bucket=bucket.name,
        timeout=2.0,
        direct=bucket.puts_running <= 1,
    )


async def _commit(
    bucket: Bucket,
    info: ObjectInfo,
    guard: Guard,
    message: tuple[str, bytes, asyncio.Future[int] | None],
    rollback: Action | None,
    settle_chunks: Action | None,
    identifiable: bool,
    purge_replaced: bool,
    strict: bool,
) -> ObjectInfo:
    subject, payload, first = message
    until = deadline_in(bucket.settings.stall_timeout)
    while True:
        outcome = await _send(bucket, subject, payload, guard, until, first)
        first = None
        step = decide(outcome, identifiable=identifiable)
        if step is Step.STORED:
            assert outcome.seq is not None
            return await _stored_purging(bucket, subject, info, outcome.seq, guard, purge_replaced)
        if guard.after_msg_id is not None:
            await _or_roll_back(settle_chunks, rollback)  # the chunk it was to follow
            guard = guard.without_chunk_check()
        if step is Step.ROLL_BACK:
            await _or_roll_back(rollback, None)
            raise _error(outcome, info)
        found = await bucket.replaced_by_put(info.name)  # REGUARD and READ_BACK both look
        if identifiable and landed(found, info):
            assert found is not None
            return await _stored_purging(
                bucket, subject, info, found.revision, guard, purge_replaced
            )
        if step is Step.READ_BACK or bucket.js.nc.is_closed or deadline_in(0) > until:
            await _or_roll_back(rollback, None)
            raise _error(outcome, info)
        if strict:  # the condition the caller asked for no longer holds
            await _or_roll_back(rollback, None)
            live = found is not None and not found.deleted
            raise RevisionMismatchError(
                bucket.name, info.name, guard.last_seq or 0, found.revision if live else None
            )
        guard = Guard.over(found)  # another writer committed in between: replace that version


async def _send(
    bucket: Bucket,
    subject: str,
    payload: bytes,
    guard: Guard,
    until: float,
    first: asyncio.Future[int] | None,
) -> MetaOutcome:
    """The ack of the meta's `first` copy if one went out, else of a new one; a lost ack or a
    503 sends it again until `until`: the rollup makes a re-send harmless, and a re-send that
    meets its first copy is refused by its guard, which the caller recognizes by the nuid."""

    async def once() -> int:
        ack, _ = await _start(bucket, subject, payload, guard)
        return await ack

    try:
        if first is not None:
            try:
                return MetaOutcome(seq=await first)
            except ObjectStoreError as exc:
                if not is_retryable_write(exc) or deadline_in(0) > until:
                    return MetaOutcome(error=exc)
        return MetaOutcome(
            seq=await retrying(
                once, until=until, retry_if=is_retryable_write, on_retry=bucket.raise_if_refused
            )
        )
    except ObjectStoreError as exc:
        return MetaOutcome(error=exc)


def _stored(bucket: Bucket, subject: str, info: ObjectInfo, seq: int, guard: Guard) -> ObjectInfo:
    """Record the meta stored at `seq`; its info."""
    stored = info.with_revision(seq)
    bucket.known.remember(subject, Known.of(stored))
    if guard.last_seq is not None:
        bucket.names_new = guard.last_seq == 0  # the next put guards to a new name unlooked
    return stored


async def _stored_purging(
    bucket: Bucket, subject: str, info: ObjectInfo, seq: int, guard: Guard, purge: bool
) -> ObjectInfo:
    stored = _stored(bucket, subject, info, seq, guard)
    if purge:
        await bucket.purge_replaced(guard.replaces, info.nuid)
    return stored


async def _or_roll_back(action: Action | None, rollback: Action | None) -> None:
    """Run `action`; if it fails, run `rollback` and raise its error."""
    if action is None:
        return
    try:
        await action()
    except BaseException:
        if rollback is not None:
            await rollback()
        raise


def _error(outcome: MetaOutcome, info: ObjectInfo) -> BaseException:
    if outcome.error is not None:
        return outcome.error
    return ObjectStoreError(  # pragma: no cover - decide() gives no such outcome
        f"the meta of {info.name!r} in bucket {info.bucket!r} was not stored; try again"
    )
