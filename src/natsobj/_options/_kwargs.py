"""ConnectOptions as nats-py's keyword arguments: nats.connect() (with the TLS context and the
JWT signing callbacks it needs) and nc.jetstream()."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable
from typing import Any

from ._fields import ConnectOptions


def to_nats_connect_kwargs(opts: ConnectOptions) -> dict[str, Any]:
    """Keyword arguments for nats-py 2.x ``nats.connect()``; only options that are set appear."""
    kwargs: dict[str, Any] = {}
    if opts.servers:
        kwargs["servers"] = list(opts.servers)
    for name in ("user", "password", "token"):
        value = getattr(opts, name)
        if value is not None:
            kwargs[name] = value
    if opts.creds is not None:
        kwargs["user_credentials"] = opts.creds
    if opts.nkey is not None:
        kwargs["nkeys_seed"] = opts.nkey
    if opts.user_jwt is not None or opts.user_seed is not None:
        if opts.user_jwt is None or opts.user_seed is None:
            raise ValueError("user_jwt and user_seed must be given together")
        kwargs["user_jwt_cb"], kwargs["signature_cb"] = _jwt_callbacks(
            opts.user_jwt, opts.user_seed
        )
    tls = _ssl_context(opts)
    if tls is not None:
        kwargs["tls"] = tls
    if opts.tls_first:
        # nats-py falls back to ssl.create_default_context() when no tls context is given.
        kwargs["tls_handshake_first"] = True
    if opts.inbox_prefix is not None:
        kwargs["inbox_prefix"] = opts.inbox_prefix  # nats-py accepts str or bytes
    if opts.connection_name is not None:
        kwargs["name"] = opts.connection_name
    kwargs["connect_timeout"] = opts.timeout
    return kwargs


def to_jetstream_kwargs(opts: ConnectOptions) -> dict[str, Any]:
    """Keyword arguments for nats-py ``nc.jetstream()``: ``domain`` and/or ``prefix``.

    nats-py lets ``domain`` win when both are set, as natscli does.
    """
    kwargs: dict[str, Any] = {}
    if opts.jetstream_api_prefix is not None:
        kwargs["prefix"] = opts.jetstream_api_prefix.rstrip(".")
    if opts.jetstream_domain is not None:
        kwargs["domain"] = opts.jetstream_domain
    return kwargs


def _jwt_callbacks(
    user_jwt: str, user_seed: str
) -> tuple[Callable[[], bytes], Callable[[str], bytes]]:
    try:
        import nkeys
    except ImportError as e:
        raise ImportError(
            "user_jwt/user_seed authentication needs the nkeys package: "
            "pip install 'natsobj[nkeys]'"
        ) from e
    try:
        nkeys.from_seed(bytearray(user_seed.encode())).wipe()
    except nkeys.NkeysError as e:
        raise ValueError("user_seed is not a valid NATS nkey seed") from e

    def user_jwt_cb() -> bytes:
        return user_jwt.encode()

    def signature_cb(nonce: str) -> bytes:
        kp = nkeys.from_seed(bytearray(user_seed.encode()))
        try:
            return base64.b64encode(kp.sign(nonce.encode()))
        finally:
            kp.wipe()

    return user_jwt_cb, signature_cb


def _ssl_context(opts: ConnectOptions) -> ssl.SSLContext | None:
    if opts.tls_cert is None and opts.tls_key is None and opts.tls_ca is None:
        return None
    if opts.tls_key is not None and opts.tls_cert is None:
        raise ValueError("tls_key is set without tls_cert; give both")
    try:
        ctx = ssl.create_default_context(cafile=opts.tls_ca)
        if opts.tls_cert is not None:
            ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
    except (OSError, ssl.SSLError) as e:
        raise ValueError(f"cannot load TLS files: {e}") from e
    return ctx
