"""The fsspec filesystem (protocol "nats") against a real nats-server, with fsspec's own suite."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import fsspec
import pytest
from fsspec.callbacks import Callback
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)

from natsobj.fs import NatsFileSystem
from natsobj.server import EmbeddedServer
from tests.conftest import unique_bucket


@pytest.fixture(scope="module")
def nfs(server: EmbeddedServer) -> Iterator[NatsFileSystem]:
    fs = fsspec.filesystem("nats", servers=[server.url])
    yield fs
    fs.client.close()


@pytest.fixture
def bucket(nfs: NatsFileSystem) -> Iterator[str]:
    name = unique_bucket("f")
    nfs.mkdir(name)
    yield name
    with contextlib.suppress(FileNotFoundError):
        nfs.rm(name, recursive=True)


class Recorder(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int | None] = []
        self.moved = 0

    def set_size(self, size: int | None) -> None:
        self.sizes.append(size)

    def relative_update(self, inc: int = 1) -> None:
        self.moved += inc


# ---------------------------------------------------------------------------------------------
# registration and connection


def test_protocol_is_found_through_the_entry_point_without_importing_natsobj() -> None:
    code = (
        "import sys, fsspec\n"
        "cls = fsspec.get_filesystem_class('nats')\n"
        "print(cls.__module__, cls.protocol)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["natsobj.fs", "nats"]


def test_fsspec_open_of_a_nats_url(
    server: EmbeddedServer, nfs: NatsFileSystem, bucket: str
) -> None:
    nfs.pipe(f"{bucket}/data.txt", b"hello")
    with fsspec.open(f"nats://{bucket}/data.txt", "rb", servers=[server.url]) as f:
        assert f.read() == b"hello"


# ---------------------------------------------------------------------------------------------
# listing and info


def test_ls_synthesizes_directories_from_slashes(nfs: NatsFileSystem, bucket: str) -> None:
    for name in ("top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt"):
        nfs.pipe(f"{bucket}/{name}", name.encode())
    assert bucket in nfs.ls("", detail=False)
    assert nfs.ls(bucket, detail=False) == [f"{bucket}/a", f"{bucket}/top.txt"]
    entries = {e["name"]: e["type"] for e in nfs.ls(f"nats://{bucket}/a")}
    assert entries == {f"{bucket}/a/b": "directory", f"{bucket}/a/one.txt": "file"}
    assert nfs.ls(f"{bucket}/a/one.txt", detail=False) == [f"{bucket}/a/one.txt"]
    assert nfs.isdir(f"{bucket}/a/b") and nfs.isfile(f"{bucket}/a/b/two.txt")
    with pytest.raises(FileNotFoundError):
        nfs.ls(f"{bucket}/nope")
    with pytest.raises(FileNotFoundError):
        nfs.ls(unique_bucket("missing"))


def test_info_gives_size_type_mtime_and_digest(nfs: NatsFileSystem, bucket: str) -> None:
    store = nfs.client.object_store(bucket)
    written = store.put("d/x.bin", b"x" * 3000, metadata={"k": "v"})
    info = nfs.info(f"{bucket}/d/x.bin")
    assert info["type"] == "file" and info["size"] == 3000
    assert info["checksum"] == written.digest and info["nuid"] == written.nuid
    assert info["metadata"] == {"k": "v"}
    assert isinstance(info["mtime"], datetime)
    assert nfs.info(f"{bucket}/d") == {"name": f"{bucket}/d", "size": 0, "type": "directory"}
    assert nfs.info(bucket)["type"] == "directory"
    assert nfs.modified(f"{bucket}/d/x.bin") == info["mtime"] == nfs.created(f"{bucket}/d/x.bin")
    assert nfs.ukey(f"{bucket}/d/x.bin") == f"{written.nuid}:{written.digest}"
    assert nfs.checksum(f"{bucket}/d/x.bin") == int(written.digest_hex, 16)
    with pytest.raises(FileNotFoundError):
        nfs.info(f"{bucket}/d/missing")


def test_find_glob_du_exists(nfs: NatsFileSystem, bucket: str) -> None:
    nfs.pipe({f"{bucket}/a/x.csv": b"12", f"{bucket}/a/b/y.csv": b"345", f"{bucket}/z.txt": b"6"})
    assert nfs.find(bucket) == [f"{bucket}/a/b/y.csv", f"{bucket}/a/x.csv", f"{bucket}/z.txt"]
    assert nfs.find(bucket, maxdepth=1) == [f"{bucket}/z.txt"]
    assert nfs.glob(f"{bucket}/**/*.csv") == [f"{bucket}/a/b/y.csv", f"{bucket}/a/x.csv"]
    assert nfs.glob(f"nats://{bucket}/a/*.csv") == [f"{bucket}/a/x.csv"]
    assert nfs.du(bucket) == 6
    assert nfs.du(f"{bucket}/a", total=False) == {f"{bucket}/a/b/y.csv": 3, f"{bucket}/a/x.csv": 2}
    assert nfs.exists(f"{bucket}/a") and nfs.exists(f"{bucket}/z.txt")
    assert not nfs.exists(f"{bucket}/nothing") and not nfs.exists("no.such.bucket/x")


def test_names_with_empty_segments_are_listed_as_files(nfs: NatsFileSystem, bucket: str) -> None:
    store = nfs.client.object_store(bucket)
    for name in ("/lead", "a//b", "trail/", "a/ok"):
        store.put(name, name.encode())
    assert nfs.ls(bucket, detail=False) == [f"{bucket}//lead", f"{bucket}/a", f"{bucket}/trail"]
    assert nfs.find(bucket) == [
        f"{bucket}//lead",
        f"{bucket}/a//b",
        f"{bucket}/a/ok",
        f"{bucket}/trail/",
    ]
    assert nfs.cat(f"{bucket}/a//b") == b"a//b" and nfs.cat(f"{bucket}//lead") == b"/lead"


def test_listings_are_cached_and_invalidated_by_writes(nfs: NatsFileSystem, bucket: str) -> None:
    nfs.pipe(f"{bucket}/a/1", b"1")
    assert nfs.ls(f"{bucket}/a", detail=False) == [f"{bucket}/a/1"]
    assert f"{bucket}/a" in nfs.dircache
    nfs.pipe(f"{bucket}/a/2", b"2")
    assert nfs.ls(f"{bucket}/a", detail=False) == [f"{bucket}/a/1", f"{bucket}/a/2"]
    nfs.client.object_store(bucket).put("a/3", b"3")  # behind the filesystem's back
    assert len(nfs.ls(f"{bucket}/a")) == 2
    nfs.invalidate_cache(f"{bucket}/a")
    assert len(nfs.ls(f"{bucket}/a")) == 3


# ---------------------------------------------------------------------------------------------
# reading and writing


def test_cat_file_ranges(nfs: NatsFileSystem, bucket: str) -> None:
    data = bytes(range(256)) * 20
    nfs.client.object_store(bucket).put("r", data, chunk_size=1024)
    path = f"{bucket}/r"
    assert nfs.cat_file(path) == data
    assert nfs.cat_file(path, 1000, 3000) == data[1000:3000]
    assert nfs.cat_file(path, 5000) == data[5000:]
    assert nfs.cat_file(path, -10) == data[-10:]
    assert nfs.cat_file(path, 10, -10) == data[10:-10]
    assert nfs.cat_file(path, None, 5) == data[:5]
    assert nfs.cat_file(path, 6000, 7000) == b""
    assert nfs.cat_ranges([path, path], [0, 100], [1, 200]) == [data[:1], data[100:200]]
    with pytest.raises(FileNotFoundError):
        nfs.cat_file(f"{bucket}/missing")


def test_pipe_and_cat(nfs: NatsFileSystem, bucket: str) -> None:
    nfs.pipe_file(f"{bucket}/p", b"value", metadata={"origin": "pipe"})
    assert nfs.cat(f"{bucket}/p") == b"value"
    assert nfs.info(f"{bucket}/p")["metadata"] == {"origin": "pipe"}
    assert nfs.cat(f"{bucket}/*") == {f"{bucket}/p": b"value"}


@pytest.mark.parametrize("cache_type", ["readahead", "bytes", "none", "blockcache"])
def test_open_rb_is_random_access(nfs: NatsFileSystem, bucket: str, cache_type: str) -> None:
    data = os.urandom(50_000)
    nfs.client.object_store(bucket).put("big", data, chunk_size=1024)
    with nfs.open(f"{bucket}/big", "rb", block_size=4096, cache_type=cache_type) as f:
        assert f.size == len(data)
        f.seek(40_000)
        assert f.read(5000) == data[40_000:45_000]
        f.seek(-100, 2)
        assert f.read() == data[-100:]
        f.seek(3)
        assert f.read(10) == data[3:13]


def test_open_wb_streams_and_commits_on_close(nfs: NatsFileSystem, bucket: str) -> None:
    with nfs.open(f"{bucket}/w", "wb", block_size=5 * 2**20, chunk_size=1024) as f:
        for i in range(30):
            f.write(bytes([i]) * 1000)
        assert not nfs.exists(f"{bucket}/w")
    assert nfs.cat(f"{bucket}/w") == b"".join(bytes([i]) * 1000 for i in range(30))
    assert nfs.info(f"{bucket}/w")["chunks"] == 30
    with nfs.open(f"{bucket}/t.txt", "w") as text:
        text.write("héllo")
    assert nfs.read_text(f"{bucket}/t.txt") == "héllo"


def test_open_wb_discards_when_an_exception_escapes(nfs: NatsFileSystem, bucket: str) -> None:
    with pytest.raises(KeyError), nfs.open(f"{bucket}/w", "wb", block_size=2048) as f:
        f.write(os.urandom(10_000))
        raise KeyError("boom")
    assert not nfs.exists(f"{bucket}/w")
    store = nfs.client.object_store(bucket)
    assert store.orphan_chunk_subjects() == {}
    assert store.status().stream_info["state"]["messages"] == 0


def test_transactions_commit_at_the_end(nfs: NatsFileSystem, bucket: str) -> None:
    with nfs.transaction:
        nfs.pipe(f"{bucket}/keep", b"0")
        with nfs.open(f"{bucket}/tx", "wb") as f:
            f.write(b"later")
        assert not nfs.exists(f"{bucket}/tx")
    assert nfs.cat(f"{bucket}/tx") == b"later"


def test_append_mode(nfs: NatsFileSystem, bucket: str) -> None:
    nfs.pipe(f"{bucket}/log", b"one\n")
    with nfs.open(f"{bucket}/log", "ab") as f:
        f.write(b"two\n")
    assert nfs.cat(f"{bucket}/log") == b"one\ntwo\n"


def test_put_file_and_get_file_report_progress(
    nfs: NatsFileSystem, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(os.urandom(300_000))
    up = Recorder()
    nfs.put_file(str(source), f"{bucket}/dir/up.bin", callback=up)
    assert up.sizes == [300_000] and up.moved == 300_000
    down = Recorder()
    target = tmp_path / "nested" / "down.bin"
    nfs.get_file(f"{bucket}/dir/up.bin", str(target), callback=down)
    assert target.read_bytes() == source.read_bytes()
    assert down.sizes == [300_000] and down.moved == 300_000
    nfs.put(str(source), f"{bucket}/again.bin")
    nfs.get(f"{bucket}/again.bin", str(tmp_path / "again.bin"))
    assert (tmp_path / "again.bin").read_bytes() == source.read_bytes()


def test_touch(nfs: NatsFileSystem, bucket: str) -> None:
    nfs.touch(f"{bucket}/t")
    assert nfs.cat(f"{bucket}/t") == b""
    nfs.pipe(f"{bucket}/t", b"data")
    before = nfs.info(f"{bucket}/t")
    nfs.touch(f"{bucket}/t", truncate=False)
    after = nfs.info(f"{bucket}/t")
    assert nfs.cat(f"{bucket}/t") == b"data" and after["mtime"] > before["mtime"]
    assert after["nuid"] == before["nuid"]


# ---------------------------------------------------------------------------------------------
# rm, cp, mv, directories


def test_rm_files_and_directories(nfs: NatsFileSystem, bucket: str) -> None:
    nfs.pipe({f"{bucket}/a/1": b"1", f"{bucket}/a/b/2": b"2", f"{bucket}/c": b"3"})
    nfs.rm(f"{bucket}/c")
    assert not nfs.exists(f"{bucket}/c")
    with pytest.raises(FileNotFoundError):
        nfs.rm(f"{bucket}/c")
    with pytest.raises(IsADirectoryError):
        nfs.rm(f"{bucket}/a")
    nfs.rm(f"{bucket}/a", recursive=True)
    assert nfs.ls(bucket) == []
    assert nfs.client.object_store(bucket).status().stream_info["state"]["messages"] == 3


def test_cp_copies_bytes_and_meta(nfs: NatsFileSystem, bucket: str) -> None:
    store = nfs.client.object_store(bucket)
    original = store.put("src", os.urandom(5000), description="d", metadata={"k": "v"})
    nfs.cp(f"{bucket}/src", f"{bucket}/dst")
    copy = nfs.info(f"{bucket}/dst")
    assert copy["checksum"] == original.digest and copy["nuid"] != original.nuid
    assert copy["description"] == "d" and copy["metadata"] == {"k": "v"}
    other = unique_bucket("o")
    nfs.mkdir(other)
    try:
        nfs.cp(f"{bucket}/src", f"{other}/x/copy")
        assert nfs.cat(f"{other}/x/copy") == nfs.cat(f"{bucket}/src")
    finally:
        nfs.rm(other, recursive=True)


def test_mv_in_a_bucket_is_a_rename(nfs: NatsFileSystem, bucket: str) -> None:
    store = nfs.client.object_store(bucket)
    original = store.put("from", os.urandom(3000), metadata={"k": "v"})
    nfs.pipe(f"{bucket}/to", b"replaced")
    nfs.mv(f"{bucket}/from", f"{bucket}/to")
    moved = nfs.info(f"{bucket}/to")
    assert moved["nuid"] == original.nuid and moved["checksum"] == original.digest
    assert moved["metadata"] == {"k": "v"}
    assert not nfs.exists(f"{bucket}/from")
    assert store.orphan_chunk_subjects() == {}


def test_mv_of_a_directory_renames_each_object(nfs: NatsFileSystem, bucket: str) -> None:
    nfs.pipe({f"{bucket}/d/1": b"1", f"{bucket}/d/e/2": b"2"})
    nuids = {p: nfs.info(p)["nuid"] for p in nfs.find(f"{bucket}/d")}
    nfs.mv(f"{bucket}/d", f"{bucket}/n", recursive=True)
    assert nfs.find(bucket) == [f"{bucket}/n/1", f"{bucket}/n/e/2"]
    assert nfs.info(f"{bucket}/n/e/2")["nuid"] == nuids[f"{bucket}/d/e/2"]


def test_mv_across_buckets_copies_then_deletes(nfs: NatsFileSystem, bucket: str) -> None:
    other = unique_bucket("o")
    nfs.mkdir(other)
    try:
        nfs.pipe(f"{bucket}/x", b"payload")
        nfs.mv(f"{bucket}/x", f"{other}/x")
        assert nfs.cat(f"{other}/x") == b"payload" and not nfs.exists(f"{bucket}/x")
    finally:
        nfs.rm(other, recursive=True)


def test_mkdir_creates_buckets_and_is_otherwise_a_no_op(nfs: NatsFileSystem) -> None:
    name = unique_bucket("m")
    with pytest.raises(FileNotFoundError):
        nfs.mkdir(f"{name}/some/dir", create_parents=False)
    nfs.mkdir(name, storage="memory")
    try:
        assert nfs.client.object_store(name).status().storage == "memory"
        with pytest.raises(FileExistsError):
            nfs.mkdir(name)
        nfs.makedirs(name, exist_ok=True)
        nfs.makedirs(f"{name}/a/b")
        nfs.mkdir(f"{name}/a")
        assert nfs.ls(name) == []
        nfs.pipe(f"{name}/a/f", b"x")
        with pytest.raises(OSError):
            nfs.rmdir(name)
        nfs.rmdir(f"{name}/empty")
        nfs.rm(f"{name}/a/f")
        nfs.rmdir(name)
        assert not nfs.exists(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            nfs.rm(name, recursive=True)


def test_makedirs_creates_a_missing_bucket(nfs: NatsFileSystem) -> None:
    name = unique_bucket("m")
    nfs.makedirs(f"{name}/a/b")
    try:
        assert nfs.isdir(name)
    finally:
        nfs.rm(name, recursive=True)
    assert name not in nfs.ls("", detail=False)


# ---------------------------------------------------------------------------------------------
# pandas


def test_pandas_csv_and_parquet_round_trip(server: EmbeddedServer, bucket: str) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    options = {"servers": [server.url]}
    df = pd.DataFrame({"n": range(1000), "s": [f"row {i}" for i in range(1000)]})
    df["f"] = df["n"] / 7
    df.to_csv(f"nats://{bucket}/data/x.csv", index=False, storage_options=options)
    pd.testing.assert_frame_equal(
        pd.read_csv(f"nats://{bucket}/data/x.csv", storage_options=options), df
    )
    df.to_parquet(f"nats://{bucket}/data/x.parquet", storage_options=options)
    pd.testing.assert_frame_equal(
        pd.read_parquet(f"nats://{bucket}/data/x.parquet", storage_options=options), df
    )


# ---------------------------------------------------------------------------------------------
# fsspec's abstract test suite


class NatsFixtures(AbstractFixtures):
    """The suite's contract: a filesystem, and a fresh bucket per test as its working root."""

    @pytest.fixture
    def fs(self, nfs: NatsFileSystem) -> NatsFileSystem:
        return nfs

    @pytest.fixture
    def fs_path(self, nfs: NatsFileSystem) -> Iterator[str]:
        name = unique_bucket("abs")
        nfs.mkdir(name)
        yield name
        nfs.rm(name, recursive=True)

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return lambda *parts: "/".join(parts)

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False


class TestNatsCopy(NatsFixtures, AbstractCopyTests):
    pass


class TestNatsGet(NatsFixtures, AbstractGetTests):
    pass


class TestNatsPut(NatsFixtures, AbstractPutTests):
    pass


class TestNatsOpen(NatsFixtures, AbstractOpenTests):
    pass


class TestNatsPipe(NatsFixtures, AbstractPipeTests):
    pass
