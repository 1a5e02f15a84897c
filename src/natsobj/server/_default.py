"""The default server: one persistent, token-protected nats-server per user, started detached on
first use (or run in the foreground) and recognised afterwards by its exact command line."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from .._wire.errors import ServerError
from ._config import CONFIG_NAME, LOG_NAME, LOOPBACK, render_config
from ._process import (
    POLL_INTERVAL,
    READY_TIMEOUT,
    STOP_TIMEOUT,
    file_size,
    find_server_binary,
    healthz_ok,
    run_server,
    terminate,
)
from ._state import (
    DefaultServerInfo,
    Record,
    default_server_home,
    home_lock,
    prepare_home,
    read_record,
    remove_record,
    write_record,
)

_LOG_ROTATE_BYTES = 10 * 1024 * 1024

# Detached servers this process started: kept so they can be reaped (not left as zombies)
# and so Popen does not warn that they are still running when it is collected.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _command_line(pid: int) -> str | None:
    """The command line of a live process, args joined by spaces; None if gone or a zombie."""
    proc_dir = Path("/proc")
    if (proc_dir / "self" / "cmdline").exists():
        try:
            raw = (proc_dir / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        return " ".join(args) or None
    out = subprocess.run(
        ["ps", "-ww", "-o", "stat=,command=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    stat, _, command = out.stdout.strip().partition(" ")
    if out.returncode != 0 or not command or stat.startswith("Z"):
        return None
    return command.strip()


def _is_default_server(pid: int, home: Path, binary: str) -> bool:
    """True if pid is alive and is exactly the nats-server we launch for this home."""
    reap = _CHILDREN.get(pid)
    if reap is not None and reap.poll() is not None:
        del _CHILDREN[pid]
        return False
    return _command_line(pid) == f"{binary} -c {home / CONFIG_NAME}"


def _stop_default_pid(pid: int, home: Path, binary: str) -> None:
    """SIGTERM the verified default server, wait up to 10 s, then SIGKILL it."""
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        # Re-check before every signal: the pid must still be our server.
        if not _is_default_server(pid, home, binary):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _is_default_server(pid, home, binary):
                return
            time.sleep(POLL_INTERVAL)
    raise ServerError(f"the default nats-server (pid {pid}) did not exit after SIGKILL")


def _start_default(home: Path, *, detached: bool) -> tuple[subprocess.Popen[bytes], Record]:
    """Start a server on this home with a new token; call with the home lock held."""
    binary = find_server_binary()
    token = secrets.token_urlsafe(32)
    log: Path | None = None
    if detached:
        log = home / LOG_NAME
        if file_size(log) > _LOG_ROTATE_BYTES:
            os.replace(log, home / f"{LOG_NAME}.1")

    def render(port: int, http_port: int) -> str:
        return render_config(
            host=LOOPBACK,
            port=port,
            http_port=http_port,
            store_dir=home,
            token=token,
            max_payload=None,
            extra="",
        )

    proc, port, http_port = run_server(
        binary=binary,
        config=home / CONFIG_NAME,
        render=render,
        host=LOOPBACK,
        port=None,
        http_port=None,
        log=log,
        detached=detached,
        cwd=home,
        timeout=READY_TIMEOUT,
    )
    rec = Record(pid=proc.pid, port=port, http_port=http_port, token=token, binary=binary)
    try:
        write_record(home, rec)
    except BaseException:
        terminate(proc)
        raise
    if detached:
        _CHILDREN[proc.pid] = proc
    return proc, rec


def _running_record(home: Path) -> Record | None:
    rec = read_record(home)
    if rec is not None and _is_default_server(rec.pid, home, rec.binary):
        return rec
    return None


def ensure_default_server() -> DefaultServerInfo:
    """Reuse the default server if it runs and is healthy, else start it detached."""
    home = default_server_home()
    prepare_home(home)
    with home_lock(home):
        rec = _running_record(home)
        if rec is not None:
            deadline = time.monotonic() + 10.0
            while not healthz_ok(LOOPBACK, rec.http_port):
                if time.monotonic() >= deadline:
                    raise ServerError(
                        f"the default nats-server (pid {rec.pid}) runs but is not healthy; "
                        f"see {home / LOG_NAME}, or stop it with 'natsobj server stop'"
                    )
                time.sleep(POLL_INTERVAL)
            return rec.info(home, started=False)
        _, rec = _start_default(home, detached=True)
        return rec.info(home, started=True)


def stop_default_server() -> bool:
    """Stop the default server; True if one was running."""
    home = default_server_home()
    if not home.is_dir():
        return False
    with home_lock(home):
        rec = read_record(home)
        if rec is None:
            return False
        running = _is_default_server(rec.pid, home, rec.binary)
        if running:
            _stop_default_pid(rec.pid, home, rec.binary)
        remove_record(home)
        return running


def default_server_status() -> DefaultServerInfo | None:
    """The default server if it runs and answers its health check, else None."""
    home = default_server_home()
    rec = _running_record(home)  # no lock needed: server.json is replaced atomically
    if rec is None or not healthz_ok(LOOPBACK, rec.http_port):
        return None
    return rec.info(home, started=False)


@contextlib.contextmanager
def _forward_sigterm(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """While inside, a SIGTERM to this process stops the server cleanly instead of orphaning it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def forward(signum: int, frame: FrameType | None) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_default_server_foreground(
    on_ready: Callable[[DefaultServerInfo], None] | None = None,
) -> int:
    """Run the default server attached to the terminal until Ctrl-C; return its exit code.

    The server's output goes to this process's stdout and stderr. on_ready is called once
    clients can connect.
    """
    home = default_server_home()
    prepare_home(home)
    with home_lock(home):
        running = _running_record(home)
        if running is not None:
            raise ServerError(
                f"the default nats-server already runs (pid {running.pid}, "
                f"nats://{LOOPBACK}:{running.port}); stop it with 'natsobj server stop' first"
            )
        proc, rec = _start_default(home, detached=False)
    try:
        with _forward_sigterm(proc):
            if on_ready is not None:
                on_ready(rec.info(home, started=True))
            proc.wait()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this is meant to end; the server is stopped below
    finally:
        terminate(proc)
        with home_lock(home):
            current = read_record(home)
            if current is not None and current.pid == rec.pid:
                remove_record(home)
    return proc.returncode
