"""The `natsobj` command group: global options, error handling, and the subcommands."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

import natsobj

from ._buckets import bucket
from ._common import App, CliError, DurationType, setup_logging
from ._get import cat, get
from ._objects import info, link, ls, meta, mv, rm, watch
from ._put import put
from ._s3 import s3
from ._server import server
from ._verify import verify

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """Turns library and OS errors into one 'natsobj: error: ...' line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`natsobj cat b x | head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except (natsobj.ObjectStoreError, OSError, CliError) as exc:
            if ctx.params.get("debug"):
                traceback.print_exc()
            message = exc.format_message() if isinstance(exc, CliError) else _message(exc)
            click.echo(f"natsobj: error: {message}", err=True)
            ctx.exit(1)


def _message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return text or type(exc).__name__


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.option("-s", "--server", "servers", metavar="URL", help="NATS server URL(s) [NATS_URL].")
@click.option("--user", help="Username [NATS_USER].")
@click.option("--password", help="Password [NATS_PASSWORD].")
@click.option("--token", help="Token [NATS_TOKEN].")
@click.option("--creds", metavar="FILE", help="User credentials file [NATS_CREDS].")
@click.option("--nkey", metavar="FILE", help="NKey seed file [NATS_NKEY].")
@click.option("--jwt", "user_jwt", help="User JWT [NATS_JWT].")
@click.option("--seed", "user_seed", help="User seed for --jwt [NATS_SEED].")
@click.option("--tlscert", "tls_cert", metavar="FILE", help="TLS client certificate [NATS_CERT].")
@click.option("--tlskey", "tls_key", metavar="FILE", help="TLS client key [NATS_KEY].")
@click.option("--tlsca", "tls_ca", metavar="FILE", help="TLS CA certificate [NATS_CA].")
@click.option("--tlsfirst", "--tls-first", "tls_first", is_flag=True, help="TLS before INFO.")
@click.option("--timeout", type=DurationType(), help="Connect/request timeout [NATS_TIMEOUT, 5s].")
@click.option("--context", metavar="NAME", help="natscli context to use [NATS_CONTEXT].")
@click.option("--no-context", is_flag=True, help="Ignore natscli contexts.")
@click.option("--js-domain", "jetstream_domain", metavar="DOMAIN", help="JetStream domain.")
@click.option("--js-api-prefix", "jetstream_api_prefix", metavar="PREFIX", help="JetStream API.")
@click.option("--inbox-prefix", metavar="PREFIX", help="Custom inbox prefix.")
@click.option("--connection-name", metavar="NAME", help="Name this connection.")
@click.option("--debug", is_flag=True, help="Show tracebacks and library debug logs.")
@click.version_option(natsobj.__version__, prog_name="natsobj")
@click.pass_context
def cli(ctx: click.Context, debug: bool, **connect_options: Any) -> None:
    """natsobj: the NATS JetStream Object Store from the shell.

    Connects like natscli: flags beat NATS_* environment variables, which beat the natscli
    context (--context, NATS_CONTEXT or the selected one in ~/.config/nats). With none of
    them set, a local nats-server is started on first use and reused afterwards.

    Exit codes: 0 ok, 1 the operation failed, 2 usage error.

    \b
    Example:
      natsobj bucket add media
      natsobj put media photo.jpg
      natsobj ls -l media
      natsobj get media photo.jpg -O copy.jpg
    """
    if connect_options.get("context") and connect_options.get("no_context"):
        raise click.UsageError("--context and --no-context cannot be used together")
    ctx.obj = App(connect_options, debug=debug, log_handler=setup_logging(debug))


for command in (bucket, put, get, cat, ls, info, rm, mv, link, meta, watch, verify, server, s3):
    cli.add_command(command)


def main() -> None:
    """Entry point of the `natsobj` console script and `python -m natsobj`."""
    cli.main(prog_name="natsobj")
