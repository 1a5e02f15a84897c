"""The put pipeline's own guarantees: chunk order, idempotent re-sends, permission failures."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import natsobj
from natsobj import _wire as wire
from natsobj._jetstream import DirectBatchReader
from natsobj._natspy import RawMsg
from natsobj._transfer import AckRouter, ChunkPublisher


async def stored_chunks(client: natsobj.Client, bucket: str, nuid: str) -> list[tuple[int, bytes]]:
    """(index from Nats-Msg-Id, payload) of every chunk message, in stream order."""
    out = []
    reader = DirectBatchReader(
        client.js, wire.stream_name(bucket), wire.chunk_subject(bucket, nuid), idle_timeout=5
    )
    async with reader:
        while (msg := await reader.next()) is not None:
            index = wire.parse_chunk_msg_id(msg.headers.get(wire.MSG_ID_HEADER), nuid)
            assert index is not None
            out.append((index, msg.data))
    return out


async def chunk_holds(client: natsobj.Client, bucket: str, nuid: str) -> list[str | None]:
    """The hold header of every chunk message, in stream order."""
    reader = DirectBatchReader(
        client.js, wire.stream_name(bucket), wire.chunk_subject(bucket, nuid), idle_timeout=5
    )
    async with reader:
        return [msg.headers.get(wire.CHUNK_HOLD_HEADER) async for msg in _each(reader)]


async def _each(reader: DirectBatchReader) -> AsyncIterator[Any]:
    while (msg := await reader.next()) is not None:
        yield msg


async def test_chunks_stored_out_of_order_are_put_back_in_order(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    nuid = wire.new_nuid()
    subject = wire.chunk_subject(store.bucket, nuid)
    payloads = {i: bytes([i]) * 1000 for i in range(6)}
    hold = {wire.CHUNK_HOLD_HEADER: "2030-01-01T00:00:00Z"}
    async with ChunkPublisher(client.js, store.bucket, client.store_context.acks) as publisher:
        # what a failover can do: chunk 2 lands behind chunks 3 and 4
        for index in (0, 1, 3, 4, 2, 5):
            msg_id = wire.chunk_msg_id(nuid, index)
            await publisher.publish(subject, payloads[index], index, msg_id, hold)
            await publisher.flush()
        assert publisher.stats.reordered >= 3
    chunks = await stored_chunks(client, store.bucket, nuid)
    assert [index for index, _ in chunks] == [0, 1, 2, 3, 4, 5]
    assert [data for _, data in chunks] == [payloads[i] for i in range(6)]
    # the re-published chunks keep the headers they were sent with (a placed part's hold)
    assert await chunk_holds(client, store.bucket, nuid) == [hold[wire.CHUNK_HOLD_HEADER]] * 6


async def test_a_resent_chunk_is_stored_once(client: natsobj.Client, store) -> None:
    nuid = wire.new_nuid()
    subject = wire.chunk_subject(store.bucket, nuid)
    async with ChunkPublisher(client.js, store.bucket, client.store_context.acks) as publisher:
        await publisher.publish(subject, b"a" * 100, 0, wire.chunk_msg_id(nuid, 0))
        await publisher.flush()
        # the same chunk again, as the watchdog re-sends it when its ack is lost
        await client.js.publish(
            subject, b"a" * 100, headers={wire.MSG_ID_HEADER: wire.chunk_msg_id(nuid, 0)}
        )
    assert len(await stored_chunks(client, store.bucket, nuid)) == 1


def test_rewritten_chunk_ids_keep_their_index() -> None:
    assert wire.chunk_msg_id("N", 4, 2) == "N.4.r2"
    assert wire.parse_chunk_msg_id("N.4.r2", "N") == 4
    assert wire.parse_chunk_msg_id("N.4.x2", "N") is None
    assert wire.parse_chunk_msg_id("N.4.r", "N") is None


async def test_a_long_put_keeps_only_the_sequences_it_may_still_need(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    nuid = wire.new_nuid()
    subject = wire.chunk_subject(store.bucket, nuid)
    count = 1200
    most = 0
    async with ChunkPublisher(
        client.js, store.bucket, client.store_context.acks, window_bytes=64 * 100
    ) as publisher:
        for index in range(count):
            payload = index.to_bytes(4, "big") * 25
            await publisher.publish(subject, payload, index, wire.chunk_msg_id(nuid, index))
            most = max(most, len(publisher.stats.sequences))
        await publisher.flush()
    # 64 chunks in flight at most, pruned every 256 acks: never the whole object's 1200
    assert most <= 256 + 64 + 2
    assert publisher.stats.acked == count
    chunks = await stored_chunks(client, store.bucket, nuid)
    assert [index for index, _ in chunks] == list(range(count))


def test_pruning_keeps_a_disorder_found_but_not_yet_repaired(client: natsobj.Client) -> None:
    publisher = ChunkPublisher(client.js, "b", client.store_context.acks)
    publisher.stats.sequences = {i: i + 1 for i in range(100)}
    publisher._next_index = 100  # everything acked
    publisher._forget_settled()
    assert sorted(publisher.stats.sequences) == [99]

    publisher.stats.sequences = {i: i + 1 for i in range(100)}
    publisher._misordered_from = 40  # found, to be re-published from chunk 40 on
    publisher._forget_settled()
    assert sorted(publisher.stats.sequences) == list(range(40, 100))


class _FakeJetStream:
    """Just what a ChunkPublisher uses, with acks delivered by the test."""

    def __init__(self) -> None:
        self.nc = SimpleNamespace(is_connected=True)
        self.permissions = self
        self.sent: list[int] = []

    async def subscribe_inbox(self, handler: object) -> tuple[str, None]:
        return "_INBOX.test", None

    def on_permission_denied(self, subject: str, callback: object) -> Callable[[], None]:
        return lambda: None

    async def send(self, subject: str, payload: bytes, reply: str, headers: object) -> None:
        self.sent.append(int(reply.rsplit("_", 1)[1]))


class _Payload(bytearray):
    """A chunk that can be watched with a weak reference."""


async def test_acked_chunks_are_freed_at_once_while_the_watchdog_runs() -> None:
    js = _FakeJetStream()
    subject = "$O.b.C.n"
    publisher = ChunkPublisher(js, "b", AckRouter(js), ack_timeout=0.08)  # type: ignore[arg-type]
    async with publisher:
        payloads = [_Payload(bytes([i]) * 1000) for i in range(4)]
        alive = [weakref.ref(p) for p in payloads]
        for index, payload in enumerate(payloads):
            await publisher.publish(subject, payload, index, f"n.{index}")  # type: ignore[arg-type]
        del payloads, payload
        await asyncio.sleep(0.1)  # the watchdog starts and looks at the unacked chunks
        assert publisher._watchdog is not None
        for index in range(4):
            ack = f'{{"stream":"OBJ_b","seq":{index + 1}}}'.encode()
            publisher._on_ack(index, RawMsg(f"_INBOX.test.1_{index}", "", ack, None))
        # acked: nothing may hold them any more, the sleeping watchdog included
        assert [ref() is None for ref in alive] == [True] * 4
        await publisher.flush()
    assert publisher.stats.acked == 4
