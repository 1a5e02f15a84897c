"""The put pipeline's own guarantees: chunk order, idempotent re-sends, permission failures."""

from __future__ import annotations

import natsobj
from natsobj import _wire as wire
from natsobj._jetstream import DirectBatchReader
from natsobj._transfer import ChunkPublisher


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


async def test_chunks_stored_out_of_order_are_put_back_in_order(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    nuid = wire.new_nuid()
    subject = wire.chunk_subject(store.bucket, nuid)
    payloads = {i: bytes([i]) * 1000 for i in range(6)}
    async with ChunkPublisher(client.js, store.bucket, client.acks) as publisher:
        # what a failover can do: chunk 2 lands behind chunks 3 and 4
        for index in (0, 1, 3, 4, 2, 5):
            await publisher.publish(subject, payloads[index], index, wire.chunk_msg_id(nuid, index))
            await publisher.flush()
        assert publisher.stats.reordered >= 3
    chunks = await stored_chunks(client, store.bucket, nuid)
    assert [index for index, _ in chunks] == [0, 1, 2, 3, 4, 5]
    assert [data for _, data in chunks] == [payloads[i] for i in range(6)]


async def test_a_resent_chunk_is_stored_once(client: natsobj.Client, store) -> None:
    nuid = wire.new_nuid()
    subject = wire.chunk_subject(store.bucket, nuid)
    async with ChunkPublisher(client.js, store.bucket, client.acks) as publisher:
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
