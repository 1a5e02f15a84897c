"""Range reads, seeking, resumable downloads and uploads, and many-at-once transfers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import nats
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import natsobj
import natsobj.sync
from natsobj import _wire as wire
from natsobj.server import EmbeddedServer
from tests.conftest import unique_bucket

SIZE = 10 * 1024 + 333


class Interrupt(Exception):
    """Raised from a progress callback to cut a transfer short."""


def interrupt_after(limit: int) -> tuple[list[int], object]:
    moved: list[int] = []

    def progress(n: int) -> None:
        moved.append(n)
        if sum(moved) >= limit:
            raise Interrupt(f"stopped after {sum(moved)} bytes")

    return moved, progress


# ---------------------------------------------------------------------------------------------
# range reads: property tests over objects written by natsobj and by nats-py


@pytest.fixture(scope="module")
def range_bucket(server: EmbeddedServer):
    """One bucket holding the same bytes written by natsobj (uniform chunks, the fast path)
    and by nats-py (no chunk ids: the sequential fallback)."""
    data = os.urandom(SIZE)
    bucket = unique_bucket("range")

    async def natspy_put() -> None:
        nc = await nats.connect(server.url)
        store = await nc.jetstream().object_store(bucket)
        await store.put(
            "by-natspy",
            io.BytesIO(data),
            meta=nats.js.api.ObjectMeta(
                name="by-natspy", options=nats.js.api.ObjectMetaOptions(max_chunk_size=1024)
            ),
        )
        await nc.close()

    with natsobj.sync.connect(server.url) as client:
        store = client.create_object_store(bucket)
        store.put("by-natsobj", data, chunk_size=1024)
        asyncio.run(natspy_put())
        yield store, data
        client.delete_object_store(bucket)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    offset=st.integers(min_value=0, max_value=SIZE + 2048),
    length=st.integers(min_value=0, max_value=SIZE + 2048),
    writer=st.sampled_from(["by-natsobj", "by-natspy"]),
)
def test_range_read_equals_slice_of_full_object(range_bucket, offset, length, writer) -> None:
    store, data = range_bucket
    assert store.get(writer, offset=offset, length=length) == data[offset : offset + length]


def test_range_read_edges(range_bucket) -> None:
    store, data = range_bucket
    for writer in ("by-natsobj", "by-natspy"):
        assert store.get(writer, offset=SIZE - 1, length=100) == data[-1:]  # short read at end
        assert store.get(writer, offset=SIZE, length=10) == b""  # at the end: empty
        assert store.get(writer, offset=SIZE + 50, length=10) == b""  # past the end: empty
        assert store.get(writer, offset=1023, length=2) == data[1023:1025]  # across a boundary
        assert store.read_range(writer, 4096, 0) == b""
        with pytest.raises(ValueError):
            store.get(writer, offset=-1, length=1)


@pytest.mark.asyncio
async def test_range_read_fetches_only_the_chunks_it_needs(client, store) -> None:
    data = os.urandom(64 * 1024)
    info = await store.put("big", data, chunk_size=1024)
    requests: list[dict] = []
    real = client.nc.publish

    async def recording(subject, payload=b"", **kw):
        if subject.startswith("$JS.API.DIRECT.GET.") and payload:
            requests.append(json.loads(payload))
        return await real(subject, payload, **kw)

    client.nc.publish = recording  # type: ignore[method-assign]
    try:
        assert await store.get("big", offset=40_000, length=100) == data[40_000:40_100]
    finally:
        del client.nc.publish
    assert info.chunks == 64
    batches = [r for r in requests if r.get("batch", 1) > 1]
    assert len(batches) == 1  # one batch read, after a few single-message probes
    assert len(requests) <= 4
    # it starts at chunk 39 (bytes 39936..40959), not at the first chunk
    first_chunk_seq = min(r["seq"] for r in requests)
    assert batches[0]["seq"] >= first_chunk_seq + 39


@pytest.mark.asyncio
async def test_async_reader_seeks_and_tells(store) -> None:
    data = os.urandom(SIZE)
    await store.put("s", data, chunk_size=1024)
    async with store.open("s") as reader:
        assert await reader.read(10) == data[:10]
        assert reader.tell() == 10
        assert await reader.seek(5000) == 5000
        assert await reader.read(3000) == data[5000:8000]
        await reader.seek(-100, os.SEEK_END)
        assert await reader.read() == data[-100:]
        await reader.seek(-200, os.SEEK_CUR)
        assert await reader.read(50) == data[-200:-150]
        await reader.seek(0)
        assert await reader.read() == data


# ---------------------------------------------------------------------------------------------
# resumable downloads


@pytest.mark.asyncio
async def test_interrupted_download_resumes_with_only_the_missing_part(store, tmp_path) -> None:
    data = os.urandom(200 * 1024)
    await store.put("obj", data, chunk_size=4096)
    target = tmp_path / "obj.bin"
    _, progress = interrupt_after(50 * 1024)
    with pytest.raises(Interrupt):
        await store.get_file("obj", target, progress=progress, resume=True)
    assert not target.exists()
    part = next(tmp_path.glob(".obj.bin.natsobj-part"))
    kept = part.stat().st_size
    assert kept >= 50 * 1024
    moved: list[int] = []
    await store.get_file("obj", target, progress=moved.append, resume=True)
    assert target.read_bytes() == data
    assert moved[0] == kept  # the bytes on disk count once, first
    assert sum(moved[1:]) == len(data) - kept  # only the missing part was fetched
    assert not list(tmp_path.glob(".*natsobj-part*"))


@pytest.mark.asyncio
async def test_download_restarts_when_the_object_changed(store, tmp_path, caplog) -> None:
    await store.put("obj", os.urandom(100 * 1024), chunk_size=4096)
    target = tmp_path / "obj.bin"
    _, progress = interrupt_after(30 * 1024)
    with pytest.raises(Interrupt):
        await store.get_file("obj", target, progress=progress, resume=True)
    new = os.urandom(80 * 1024)
    await store.put("obj", new, chunk_size=4096)
    moved: list[int] = []
    with caplog.at_level(logging.WARNING, logger="natsobj"):
        await store.get_file("obj", target, progress=moved.append, resume=True)
    assert "changed" in caplog.text
    assert sum(moved) == len(new)  # started over
    assert target.read_bytes() == new


@pytest.mark.asyncio
async def test_corrupt_partial_download_is_caught_and_discarded(store, tmp_path) -> None:
    data = os.urandom(100 * 1024)
    await store.put("obj", data, chunk_size=4096)
    target = tmp_path / "obj.bin"
    _, progress = interrupt_after(40 * 1024)
    with pytest.raises(Interrupt):
        await store.get_file("obj", target, progress=progress, resume=True)
    part = next(tmp_path.glob(".obj.bin.natsobj-part"))
    with open(part, "r+b") as fh:
        fh.seek(100)
        fh.write(b"garbage")
    with pytest.raises(natsobj.DigestMismatchError):
        await store.get_file("obj", target, resume=True)
    assert not target.exists() and not part.exists()
    await store.get_file("obj", target, resume=True)
    assert target.read_bytes() == data


# ---------------------------------------------------------------------------------------------
# resumable uploads


@pytest.fixture
def state_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "state"
    monkeypatch.setenv("NATSOBJ_STATE_DIR", str(path))
    return path


async def chunk_messages(client: natsobj.Client, bucket: str) -> dict[str, int]:
    info = await client.js.stream_info(
        wire.stream_name(bucket), subjects_filter=wire.all_chunks_subject(bucket)
    )
    return dict(info["state"].get("subjects") or {})


@pytest.mark.asyncio
async def test_interrupted_upload_resumes_from_its_checkpoint(client, store, tmp_path, state_dir):
    data = os.urandom(300 * 1024)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    _, progress = interrupt_after(200 * 1024)
    with pytest.raises(Interrupt):
        await store.put_file(src, "up", chunk_size=1024, progress=progress, resume=True)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("up")  # nothing committed
    kept = sum((await chunk_messages(client, store.bucket)).values())
    assert kept >= 100  # the chunks stay for the next attempt
    records = list((state_dir / "uploads").glob("*.json"))
    assert len(records) == 1
    assert json.loads(records[0].read_text())["checkpoint_chunks"] >= 64
    moved: list[int] = []
    info = await store.put_file(src, "up", chunk_size=1024, progress=moved.append, resume=True)
    assert moved[0] == kept * 1024  # resumed after what the stream already had
    assert sum(moved[1:]) == len(data) - kept * 1024
    assert await store.get("up") == data
    assert info.digest == (await store.get_info("up")).digest
    assert await store.orphan_chunk_subjects() == {}
    assert not list((state_dir / "uploads").glob("*.json"))


@pytest.mark.asyncio
async def test_changed_file_restarts_the_upload(client, store, tmp_path, state_dir, caplog):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(200 * 1024))
    _, progress = interrupt_after(120 * 1024)
    with pytest.raises(Interrupt):
        await store.put_file(src, "up", chunk_size=1024, progress=progress, resume=True)
    changed = os.urandom(150 * 1024)
    src.write_bytes(changed)
    moved: list[int] = []
    with caplog.at_level(logging.WARNING, logger="natsobj"):
        await store.put_file(src, "up", chunk_size=1024, progress=moved.append, resume=True)
    assert "starting over" in caplog.text
    assert sum(moved) == len(changed)
    assert await store.get("up") == changed
    assert await store.orphan_chunk_subjects() == {}  # the first attempt's chunks were purged


UPLOADER = """
import asyncio, sys
import natsobj
async def main():
    settings = natsobj.TransferSettings(window_bytes=8192)
    client = await natsobj.connect(sys.argv[1], transfer=settings)
    store = await client.object_store(sys.argv[2])
    def progress(n):
        import time; time.sleep(0.002)
    await store.put_file(sys.argv[3], "killed", chunk_size=1024, progress=progress, resume=True)
asyncio.run(main())
"""


@pytest.mark.asyncio
async def test_upload_survives_the_client_being_killed(server, client, store, tmp_path, state_dir):
    data = os.urandom(600 * 1024)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    env = {**os.environ, "NATSOBJ_STATE_DIR": str(state_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, server.url, store.bucket, str(src)], env=env
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            records = list((state_dir / "uploads").glob("*.json"))
            if records and json.loads(records[0].read_text())["checkpoint_chunks"] >= 96:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the uploader made no checkpoint")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    kept = sum((await chunk_messages(client, store.bucket)).values())
    assert 0 < kept < 600
    moved: list[int] = []
    await store.put_file(src, "killed", chunk_size=1024, progress=moved.append, resume=True)
    assert moved[0] == kept * 1024
    assert await store.get("killed") == data
    assert await store.orphan_chunk_subjects() == {}


@pytest.mark.asyncio
async def test_upload_survives_the_server_restarting(tmp_path, state_dir):
    srv = EmbeddedServer(store_dir=tmp_path / "srv")
    await srv.start()
    try:
        settings_ = natsobj.TransferSettings(stall_timeout=1.5, ack_timeout=0.5)
        c1 = await natsobj.connect(srv.url, transfer=settings_)
        store = await c1.create_object_store("resume")
        data = os.urandom(400 * 1024)
        src = tmp_path / "up.bin"
        src.write_bytes(data)
        stopped = False

        def progress(n: int) -> None:
            nonlocal stopped
            if not stopped and n and os.path.getsize(src) and progress.total > 150 * 1024:
                stopped = True
                srv.stop_sync()
            progress.total += n

        progress.total = 0  # type: ignore[attr-defined]
        with pytest.raises(natsobj.ObjectStoreError):
            await store.put_file(src, "up", chunk_size=1024, progress=progress, resume=True)
        await c1.close()
        await srv.restart()
        c2 = await natsobj.connect(srv.url)
        store2 = await c2.object_store("resume")
        moved: list[int] = []
        await store2.put_file(src, "up", chunk_size=1024, progress=moved.append, resume=True)
        assert moved[0] > 0  # resumed, not restarted
        assert await store2.get("up") == data
        assert await store2.orphan_chunk_subjects() == {}
        await c2.close()
    finally:
        await srv.stop()


@pytest.mark.asyncio
async def test_abandoned_uploads_are_found_and_purged(client, store, tmp_path, state_dir):
    src = tmp_path / "up.bin"
    src.write_bytes(os.urandom(100 * 1024))
    _, progress = interrupt_after(60 * 1024)
    with pytest.raises(Interrupt):
        await store.put_file(src, "up", chunk_size=1024, progress=progress, resume=True)
    orphans = await store.orphan_chunk_subjects()
    assert len(orphans) == 1
    assert await store.purge_orphans() == 0  # too recent: it may still be resumed
    assert await store.purge_orphans(min_age=timedelta(0)) > 0
    assert await store.orphan_chunk_subjects() == {}


# ---------------------------------------------------------------------------------------------
# many at once


@pytest.mark.asyncio
async def test_put_many_and_get_many(store, tmp_path) -> None:
    blobs = {f"dir/obj{i}": os.urandom(1000 + i) for i in range(30)}
    seen: list[int] = []
    infos = await store.put_many(blobs, concurrency=5, progress=seen.append)
    assert [i.name for i in infos] == list(blobs)
    assert sum(seen) == sum(len(b) for b in blobs.values())
    got = await store.get_many(list(blobs), concurrency=5)
    assert got == blobs
    written = await store.get_many(list(blobs), tmp_path / "out", concurrency=4)
    assert len(written) == 30
    for name, data in blobs.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    with pytest.raises(natsobj.InvalidObjectNameError):
        await store.get_many(["../escape"], tmp_path / "out")


@pytest.mark.asyncio
async def test_put_many_failure_rolls_back_what_is_running(client, store) -> None:
    def broken():
        yield os.urandom(4096)
        raise OSError("source failed")

    items = [(f"ok{i}", os.urandom(2000)) for i in range(3)] + [("bad", broken())]
    with pytest.raises(OSError, match="source failed"):
        await store.put_many(items, chunk_size=1024, concurrency=4)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("bad")
    assert await store.orphan_chunk_subjects() == {}


# the pipeline for many small objects


async def live_and_stored_chunks(store: natsobj.ObjectStore) -> tuple[set[str], set[str]]:
    """The chunk subjects the listed objects use, and those the stream holds."""
    infos = await store.list()
    live = {wire.chunk_subject(store.bucket, i.nuid) for i in infos if i.chunks}
    state = await store._js.stream_info(
        wire.stream_name(store.bucket), subjects_filter=wire.all_chunks_subject(store.bucket)
    )
    return live, set((state["state"].get("subjects") or {}).keys())


@pytest.mark.asyncio
async def test_put_many_small_objects_new_and_replaced(store) -> None:
    old = {f"o{i}": os.urandom(50) for i in range(0, 300, 7)}
    await store.put_many(old, concurrency=4)
    items = [(f"o{i}", os.urandom(i * 5)) for i in range(300)]  # o0 is empty
    items.append(("text", "zwölf"))
    seen: list[int] = []
    infos = await store.put_many(items, concurrency=32, progress=seen.append)
    assert [i.name for i in infos] == [name for name, _ in items]
    assert sum(seen) == sum(i.size for i in infos)
    for (name, data), info in zip(items, infos, strict=True):
        expected = data.encode() if isinstance(data, str) else data
        assert info.size == len(expected) and info.revision > 0
        assert await store.get(name) == expected
    live, stored = await live_and_stored_chunks(store)
    assert live == stored  # the replaced versions' chunks are gone, no orphan is left


@pytest.mark.asyncio
async def test_put_many_into_a_full_bucket_leaves_whole_objects_only(client) -> None:
    name = unique_bucket()
    store = await client.create_object_store(name, max_bytes=60_000)
    try:
        items = {f"f{i}": os.urandom(1000) for i in range(200)}
        with pytest.raises(natsobj.BucketFullError, match="full"):
            await store.put_many(items, concurrency=16)
        infos = await store.list()
        assert 0 < len(infos) < 200
        for info in infos:
            assert await store.get(info.name) == items[info.name]
        live, stored = await live_and_stored_chunks(store)
        assert live == stored
    finally:
        await client.delete_object_store(name)


@pytest.mark.asyncio
async def test_cancelled_put_many_leaves_whole_objects_only(store) -> None:
    data = {f"{i}": os.urandom(700) for i in range(3000)}
    delays = (0.0, 0.002, 0.01, 0.05)
    for round_, delay in enumerate(delays):
        items = {f"r{round_}/{key}": value for key, value in data.items()}
        task = asyncio.ensure_future(store.put_many(items, concurrency=64))
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    infos = await store.list()
    for round_ in range(len(delays)):
        assert len([i for i in infos if i.name.startswith(f"r{round_}/")]) < 3000
    for info in infos:
        assert await store.get(info.name) == data[info.name.split("/", 1)[1]]
    live, stored = await live_and_stored_chunks(store)
    assert live == stored


@pytest.mark.asyncio
async def test_put_many_checks_every_name_before_sending(store) -> None:
    items = [("fine", b"x"), ("", b"y")]
    with pytest.raises(natsobj.InvalidObjectNameError):
        await store.put_many(items)
    assert await store.list() == []
