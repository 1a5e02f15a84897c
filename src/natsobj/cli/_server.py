"""`natsobj server ...`: the local nats-server natsobj uses when no server is configured."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from natsobj.server import (
    DefaultServerInfo,
    default_server_home,
    default_server_status,
    ensure_default_server,
    run_default_server_foreground,
    stop_default_server,
)

from ._render import echo_json, print_fields

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _server_json(info: DefaultServerInfo | None) -> dict[str, Any]:
    # The token is left out on purpose: it is a secret, and natsobj reads it by itself.
    if info is None:
        return {"running": False, "data_dir": str(default_server_home())}
    return {
        "running": True,
        "url": info.url,
        "port": info.port,
        "pid": info.pid,
        "data_dir": str(info.data_dir),
    }


def _print_server(info: DefaultServerInfo) -> None:
    print_fields(
        [
            ("URL", info.url),
            ("PID", str(info.pid)),
            ("Data", str(info.data_dir)),
        ]
    )


@click.group("server")
def server() -> None:
    """The local nats-server used when no server is configured: start, stop, status, run.

    Its data lives in the user data dir ($NATSOBJ_HOME overrides it) and survives restarts.

    \b
    Example:
      natsobj server status
    """


@server.command("start")
@json_option
def start(as_json: bool) -> None:
    """Start the local server in the background (no-op if it runs).

    \b
    Example:
      natsobj server start
    """
    info = ensure_default_server()
    if as_json:
        echo_json({**_server_json(info), "started": info.started})
        return
    click.echo("started the local nats-server" if info.started else "already running")
    _print_server(info)


@server.command("stop")
def stop() -> None:
    """Stop the local server (its data is kept).

    \b
    Example:
      natsobj server stop
    """
    was_running = stop_default_server()
    click.echo("stopped the local nats-server" if was_running else "it was not running")


@server.command("status")
@json_option
def status(as_json: bool) -> None:
    """Show whether the local server runs: URL, port, pid, data dir. Exit code 0 either way.

    \b
    Example:
      natsobj server status --json
    """
    info = default_server_status()
    if as_json:
        echo_json(_server_json(info))
    elif info is None:
        click.echo(f"not running (data dir {default_server_home()})")
    else:
        click.echo("running")
        _print_server(info)


@server.command("run")
def run() -> None:
    """Run the local server in the foreground, its log on the terminal, until Ctrl-C.

    \b
    Example:
      natsobj server run
    """

    def ready(info: DefaultServerInfo) -> None:
        click.echo(
            f"natsobj: local nats-server ready on {info.url}, data in {info.data_dir}; "
            "Ctrl-C stops it",
            err=True,
        )

    code = run_default_server_foreground(on_ready=ready)
    # Stopped by Ctrl-C or SIGTERM is a normal end.
    sys.exit(0 if code in (0, -signal.SIGINT, -signal.SIGTERM) else 1)
