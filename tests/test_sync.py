"""The blocking API (natsobj.sync) against a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import io
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import nats
import nats.nuid
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import natsobj
import natsobj.sync
from natsobj import ObjectMeta
from natsobj.server import EmbeddedServer
from tests.conftest import unique_bucket

CHUNK = 1024
SIZES = {"empty": 0, "one": 1, "chunk": CHUNK, "chunk_plus": CHUNK + 1, "five": 5 * CHUNK + 7}


def payload(size: int, seed: int = 0) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


@pytest.fixture(scope="module")
def sclient(server: EmbeddedServer) -> Iterator[natsobj.sync.Client]:
    with natsobj.sync.connect(server.url) as client:
        yield client


@pytest.fixture
def sstore(sclient: natsobj.sync.Client) -> Iterator[natsobj.sync.ObjectStore]:
    name = unique_bucket("s")
    store = sclient.create_object_store(name)
    try:
        yield store
    finally:
        with contextlib.suppress(natsobj.ObjectStoreError):
            sclient.delete_object_store(name)


@pytest.fixture(scope="module")
def objects(sclient: natsobj.sync.Client) -> Iterator[tuple[natsobj.sync.ObjectStore, dict]]:
    """A bucket holding one object per size in SIZES, written with 1 KiB chunks."""
    name = unique_bucket("r")
    store = sclient.create_object_store(name)
    contents = {}
    for key, size in SIZES.items():
        contents[key] = payload(size, seed=size)
        store.put(key, contents[key], chunk_size=CHUNK)
    try:
        yield store, contents
    finally:
        sclient.delete_object_store(name)


def chunk_messages(store: natsobj.sync.ObjectStore) -> int:
    """Messages in the bucket's stream (chunks plus metas)."""
    return int(store.status().stream_info["state"]["messages"])


# ---------------------------------------------------------------------------------------------
# client and store


def test_connect_is_a_context_manager_that_closes(server: EmbeddedServer) -> None:
    with natsobj.sync.connect(server.url) as client:
        assert client.max_payload > 0
        assert not client.is_closed
    assert client.is_closed


def test_bucket_management_round_trip(sclient: natsobj.sync.Client) -> None:
    name = unique_bucket()
    store = sclient.create_object_store(name, description="first")
    assert isinstance(store, natsobj.sync.ObjectStore)
    assert name in sclient.object_store_names()
    assert sclient.object_store(name).bucket == name
    updated = sclient.update_object_store(name, description="second")
    assert updated.status().description == "second"
    assert any(s.bucket == name for s in sclient.object_stores())
    sclient.delete_object_store(name)
    with pytest.raises(natsobj.BucketNotFoundError):
        sclient.object_store(name)


def test_put_get_info_list_delete_round_trip(sstore: natsobj.sync.ObjectStore) -> None:
    data = payload(3000)
    info = sstore.put("a/b.bin", data, chunk_size=CHUNK, metadata={"k": "v"})
    assert (info.size, info.chunks) == (3000, 3)
    assert sstore.get("a/b.bin") == data
    assert sstore.get("a/b.bin", offset=1000, length=1500) == data[1000:2500]
    assert sstore.read_range("a/b.bin", 2999, 10) == data[2999:]
    got = sstore.get_info("a/b.bin")
    assert got.digest == info.digest and got.metadata == {"k": "v"}
    assert [i.name for i in sstore.list()] == ["a/b.bin"]
    sstore.delete("a/b.bin")
    assert sstore.list() == []
    assert sstore.get_info("a/b.bin", show_deleted=True).deleted
    with pytest.raises(natsobj.ObjectNotFoundError):
        sstore.get("a/b.bin")


def test_files_meta_links_and_status(sstore: natsobj.sync.ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(payload(5000))
    moved: list[int] = []
    sstore.put_file(source, "f", chunk_size=CHUNK, progress=moved.append)
    assert sum(moved) == 5000
    target = tmp_path / "out.bin"
    sstore.get_file("f", target)
    assert target.read_bytes() == source.read_bytes()
    renamed = sstore.update_meta("f", ObjectMeta(name="g", description="d"))
    assert renamed.name == "g" and renamed.description == "d"
    link = sstore.add_link("l", renamed)
    assert link.is_link and sstore.get("l") == source.read_bytes()
    assert sstore.add_bucket_link("bl", sstore).link.bucket == sstore.bucket
    copied = sstore.copy("g", "h")
    assert copied.digest == renamed.digest and copied.description == "d"
    assert sstore.status().bucket == sstore.bucket
    # the chunks of renamed, linked and copied objects are no orphans, even with no age guard
    assert sstore.orphan_chunk_subjects() == {}
    assert sstore.purge_orphans(min_age=timedelta(0)) == 0
    assert sstore.get("g") == sstore.get("h") == sstore.get("l") == source.read_bytes()


def test_errors_are_the_async_api_errors(sstore: natsobj.sync.ObjectStore) -> None:
    with pytest.raises(natsobj.ObjectNotFoundError):
        sstore.get_info("missing")
    with pytest.raises(natsobj.InvalidObjectNameError):
        sstore.put("", b"x")


def test_calling_back_from_the_loop_thread_raises_instead_of_deadlocking(
    sstore: natsobj.sync.ObjectStore,
) -> None:
    def progress(_: int) -> None:
        sstore.get_info("anything")

    with pytest.raises(RuntimeError, match="own event-loop thread"):
        sstore.put("x", b"data", progress=progress)
    assert sstore.orphan_chunk_subjects() == {}


# ---------------------------------------------------------------------------------------------
# many at once, rename


def test_put_many_stores_bytes_and_returns_infos_in_the_order_given(
    sstore: natsobj.sync.ObjectStore,
) -> None:
    items = {"z": b"small", "a/big": payload(3 * CHUNK + 1), "m": "text"}
    moved: list[int] = []
    infos = sstore.put_many(items, chunk_size=CHUNK, concurrency=2, progress=moved.append)
    assert [(i.name, i.size, i.chunks) for i in infos] == [
        ("z", 5, 1),
        ("a/big", 3 * CHUNK + 1, 4),
        ("m", 4, 1),
    ]
    assert all(isinstance(i, natsobj.ObjectInfo) for i in infos)
    assert sum(moved) == 5 + 3 * CHUNK + 1 + 4
    assert sstore.get("a/big") == items["a/big"] and sstore.get("m") == b"text"


def test_put_many_takes_pairs_and_raises_the_async_error(
    sstore: natsobj.sync.ObjectStore,
) -> None:
    assert [i.name for i in sstore.put_many([("b", b"2"), ("a", b"1")])] == ["b", "a"]
    with pytest.raises(natsobj.InvalidObjectNameError):
        sstore.put_many([("c", b"3"), ("", b"no name")])
    assert [i.name for i in sstore.list()] == ["a", "b"]


def test_get_many_by_names_returns_bytes_by_name(sstore: natsobj.sync.ObjectStore) -> None:
    sstore.put_many({"a": b"1", "b/c": payload(2 * CHUNK)}, chunk_size=CHUNK)
    assert sstore.get_many(["b/c", "a"]) == {"a": b"1", "b/c": payload(2 * CHUNK)}


def test_get_many_to_a_directory_writes_files_and_returns_infos(
    sstore: natsobj.sync.ObjectStore, tmp_path: Path
) -> None:
    sstore.put_many({"a": b"1", "b/c": payload(2 * CHUNK)}, chunk_size=CHUNK)
    moved: list[int] = []
    infos = sstore.get_many(["a", "b/c"], tmp_path, concurrency=1, progress=moved.append)
    assert isinstance(infos, list) and [i.name for i in infos] == ["a", "b/c"]
    assert (tmp_path / "a").read_bytes() == b"1"
    assert (tmp_path / "b" / "c").read_bytes() == payload(2 * CHUNK)
    assert sum(moved) == 1 + 2 * CHUNK


def test_get_many_to_paths_by_name(sstore: natsobj.sync.ObjectStore, tmp_path: Path) -> None:
    sstore.put("a", b"1")
    infos = sstore.get_many({"a": tmp_path / "x.bin"})
    assert [i.name for i in infos] == ["a"] and (tmp_path / "x.bin").read_bytes() == b"1"


def test_rename_keeps_the_data_and_drops_the_old_name(sstore: natsobj.sync.ObjectStore) -> None:
    data = payload(3000)
    before = sstore.put("old", data, chunk_size=CHUNK, description="d", metadata={"k": "v"})
    after = sstore.rename("old", "new")
    assert (after.name, after.nuid, after.digest) == ("new", before.nuid, before.digest)
    assert sstore.get("new") == data
    assert (sstore.get_info("new").description, sstore.get_info("new").metadata) == (
        "d",
        {"k": "v"},
    )
    with pytest.raises(natsobj.ObjectNotFoundError):
        sstore.get_info("old", show_deleted=True)
    assert [i.name for i in sstore.list(show_deleted=True)] == ["new"]
    assert sstore.orphan_chunk_subjects() == {}  # the chunks moved with the name


# ---------------------------------------------------------------------------------------------
# orphan chunks


@pytest.fixture
def make_orphan(server: EmbeddedServer, sstore: natsobj.sync.ObjectStore) -> Callable[[int], str]:
    """Publish raw chunk messages under a fresh nuid no meta names, as a killed put leaves them;
    returns their subject."""

    def make(chunks: int) -> str:
        subject = f"$O.{sstore.bucket}.C.{nats.nuid.NUID().next().decode()}"

        async def publish() -> None:
            nc = await nats.connect(server.url)
            try:
                js = nc.jetstream()
                for i in range(chunks):
                    await js.publish(subject, payload(CHUNK, seed=i))
            finally:
                await nc.close()

        with ThreadPoolExecutor(max_workers=1) as pool:  # an event loop of its own
            pool.submit(asyncio.run, publish()).result(timeout=30)
        return subject

    return make


def test_orphan_chunk_subjects_lists_chunks_no_meta_points_to(
    sstore: natsobj.sync.ObjectStore, make_orphan: Callable[[int], str]
) -> None:
    sstore.put("live", payload(3000), chunk_size=CHUNK)
    orphan = make_orphan(3)
    assert sstore.orphan_chunk_subjects() == {orphan: 3}


def test_orphan_chunk_subjects_with_min_age_leaves_out_fresh_orphans(
    sstore: natsobj.sync.ObjectStore, make_orphan: Callable[[int], str]
) -> None:
    make_orphan(2)
    assert sstore.orphan_chunk_subjects(min_age=timedelta(minutes=10)) == {}


def test_purge_orphans_by_default_spares_orphans_younger_than_ten_minutes(
    sstore: natsobj.sync.ObjectStore, make_orphan: Callable[[int], str]
) -> None:
    orphan = make_orphan(3)
    assert sstore.purge_orphans() == 0
    assert sstore.orphan_chunk_subjects() == {orphan: 3}


def test_purge_orphans_with_no_min_age_removes_them_and_counts_the_messages(
    sstore: natsobj.sync.ObjectStore, make_orphan: Callable[[int], str]
) -> None:
    data = payload(3000)
    sstore.put("live", data, chunk_size=CHUNK)
    make_orphan(3)
    make_orphan(2)
    assert chunk_messages(sstore) == 3 + 1 + 3 + 2  # live chunks, its meta, orphans
    assert sstore.purge_orphans(min_age=timedelta(0)) == 5
    assert sstore.orphan_chunk_subjects() == {}
    assert chunk_messages(sstore) == 3 + 1
    assert sstore.get("live") == data


def test_purge_orphans_removes_only_orphans_older_than_min_age(
    sstore: natsobj.sync.ObjectStore, make_orphan: Callable[[int], str]
) -> None:
    old = make_orphan(2)
    time.sleep(2.5)
    new = make_orphan(1)
    assert sstore.orphan_chunk_subjects(min_age=timedelta(seconds=1.5)) == {old: 2}
    assert sstore.purge_orphans(min_age=timedelta(seconds=1.5)) == 2
    assert sstore.orphan_chunk_subjects() == {new: 1}


# ---------------------------------------------------------------------------------------------
# watch


def test_watch_yields_current_objects_then_marker_then_updates(
    sstore: natsobj.sync.ObjectStore,
) -> None:
    sstore.put("a", b"1")
    sstore.put("b", b"2")
    with sstore.watch() as watcher:
        seen = [next(watcher), next(watcher), next(watcher)]
        assert [i.name if i else None for i in seen] == ["a", "b", None]
        sstore.put("c", b"3")
        update = next(watcher)
        assert update is not None and update.name == "c"


def test_watch_with_idle_timeout_ends_the_iteration(sstore: natsobj.sync.ObjectStore) -> None:
    sstore.put("a", b"1")
    started = time.monotonic()
    items = list(sstore.watch(idle_timeout=0.3))
    assert [i.name if i else None for i in items] == ["a", None]
    assert time.monotonic() - started < 5


def test_watch_close_from_another_thread_ends_a_blocked_iteration(
    sstore: natsobj.sync.ObjectStore,
) -> None:
    watcher = sstore.watch(updates_only=True)
    threading.Timer(0.3, watcher.close).start()
    assert list(watcher) == []


# ---------------------------------------------------------------------------------------------
# open("rb")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    key=st.sampled_from(sorted(SIZES)),
    buffer_size=st.sampled_from([0, 100, 700, 4096]),
    ops=st.lists(
        st.tuples(
            st.sampled_from([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END]),
            st.integers(-6000, 6000),
            st.integers(-1, 3000),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_open_rb_seek_and_read_match_slices(
    objects: tuple[natsobj.sync.ObjectStore, dict], key: str, buffer_size: int, ops: list
) -> None:
    store, contents = objects
    model = io.BytesIO(contents[key])
    with store.open(key, "rb", buffer_size=buffer_size) as f:
        for whence, offset, n in ops:
            target = {io.SEEK_SET: 0, io.SEEK_CUR: model.tell(), io.SEEK_END: len(contents[key])}
            if target[whence] + offset < 0:
                with pytest.raises(ValueError):
                    f.seek(offset, whence)
                continue
            assert f.seek(offset, whence) == model.seek(offset, whence)
            assert f.read(n) == model.read(n)
            assert f.tell() == model.tell()


def test_open_rb_is_a_binary_file(objects: tuple[natsobj.sync.ObjectStore, dict]) -> None:
    store, contents = objects
    data = contents["five"]
    with store.open("five") as f:
        assert isinstance(f, io.BufferedIOBase)
        assert f.readable() and f.seekable() and not f.writable()
        assert f.size == len(data) == f.info.size
        buf = bytearray(1500)
        assert f.readinto(buf) == 1500 and bytes(buf) == data[:1500]
        assert f.readall() == data[1500:]
        assert f.read() == b""
        f.seek(-7, io.SEEK_END)
        assert f.read(100) == data[-7:]
    assert f.closed
    with pytest.raises(ValueError):
        f.read()


def test_open_rb_reads_lines(sstore: natsobj.sync.ObjectStore) -> None:
    text = b"".join(b"line %d\n" % i for i in range(500))
    sstore.put("t.txt", text, chunk_size=CHUNK)
    with sstore.open("t.txt", buffer_size=300) as f:
        assert f.readline() == b"line 0\n"
        assert list(f)[-1] == b"line 499\n"
    with io.TextIOWrapper(sstore.open("t.txt")) as wrapped:
        assert wrapped.read().splitlines()[250] == "line 250"


def test_open_rb_refuses_to_mix_versions(sstore: natsobj.sync.ObjectStore) -> None:
    sstore.put("v", payload(4000), chunk_size=CHUNK)
    with sstore.open("v", buffer_size=0) as f:
        assert f.read(10) == payload(4000)[:10]
        sstore.put("v", payload(4000, seed=1), chunk_size=CHUNK)
        with pytest.raises(natsobj.IntegrityError, match="replaced"):
            f.read(10)


# ---------------------------------------------------------------------------------------------
# open("wb")


def test_open_wb_commits_on_close(sstore: natsobj.sync.ObjectStore) -> None:
    data = payload(10_000)
    with sstore.open("w", "wb", chunk_size=CHUNK, buffer_size=700, metadata={"m": "1"}) as f:
        assert f.writable() and not f.readable()
        for start in range(0, len(data), 333):
            assert f.write(data[start : start + 333]) == len(data[start : start + 333])
        assert f.tell() == len(data)
        with pytest.raises(natsobj.ObjectNotFoundError):
            sstore.get_info("w")  # nothing is visible before close
    assert f.info is not None and f.info.size == len(data) and f.info.chunks == 10
    assert sstore.get("w") == data
    assert sstore.get_info("w").metadata == {"m": "1"}


def test_open_wb_aborts_when_an_exception_escapes(sstore: natsobj.sync.ObjectStore) -> None:
    with pytest.raises(KeyError), sstore.open("w", "wb", chunk_size=CHUNK, buffer_size=100) as f:
        for _ in range(20):
            f.write(payload(2000))
        raise KeyError("boom")
    with pytest.raises(natsobj.ObjectNotFoundError):
        sstore.get_info("w", show_deleted=True)
    assert sstore.orphan_chunk_subjects() == {}
    assert chunk_messages(sstore) == 0


def test_open_wb_abort_keeps_the_previous_version(sstore: natsobj.sync.ObjectStore) -> None:
    sstore.put("w", b"old")
    f = sstore.open("w", "wb", chunk_size=CHUNK)
    f.write(payload(5000))
    f.abort()
    assert sstore.get("w") == b"old"
    assert sstore.orphan_chunk_subjects() == {}


def test_open_wb_dropped_without_close_commits_nothing(sstore: natsobj.sync.ObjectStore) -> None:
    f = sstore.open("w", "wb", chunk_size=CHUNK, buffer_size=1)
    f.write(payload(3000))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del f
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    deadline = time.monotonic() + 5
    while chunk_messages(sstore) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert chunk_messages(sstore) == 0
    with pytest.raises(natsobj.ObjectNotFoundError):
        sstore.get_info("w")


def test_open_wb_of_an_empty_object(sstore: natsobj.sync.ObjectStore) -> None:
    with sstore.open("e", "wb"):
        pass
    assert sstore.get_info("e").size == 0
    assert sstore.get("e") == b""


def test_open_rejects_other_modes(sstore: natsobj.sync.ObjectStore) -> None:
    with pytest.raises(ValueError):
        sstore.open("x", "r+b")  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------------------
# threads and running loops


def test_many_threads_share_one_client(sstore: natsobj.sync.ObjectStore) -> None:
    def work(i: int) -> bool:
        data = payload(2000 + i, seed=i)
        sstore.put(f"t{i}", data, chunk_size=CHUNK)
        with sstore.open(f"t{i}") as f:
            f.seek(i)
            ok = f.read(100) == data[i : i + 100]
        return ok and sstore.get(f"t{i}") == data

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(24)))
    assert len(sstore.list()) == 24


def blocking_round_trip(url: str) -> bytes:
    """Plain blocking code, as a Jupyter cell would run it."""
    with natsobj.sync.connect(url) as client:
        name = unique_bucket("j")
        store = client.create_object_store(name)
        try:
            with store.open("x", "wb") as f:
                f.write(b"from a running loop")
            return store.get("x")
        finally:
            client.delete_object_store(name)


async def test_works_inside_a_running_event_loop(server: EmbeddedServer) -> None:
    assert blocking_round_trip(server.url) == b"from a running loop"


def test_chunk_runs_blocking(sstore: natsobj.sync.ObjectStore) -> None:
    """The blocking twin of ObjectStore.runs: pieces appended, one refused by its check and
    gone, read back, committed once; an abandoned run discarded."""
    runs = sstore.runs
    first, second = payload(2048, 1), payload(1500, 2)
    run = runs.append(runs.start(1024), first)
    assert (run.chunks, run.size) == (2, 2048)

    def refuse(_: natsobj.ChunkRun) -> None:
        raise ValueError("not this piece")

    with pytest.raises(ValueError, match="not this piece"):
        runs.append(run, b"x" * 1024, check=refuse)
    assert runs.intact(run)
    assert b"".join(runs.read(run.nuid, chunks=run.chunks)) == first
    seen: list[str] = []
    info = runs.commit("joined", run, second, before_commit=lambda i: seen.append(i.name))
    assert seen == ["joined"] and info.size == len(first) + len(second)
    assert sstore.get("joined") == first + second
    abandoned = runs.append(runs.start(1024), b"y" * 100)
    assert runs.discard(abandoned.nuid) == 1
    assert chunk_messages(sstore) == info.chunks + 1  # its chunks and its meta, nothing else
