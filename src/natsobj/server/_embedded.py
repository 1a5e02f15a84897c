"""EmbeddedServer: a nats-server with JetStream that you start and stop, a child of this process
(for tests and scripts)."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from .._wire.errors import ServerError
from ._config import CONFIG_NAME, LOG_NAME, LOOPBACK, render_config
from ._process import READY_TIMEOUT, find_server_binary, run_server, terminate


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
        return self._log_file_arg or self.store_dir / LOG_NAME

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
                self._proc, self._port, self._http_port = run_server(
                    binary=find_server_binary(),
                    config=store / CONFIG_NAME,
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
        return render_config(
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
            terminate(proc)
        atexit.unregister(self.stop_sync)

    def _remove_tmp_dir(self) -> None:
        tmp, self._tmp_dir = self._tmp_dir, None
        if tmp is not None:
            shutil.rmtree(tmp)
