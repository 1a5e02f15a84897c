"""Chunk runs (ObjectStore.runs): an object written in pieces, then committed once, against a
real nats-server; read back by natsobj and by nats-py's own object store."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import nats
import pytest

import natsobj
from natsobj import _wire as wire
from natsobj.server import EmbeddedServer

CHUNK = 1024


async def subject_count(client: natsobj.Client, store: natsobj.ObjectStore, nuid: str) -> int:
    subject = wire.chunk_subject(store.bucket, nuid)
    info = await client.js.stream_info(store.stream, bucket=store.bucket, subjects_filter=subject)
    return int((info.get("state", {}).get("subjects") or {}).get(subject, 0))


async def test_pieces_committed_once_read_back_by_natsobj_and_nats_py(
    server: EmbeddedServer, store: natsobj.ObjectStore
) -> None:
    runs = store.runs
    first, second, rest = os.urandom(3 * CHUNK), os.urandom(2 * CHUNK), os.urandom(CHUNK + 7)
    run = runs.start(CHUNK)
    run = await runs.append(run, first)
    run = await runs.append(run, [second[:100], second[100:]])  # re-cut to whole chunks
    assert (run.chunks, run.size, run.aligned) == (5, 5 * CHUNK, True)
    assert await runs.intact(run)
    tagged = {}

    async def tag(info: natsobj.ObjectInfo) -> dict[str, str]:
        tagged["digest"] = info.digest
        return {"X-Tag": "yes"}

    info = await runs.commit(
        "obj", run, rest, headers={"Content-Type": "a/b"}, metadata={"m": "1"}, before_commit=tag
    )
    data = first + second + rest
    assert (info.nuid, info.size, info.chunks) == (run.nuid, len(data), 7)
    assert info.digest == wire.format_digest(hashlib.sha256(data).digest()) == tagged["digest"]
    stored = await store.get_info("obj")
    assert stored.headers["X-Tag"] == ["yes"] and stored.metadata == {"m": "1"}
    assert stored.chunk_size == CHUNK
    assert await store.get("obj") == data
    assert (
        await store.get("obj", offset=3 * CHUNK + 5, length=CHUNK) == data[3 * CHUNK + 5 :][:CHUNK]
    )
    nc = await nats.connect(server.url)
    try:
        obs = await nc.jetstream().object_store(store.bucket)
        assert (await obs.get("obj")).data == data
    finally:
        await nc.close()


async def test_a_failed_piece_leaves_the_run_as_it_was(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    runs = store.runs
    run = await runs.append(runs.start(CHUNK), os.urandom(2 * CHUNK))

    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(3 * CHUNK)
        raise ConnectionResetError("the client left")

    with pytest.raises(ConnectionResetError):
        await runs.append(run, broken())
    assert await subject_count(client, store, run.nuid) == 2 and await runs.intact(run)

    async def refuse(longer: natsobj.ChunkRun) -> None:
        assert longer.chunks == 4
        raise ValueError("bad checksum")

    with pytest.raises(ValueError):
        await runs.append(run, os.urandom(2 * CHUNK), check=refuse, rewrite=1000)
    assert await runs.intact(run)
    # written again at the same indexes: a new rewrite number passes the duplicate window
    run = await runs.append(run, b"x" * CHUNK, rewrite=1001)
    info = await runs.commit("obj", run)
    assert info.chunks == 3 and await store.get("obj") == (await runs_bytes(runs, run))


async def runs_bytes(runs: natsobj.ChunkRuns, run: natsobj.ChunkRun) -> bytes:
    return b"".join([piece async for piece in runs.read(run.nuid, chunks=run.chunks)])


async def test_a_refused_commit_keeps_the_run_and_deletes_the_rest(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    runs = store.runs
    run = await runs.append(runs.start(CHUNK), os.urandom(CHUNK))
    await store.put("obj", b"there")
    with pytest.raises(natsobj.RevisionMismatchError):
        await runs.commit("obj", run, os.urandom(3 * CHUNK), if_revision=0, rewrite=1000)
    assert await runs.intact(run)
    assert await store.get("obj") == b"there"
    unaligned = await runs.append(runs.start(CHUNK), b"short")
    with pytest.raises(ValueError):
        await runs.append(unaligned, b"more")


async def test_rebuild_and_read_a_run_another_process_wrote(store: natsobj.ObjectStore) -> None:
    runs = store.runs
    pieces = [os.urandom(2 * CHUNK), os.urandom(CHUNK)]
    run = runs.start(CHUNK)
    seqs = [0]
    for piece in pieces:
        run = await runs.append(run, piece)
        seqs.append(run.last_seq)
    again = await runs.rebuild(run.nuid, chunk_size=CHUNK, chunks=run.chunks)
    assert (again.size, again.last_seq) == (run.size, run.last_seq)
    assert again.sha256().digest() == hashlib.sha256(b"".join(pieces)).digest()
    second = [p async for p in runs.read(run.nuid, after_seq=seqs[1], chunks=1)]
    assert second == [pieces[1]]
    with pytest.raises(natsobj.ObjectStoreError):
        await runs.rebuild(run.nuid, chunk_size=CHUNK, chunks=4)


async def test_purge_orphans_spares_a_held_run_until_its_time(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    runs = store.runs
    later = datetime.now(timezone.utc) + timedelta(days=7)
    held = await runs.append(runs.start(CHUNK), os.urandom(CHUNK), hold_until=later)
    gone = await runs.append(runs.start(CHUNK), os.urandom(CHUNK))
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    expired = await runs.append(runs.start(CHUNK), os.urandom(CHUNK), hold_until=past)
    await asyncio.sleep(0.05)
    assert await store.purge_orphans(min_age=timedelta(milliseconds=1)) == 2
    assert await subject_count(client, store, held.nuid) == 1
    assert await subject_count(client, store, gone.nuid) == 0
    assert await subject_count(client, store, expired.nuid) == 0
    assert await runs.discard(held.nuid) == 1
