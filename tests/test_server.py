"""The nats-server manager, against real nats-server processes: embedded servers and the
persistent default server."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest

from natsobj._wire.errors import ServerError
from natsobj.server import (
    EmbeddedServer,
    default_server_status,
    ensure_default_server,
    find_server_binary,
    stop_default_server,
)

SRC = Path(__file__).resolve().parents[1] / "src"


def _running(pid: int) -> bool:
    """True if pid is a live process; a zombie (exited, not yet reaped) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    out = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    state = out.stdout.strip()
    return bool(state) and not state.startswith("Z")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _child_env(home: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "NATSOBJ_HOME": str(home)}


@pytest.fixture
def default_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """NATSOBJ_HOME in a temp dir; whatever default server a test starts is stopped after."""
    home = tmp_path / "home"
    monkeypatch.setenv("NATSOBJ_HOME", str(home))
    try:
        yield home
    finally:
        stop_default_server()


# --- EmbeddedServer --------------------------------------------------------------------------


async def test_embedded_server_serves_jetstream() -> None:
    async with EmbeddedServer() as srv:
        assert srv.pid is not None and _running(srv.pid)
        assert srv.url == f"nats://127.0.0.1:{srv.port}"
        nc = await nats.connect(srv.url)
        try:
            info = await nc.jetstream().account_info()
            assert info.streams == 0
        finally:
            await nc.close()
        pid, store_dir = srv.pid, srv.store_dir
    assert srv.pid is None
    assert not _running(pid)
    assert not store_dir.exists()  # a temporary store dir is removed on stop


async def test_embedded_server_requires_its_token() -> None:
    async def quiet(err: Exception) -> None:
        pass

    async with EmbeddedServer(token="s3cret-token") as srv:
        assert "s3cret" not in srv.url
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(srv.url, allow_reconnect=False, connect_timeout=2, error_cb=quiet)
        nc = await nats.connect(srv.url, token=srv.token)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()


async def test_restart_keeps_port_store_dir_and_streams() -> None:
    async with EmbeddedServer() as srv:
        nc = await nats.connect(srv.url)
        js = nc.jetstream()
        await js.add_stream(name="KEEP", subjects=["keep.>"])
        await js.publish("keep.a", b"survives")
        await nc.close()
        port, store_dir, old_pid = srv.port, srv.store_dir, srv.pid

        await srv.restart()

        assert (srv.port, srv.store_dir) == (port, store_dir)
        assert srv.pid != old_pid and old_pid is not None and not _running(old_pid)
        nc = await nats.connect(srv.url)
        try:
            info = await nc.jetstream().stream_info("KEEP")
            assert info.state.messages == 1
        finally:
            await nc.close()


def test_sync_context_manager_keeps_a_given_store_dir(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with EmbeddedServer(store_dir=store) as srv:
        pid = srv.pid
        assert pid is not None and _running(pid)
        assert (store / "jetstream").is_dir()
        assert srv.log_file == store / "nats-server.log"
    assert not _running(pid)
    assert (store / "jetstream").is_dir()  # only a temporary store dir is removed


def test_startup_failure_reports_the_server_output() -> None:
    srv = EmbeddedServer(extra_config="this is { not valid")
    with pytest.raises(ServerError, match="exited with code"):
        srv.start_sync()
    assert srv.pid is None


def test_find_server_binary_finds_the_wheel_binary() -> None:
    assert Path(find_server_binary()).name == "nats-server"


def test_bad_server_binary_override_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATSOBJ_SERVER_BIN", str(tmp_path / "missing"))
    with pytest.raises(ServerError, match="NATSOBJ_SERVER_BIN"):
        find_server_binary()


# --- the default server ----------------------------------------------------------------------


async def test_default_server_is_started_once_then_reused(default_home: Path) -> None:
    first = ensure_default_server()
    second = ensure_default_server()

    assert first.started and not second.started
    assert second.pid == first.pid and second.url == first.url
    assert first.token not in repr(first)
    status = default_server_status()
    assert status is not None and status.pid == first.pid
    nc = await nats.connect(first.url, token=first.token)
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()


def test_default_server_files_are_private(default_home: Path) -> None:
    info = ensure_default_server()

    assert info.data_dir == default_home
    assert _mode(default_home) == 0o700
    assert _mode(default_home / "server.json") == 0o600
    assert _mode(default_home / "nats-server.conf") == 0o600
    assert (default_home / "jetstream").is_dir()
    record = json.loads((default_home / "server.json").read_text())
    assert (record["pid"], record["port"], record["token"]) == (info.pid, info.port, info.token)


def test_concurrent_ensure_starts_one_server(default_home: Path) -> None:
    code = "from natsobj.server import ensure_default_server as e; i = e(); print(i.pid, i.started)"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=_child_env(default_home),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]

    assert all(p.returncode == 0 for p in procs)
    assert outputs[0][0] == outputs[1][0]
    assert sorted(out[1] for out in outputs) == ["False", "True"]


def test_stop_default_server(default_home: Path) -> None:
    info = ensure_default_server()

    assert stop_default_server() is True
    assert not _running(info.pid)
    assert default_server_status() is None
    assert not (default_home / "server.json").exists()
    assert stop_default_server() is False


def test_a_recorded_pid_that_is_not_our_server_is_neither_killed_nor_reused(
    default_home: Path,
) -> None:
    default_home.mkdir(mode=0o700)
    record = {"pid": os.getpid(), "port": 1, "http_port": 2, "token": "t", "binary": "x"}
    (default_home / "server.json").write_text(json.dumps(record))

    assert default_server_status() is None
    assert stop_default_server() is False  # and this test process is still here
    (default_home / "server.json").write_text(json.dumps(record))
    info = ensure_default_server()
    assert info.started and info.pid != os.getpid()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_foreground_server_stops_cleanly_on_signal(default_home: Path, sig: signal.Signals) -> None:
    code = (
        "import sys; from natsobj.server import run_default_server_foreground as run; "
        "sys.exit(run(lambda i: print('READY', i.pid, flush=True)))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=_child_env(default_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        assert ready[0] == "READY"
        server_pid = int(ready[1])
        status = default_server_status()
        assert status is not None and status.pid == server_pid

        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _running(server_pid)
    assert default_server_status() is None
    assert not (default_home / "server.json").exists()
