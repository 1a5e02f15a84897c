"""`natsobj s3 serve`: the gateway under uvicorn (httptools), with TLS if asked, a graceful
stop on SIGINT/SIGTERM (no new connections; requests in flight finish or fail cleanly), and
one access-log line per request."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn

from .. import Client
from ._app import create_app
from ._credentials import Credentials
from ._protocol import S3HttpProtocol

GRACE_SECONDS = 30


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        """HOST:PORT, [IPv6]:PORT or :PORT (127.0.0.1)."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"--listen wants HOST:PORT, got {text!r}")
        host = host.strip("[]") or "127.0.0.1"
        return cls(host, int(port))


def access_logging() -> None:
    """Access lines on stderr, unless the application set up logging itself."""
    logger = logging.getLogger("natsobj.s3")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class _Server(uvicorn.Server):
    """uvicorn's server, stopping idle TLS connections at once.

    uvicorn closes an idle keep-alive connection on shutdown; over TLS asyncio then waits for
    the client's close_notify, which an idle pooled client (boto3, aws-cli) never sends, so
    the stop took the full 30 s ssl_shutdown_timeout. An idle connection with nothing left to
    write has nothing to lose: abort it. Connections mid-request keep uvicorn's grace."""

    async def shutdown(self, sockets: Any = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            cycle = getattr(connection, "cycle", None)
            idle = cycle is None or getattr(cycle, "response_complete", False)
            if idle and transport is not None and _tls_with_nothing_to_send(transport):
                transport.abort()
        await super().shutdown(sockets)


def _tls_with_nothing_to_send(transport: Any) -> bool:
    """A TLS transport whose bytes all reached the socket: none left in the TLS layer, nor in
    the TCP transport under it (asyncio's, when it can be seen), so an abort loses nothing."""
    if transport.get_extra_info("sslcontext") is None or transport.get_write_buffer_size():
        return False
    below = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    return below is None or not below.get_write_buffer_size()


def _quiet_signals() -> dict[int, Any]:
    """uvicorn re-raises the signal it stopped on once it has stopped; after a graceful stop
    that signal is done with (the command exits 0), so it finds a no-op handler."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


async def serve(
    client: Client,
    *,
    listen: Listen,
    credentials: Credentials,
    region: str = "us-east-1",
    domain: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    idle_timeout: float = 60.0,
    started: Callable[[str], None] | None = None,
) -> None:
    """Serve the gateway until SIGINT/SIGTERM; `started(endpoint)` once it listens.

    `idle_timeout`: seconds a request body may stall before the request fails."""
    app = create_app(
        client, credentials=credentials, region=region, domain=domain, idle_timeout=idle_timeout
    )
    config = uvicorn.Config(
        app,
        host=listen.host,
        port=listen.port,
        http=S3HttpProtocol,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        timeout_graceful_shutdown=GRACE_SECONDS,
        timeout_keep_alive=30,
    )
    server = _Server(config)
    if started is not None:
        scheme = "https" if tls_cert else "http"

        async def announce() -> None:
            while not server.started:
                await asyncio.sleep(0.02)
            port = listen.port or server.servers[0].sockets[0].getsockname()[1]
            host = f"[{listen.host}]" if ":" in listen.host else listen.host
            started(f"{scheme}://{host}:{port}")

        task = asyncio.ensure_future(announce())
    quieted = _quiet_signals()
    try:
        await server.serve()
    finally:
        _restore(quieted)
        if started is not None:
            task.cancel()
