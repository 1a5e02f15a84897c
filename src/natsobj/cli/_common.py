"""What every command shares: the connection, the async runner, option types, prompts, progress."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

import natsobj
from natsobj._options import mask_url, parse_timeout, resolve_connect_options
from natsobj.server import DefaultServerInfo, ensure_default_server

T = TypeVar("T")

log = logging.getLogger("natsobj")

PROGRESS_THRESHOLD = 256 * 1024
"""Transfers at most this large get no progress bar."""

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
no_progress_option = click.option(
    "--no-progress", is_flag=True, help="No progress bar (there is none when stderr is piped)."
)

STDIO = "-"
"""A path of "-": stdin for put, stdout for get."""


class CliError(click.ClickException):
    """An operation failed: printed as one line, exit code 1."""

    exit_code = 1


# --- logging -----------------------------------------------------------------------------------


class _LogHandler(logging.Handler):
    """Library warnings as 'natsobj: warning: ...' lines on stderr."""

    def __init__(self, debug: bool) -> None:
        super().__init__(logging.DEBUG if debug else logging.WARNING)
        self.debug = debug

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        level = record.levelname.lower()
        click.echo(f"natsobj: {level}: {message}", err=True)


def setup_logging(debug: bool) -> _LogHandler:
    """Route the library's log records to stderr, briefly unless --debug."""
    handler = _LogHandler(debug)
    log.handlers = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if debug else logging.WARNING)
    return handler


# --- connecting and running --------------------------------------------------------------------


@dataclass
class App:
    """The global options of one invocation, and how commands reach the server."""

    connect_options: dict[str, Any]
    debug: bool
    log_handler: _LogHandler

    def run(self, fn: Callable[[natsobj.Client], Awaitable[T]]) -> T:
        """Connect, run `fn(client)` on a fresh event loop, close the connection."""
        return asyncio.run(self._run(fn))

    async def _run(self, fn: Callable[[natsobj.Client], Awaitable[T]]) -> T:
        client = await self.connect()
        try:
            result = await fn(client)
        except BaseException:
            await _abandon(client)
            raise
        await _close(client)
        return result

    async def connect(self) -> natsobj.Client:
        """natsobj.connect() with our flags; the embedded default server when nothing is set."""
        flags = {k: v for k, v in self.connect_options.items() if v not in (None, False)}
        try:
            opts = resolve_connect_options(**flags)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        servers = opts.servers
        if opts.source == "default":
            default = await asyncio.to_thread(ensure_default_server)
            if default.started:
                _announce_default_server(default)
            flags = {**flags, "servers": default.url, "token": default.token, "no_context": True}
            flags.pop("context", None)
            servers = [default.url]
        return await self._connect_within(flags, opts.timeout, servers, opts.source)

    async def _connect_within(
        self, flags: dict[str, Any], timeout: float, servers: list[str], source: str
    ) -> natsobj.Client:
        try:
            return await natsobj.connect(**flags)
        except (ValueError, ImportError) as exc:  # bad TLS files, nkeys not installed
            raise CliError(str(exc)) from exc
        except natsobj.ConnectionLostError as exc:
            cause = exc.__cause__
            reason = str(cause).removeprefix("nats: ") if cause else f"no answer in {timeout:g}s"
            where = ", ".join(mask_url(u) for u in servers)
            raise CliError(
                f"cannot connect to NATS at {where} ({_describe_source(source)}): {reason}; "
                "check the address, or use -s URL, NATS_URL or --context to pick another server"
            ) from exc


def _describe_source(source: str) -> str:
    if source == "flag":
        return "from -s/--server"
    if source == "env":
        return "from NATS_URL"
    if source.startswith("context:"):
        return f"from NATS context {source.removeprefix('context:')!r}"
    return "the local natsobj server"


def _announce_default_server(info: DefaultServerInfo) -> None:
    click.echo(
        f"natsobj: started a local nats-server on {info.url} (pid {info.pid}); it keeps "
        f"running in the background and its data lives in {info.data_dir}. Stop it with "
        "'natsobj server stop'; to use another server pass -s URL, set NATS_URL or select a "
        "NATS context (--context).",
        err=True,
    )


async def _close(client: natsobj.Client) -> None:
    """Close after success, without hanging on a connection that is already gone."""
    try:
        await asyncio.wait_for(client.close(), timeout=5.0)
    except (natsobj.ObjectStoreError, OSError, asyncio.TimeoutError) as exc:
        log.debug("closing the connection: %r", exc)
    await _abandon(client)


async def _abandon(client: natsobj.Client) -> None:
    """Close at once after a failure: draining would wait for work that was given up."""
    if client.nc.is_closed:
        return
    try:
        await client.nc.close()
    except Exception as exc:  # the command's own error matters more than this one
        log.debug("closing the connection: %r", exc)


# --- option types ------------------------------------------------------------------------------

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$", re.IGNORECASE)


class SizeType(click.ParamType):
    """A byte count: 1048576, 512K, 1MiB, 2GB (K/M/G/T/P are powers of 1024, as in natscli)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        m = _SIZE.match(str(value))
        if not m:
            self.fail(f"{value!r} is not a size like 1048576, 512K, 1MiB or 2GB", param, ctx)
        power = "kmgtp".find(m.group(2).lower()) + 1 if m.group(2) else 0
        return int(float(m.group(1)) * 1024**power)


class DurationType(click.ParamType):
    """Seconds or a Go duration such as 90s, 30m, 24h, 1h30m."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            return parse_timeout(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def parse_pairs(values: tuple[str, ...], sep: str, what: str) -> dict[str, list[str]]:
    """'K<sep>V' options into {K: [V, ...]}; a usage error names the bad one."""
    result: dict[str, list[str]] = {}
    for item in values:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise click.BadParameter(f"{item!r} is not {what}")
        result.setdefault(key.strip(), []).append(value.strip())
    return result


def parse_metadata(values: tuple[str, ...]) -> dict[str, str]:
    """--metadata k=v options (the last value of a repeated key wins)."""
    return {k: v[-1] for k, v in parse_pairs(values, "=", "key=value").items()}


def parse_headers(values: tuple[str, ...]) -> dict[str, list[str]]:
    """--header K:V options; a repeated key keeps every value."""
    return parse_pairs(values, ":", "Key:Value")


# --- prompts -----------------------------------------------------------------------------------


def confirm(question: str, *, action: str, force: bool) -> None:
    """Ask before something irreversible; -f skips it, and without a terminal it is required."""
    if force:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"refusing to {action} without confirmation: stdin is not a terminal; pass -f/--force"
        )
    if not click.confirm(question, default=False, err=True):
        raise CliError("not confirmed; nothing was changed")


# --- progress ----------------------------------------------------------------------------------


class Transfer:
    """A progress bar on stderr (bytes, rate, ETA) for transfers above PROGRESS_THRESHOLD.

    Shown only when stderr is a terminal and --no-progress is not given. With an unknown total
    the bar appears once PROGRESS_THRESHOLD bytes have moved.
    """

    def __init__(self, *, enabled: bool, total: int | None, description: str = "") -> None:
        self._console = Console(stderr=True)
        self._enabled = enabled and self._console.is_terminal
        self._total = total
        self._moved = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._description = description
        if self._enabled and total is not None and total > PROGRESS_THRESHOLD:
            self._start()

    def _start(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self._console,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            self._description, total=self._total, completed=self._moved
        )

    def describe(self, description: str) -> None:
        """Show what is moving now (a file or object name)."""
        self._description = description
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)

    def advance(self, n: int) -> None:
        """Count n more bytes moved (a library progress callback)."""
        self._moved += n
        if self._progress is None:
            if self._enabled and self._total is None and self._moved > PROGRESS_THRESHOLD:
                self._start()
            return
        if self._task is not None:
            self._progress.advance(self._task, n)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Transfer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
