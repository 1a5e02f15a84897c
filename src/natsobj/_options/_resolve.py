"""resolve_connect_options(): flags, then NATS_* env vars, then a natscli context, merged into
one ConnectOptions; and parse_timeout() for the seconds or Go durations they give."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._contexts import context_bool, context_str, load_context
from ._credentials import check_one_signing_kind, resolve_literal, resolve_path
from ._fields import (
    CONTEXT_DEFAULT_URL,
    CONTEXT_KEYS,
    DEFAULT_TIMEOUT,
    ENV_VARS,
    LITERAL_FIELDS,
    PATH_FIELDS,
    SIGNING_FIELDS,
    ConnectOptions,
    clean,
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def resolve_connect_options(
    *,
    servers: str | Sequence[str] | None = None,
    context: str | None = None,
    no_context: bool = False,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    creds: str | None = None,
    nkey: str | None = None,
    user_jwt: str | None = None,
    user_seed: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    tls_ca: str | None = None,
    tls_first: bool | None = None,
    timeout: float | str | None = None,
    inbox_prefix: str | None = None,
    jetstream_domain: str | None = None,
    jetstream_api_prefix: str | None = None,
    connection_name: str | None = None,
    env: Mapping[str, str] | None = None,
    config_home: Path | None = None,
) -> ConnectOptions:
    """Merge flags > env vars > natscli context into one ConnectOptions.

    ``env`` defaults to ``os.environ``; ``config_home`` is the XDG config home (contexts live in
    ``config_home/nats``) and defaults to ``$XDG_CONFIG_HOME`` or ``~/.config``. Signing
    credentials (creds, nkey, user_jwt + user_seed) are taken as a group from the highest layer
    that sets any of them, so ``--creds`` replaces a context's nkey instead of mixing with it.
    Raises ValueError for an unknown context, an unsupported credential URI or a bad timeout.
    """
    env = os.environ if env is None else env
    if context and no_context:
        raise ValueError("context and no_context cannot be used together")

    ctx_name, ctx = (None, {}) if no_context else load_context(context, env, config_home)
    flags: dict[str, str | None] = {
        "user": user,
        "password": password,
        "token": token,
        "creds": creds,
        "nkey": nkey,
        "user_jwt": user_jwt,
        "user_seed": user_seed,
        "tls_cert": tls_cert,
        "tls_key": tls_key,
        "tls_ca": tls_ca,
        "inbox_prefix": inbox_prefix,
        "jetstream_domain": jetstream_domain,
        "jetstream_api_prefix": jetstream_api_prefix,
    }
    layers = _layers(flags, env, f"context {ctx_name!r}", ctx)
    resolved = _resolve_values(_choose_values(list(flags), layers), env)
    server_list, source = _choose_servers(servers, env, ctx_name, ctx)
    if tls_first is None:
        tls_first = context_bool(ctx, "tls_first", ctx_name)
    seconds = _choose_timeout(timeout, env)

    return ConnectOptions(
        servers=server_list,
        tls_first=tls_first,
        timeout=seconds,
        connection_name=clean(connection_name),
        context_name=ctx_name,
        source=source,
        **resolved,
    )


_Layer = tuple[str, dict[str, str | None]]
"""Where values come from ("flag", "env", "context 'name'") and the value of each field."""


def _layers(
    flags: Mapping[str, str | None], env: Mapping[str, str], ctx_label: str, ctx: Mapping[str, Any]
) -> list[_Layer]:
    """Every layer's values, highest first: flags, NATS_* env vars, the context."""
    return [
        ("flag", {k: clean(v) for k, v in flags.items()}),
        ("env", {k: clean(env.get(var)) for k, var in ENV_VARS.items()}),
        (ctx_label, {k: clean(ctx.get(key)) for k, key in CONTEXT_KEYS.items()}),
    ]


def _choose_values(names: list[str], layers: list[_Layer]) -> dict[str, tuple[str, str]]:
    """(value, where it came from) for each field that some layer sets.

    Each field comes from the highest layer that sets it, except the signing credentials: they
    come as a group from the highest layer that sets any of them.
    """
    chosen: dict[str, tuple[str, str]] = {}
    for name in names:
        if name in SIGNING_FIELDS:
            continue
        for where, values in layers:
            value = values.get(name)
            if value is not None:
                chosen[name] = (value, where)
                break
    for where, values in layers:
        signing = {k: v for k in SIGNING_FIELDS if (v := values.get(k)) is not None}
        if signing:
            check_one_signing_kind(signing, where)
            chosen.update({k: (v, where) for k, v in signing.items()})
            break
    return chosen


def _resolve_values(chosen: dict[str, tuple[str, str]], env: Mapping[str, str]) -> dict[str, Any]:
    """The chosen values with paths expanded and credential URIs read."""
    resolved: dict[str, Any] = {}
    for name, (raw, where) in chosen.items():
        if name in PATH_FIELDS:
            resolved[name] = resolve_path(name, raw, where, env)
        elif name in LITERAL_FIELDS:
            resolved[name] = resolve_literal(name, raw, where, env)
        else:
            resolved[name] = raw
    return resolved


def _choose_timeout(timeout: float | str | None, env: Mapping[str, str]) -> float:
    """The flag's timeout, else NATS_TIMEOUT's, else the default (seconds)."""
    if timeout is not None:
        return parse_timeout(timeout)
    if clean(env.get("NATS_TIMEOUT")) is not None:
        try:
            return parse_timeout(env["NATS_TIMEOUT"])
        except ValueError as e:
            raise ValueError(f"NATS_TIMEOUT: {e}") from None
    return DEFAULT_TIMEOUT


def parse_timeout(value: float | str) -> float:
    """Seconds from a number or a Go duration such as "5s", "500ms", "2m" or "1m30s"."""
    if isinstance(value, bool):
        raise ValueError(f"invalid timeout {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            seconds = _parse_duration(text)
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"invalid timeout {value!r}: must be a positive duration")
    return seconds


def _parse_duration(text: str) -> float:
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or pos != len(text):
        raise ValueError(
            f"invalid timeout {text!r}: use seconds or a duration like 5s, 500ms, 2m, 1m30s"
        )
    return total


def _choose_servers(
    servers: str | Sequence[str] | None,
    env: Mapping[str, str],
    ctx_name: str | None,
    ctx: Mapping[str, Any],
) -> tuple[list[str], str]:
    from_flag = _split_servers(servers)
    if from_flag:
        return from_flag, "flag"
    from_env = _split_servers(env.get("NATS_URL"))
    if from_env:
        return from_env, "env"
    if ctx_name is not None:
        # Like natscli: a selected context without a url means the local default server.
        url = context_str(ctx, "url", ctx_name)
        return _split_servers(url) or [CONTEXT_DEFAULT_URL], f"context:{ctx_name}"
    return [], "default"


def _split_servers(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]
