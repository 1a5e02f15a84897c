"""`natsobj s3 serve`: an S3-compatible gateway over the NATS object stores."""

from __future__ import annotations

import click

import natsobj
from natsobj.server import default_server_home

try:  # the gateway's dependencies are the natsobj[s3] extra; every other command works without
    from natsobj import s3 as gateway
except ImportError as exc:  # pragma: no cover - the test extra installs it
    gateway = None  # type: ignore[assignment]
    _MISSING = str(exc)

from ._common import App, CliError


@click.group()
def s3() -> None:
    """An S3-compatible gateway: aws-cli, boto3, rclone, s3fs, DuckDB reach NATS buckets.

    \b
    Example:
      natsobj s3 serve --listen 127.0.0.1:9000 --auth-key AKID,SECRET
    """


@s3.command("serve")
@click.option("--listen", default="127.0.0.1:9000", show_default=True, metavar="HOST:PORT")
@click.option(
    "--auth-key", "auth_keys", multiple=True, metavar="ACCESS,SECRET",
    help="An access key and its secret (repeat for several identities).",
)  # fmt: skip
@click.option(
    "--auth-file", metavar="FILE",
    help='JSON list of {"access_key", "secret_key", "name", "buckets", "read_only"}.',
)  # fmt: skip
@click.option("--tls-cert", metavar="FILE", help="Serve HTTPS with this certificate (PEM).")
@click.option("--tls-key", metavar="FILE", help="The certificate's private key (PEM).")
@click.option("--region", default="us-east-1", show_default=True)
@click.option(
    "--domain", metavar="DOMAIN", help="Also answer virtual-host requests: BUCKET.DOMAIN."
)
@click.option(
    "--idle-timeout", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS", help="Fail a request whose body stalls this long (frees its connection).",
)  # fmt: skip
@click.pass_obj
def serve_command(
    app: App,
    listen: str,
    auth_keys: tuple[str, ...],
    auth_file: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    region: str,
    domain: str | None,
    idle_timeout: float,
) -> None:
    """Serve the S3 API over NATS until Ctrl-C (or SIGTERM).

    With no --auth-key and no --auth-file, a key pair is made once, kept in natsobj's state
    directory (mode 0600) and printed; the next start reuses it.

    \b
    Example:
      natsobj s3 serve --listen 127.0.0.1:9000
      aws --endpoint-url http://127.0.0.1:9000 s3 cp big.iso s3://media/big.iso
    """
    if gateway is None:  # pragma: no cover
        raise CliError(f"the S3 gateway needs its extra: pip install 'natsobj[s3]' ({_MISSING})")
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    try:
        where = gateway.Listen.parse(listen)
        identities = [gateway.parse_auth_key(k) for k in auth_keys]
        if auth_file:
            identities += gateway.load_auth_file(auth_file)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    shown = None
    if not identities:
        identity, _ = gateway.generated_identity(default_server_home())
        identities, shown = [identity], identity
    credentials = gateway.Credentials.of(identities)
    gateway.access_logging()

    def started(endpoint: str) -> None:
        click.echo(f"natsobj S3 gateway on {endpoint} (region {region})", err=True)
        if shown is not None:
            click.echo(f"  access key: {shown.access_key}", err=True)
            click.echo(f"  secret key: {shown.secret_key}", err=True)
            click.echo(
                f"  try: AWS_ACCESS_KEY_ID={shown.access_key} AWS_SECRET_ACCESS_KEY="
                f"{shown.secret_key} aws --endpoint-url {endpoint} s3 ls",
                err=True,
            )
        else:
            click.echo(f"  {len(credentials)} access key(s) configured", err=True)

    async def run(client: natsobj.Client) -> None:
        try:
            await gateway.serve(
                client, listen=where, credentials=credentials, region=region, domain=domain,
                tls_cert=tls_cert, tls_key=tls_key, idle_timeout=idle_timeout, started=started,
            )  # fmt: skip
        except OSError as exc:
            raise CliError(f"cannot serve on {listen}: {exc.strerror or exc}") from exc

    app.run(run)
