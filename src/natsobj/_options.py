"""Resolve how to connect to NATS: explicit flags, then NATS_* env vars, then a natscli context.

Pure apart from reading the context files and writing private temp files for inline credentials;
never opens a connection. Used by ``natsobj.connect()``, the CLI and the fsspec filesystem.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import json
import os
import re
import ssl
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "ConnectOptions",
    "parse_timeout",
    "resolve_connect_options",
    "to_jetstream_kwargs",
    "to_nats_connect_kwargs",
]

DEFAULT_TIMEOUT = 5.0
# What natscli connects to when a context is selected but has no url.
CONTEXT_DEFAULT_URL = "nats://localhost:4222"

_SECRET_FIELDS = frozenset({"password", "token", "user_jwt", "user_seed"})
_SIGNING_FIELDS = ("creds", "nkey", "user_jwt", "user_seed")
_PATH_FIELDS = frozenset({"creds", "nkey", "tls_cert", "tls_key", "tls_ca"})
_LITERAL_FIELDS = frozenset({"password", "token", "user_jwt", "user_seed"})

# field -> environment variable (natscli nats/main.go)
_ENV_VARS = {
    "user": "NATS_USER",
    "password": "NATS_PASSWORD",
    "token": "NATS_TOKEN",
    "creds": "NATS_CREDS",
    "nkey": "NATS_NKEY",
    "user_jwt": "NATS_JWT",
    "user_seed": "NATS_SEED",
    "tls_cert": "NATS_CERT",
    "tls_key": "NATS_KEY",
    "tls_ca": "NATS_CA",
}

# field -> key in a natscli context JSON file
_CONTEXT_KEYS = {
    "user": "user",
    "password": "password",
    "token": "token",
    "creds": "creds",
    "nkey": "nkey",
    "user_jwt": "user_jwt",
    "user_seed": "user_seed",
    "tls_cert": "cert",
    "tls_key": "key",
    "tls_ca": "ca",
    "inbox_prefix": "inbox_prefix",
    "jetstream_domain": "jetstream_domain",
    "jetstream_api_prefix": "jetstream_api_prefix",
}

_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
_ENV_REF = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
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


@dataclass(frozen=True, repr=False)
class ConnectOptions:
    """Everything needed to connect; paths are expanded and credential URIs already resolved."""

    servers: list[str] = field(default_factory=list)
    user: str | None = None
    password: str | None = None
    token: str | None = None
    creds: str | None = None
    """Path of a .creds file (a private temp file when given inline)."""
    nkey: str | None = None
    """Path of an nkey seed file (a private temp file when given inline)."""
    user_jwt: str | None = None
    user_seed: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    tls_first: bool = False
    timeout: float = DEFAULT_TIMEOUT
    inbox_prefix: str | None = None
    jetstream_domain: str | None = None
    jetstream_api_prefix: str | None = None
    connection_name: str | None = None
    context_name: str | None = None
    source: str = "default"
    """Where servers came from: "flag", "env", "context:<name>" or "default" (none configured)."""

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value is not None:
                shown = "'***'"
            elif f.name == "servers":
                shown = repr([mask_url(u) for u in value])
            else:
                shown = repr(value)
            parts.append(f"{f.name}={shown}")
        return f"ConnectOptions({', '.join(parts)})"


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

    ctx_name, ctx = (None, {}) if no_context else _load_context(context, env, config_home)
    ctx_label = f"context {ctx_name!r}"

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
    layers: list[tuple[str, dict[str, str | None]]] = [
        ("flag", {k: _clean(v) for k, v in flags.items()}),
        ("env", {k: _clean(env.get(var)) for k, var in _ENV_VARS.items()}),
        (ctx_label, {k: _clean(ctx.get(key)) for k, key in _CONTEXT_KEYS.items()}),
    ]

    # (value, where it came from) for each field that some layer sets.
    chosen: dict[str, tuple[str, str]] = {}
    for name in flags:
        if name in _SIGNING_FIELDS:
            continue
        for where, values in layers:
            value = values.get(name)
            if value is not None:
                chosen[name] = (value, where)
                break
    for where, values in layers:
        signing = {k: v for k in _SIGNING_FIELDS if (v := values.get(k)) is not None}
        if signing:
            _check_one_signing_kind(signing, where)
            chosen.update({k: (v, where) for k, v in signing.items()})
            break

    resolved: dict[str, Any] = {}
    for name, (raw, where) in chosen.items():
        if name in _PATH_FIELDS:
            resolved[name] = _resolve_path(name, raw, where, env)
        elif name in _LITERAL_FIELDS:
            resolved[name] = _resolve_literal(name, raw, where, env)
        else:
            resolved[name] = raw

    server_list, source = _choose_servers(servers, env, ctx_name, ctx)

    if tls_first is None:
        tls_first = _context_bool(ctx, "tls_first", ctx_name)

    if timeout is not None:
        seconds = parse_timeout(timeout)
    elif _clean(env.get("NATS_TIMEOUT")) is not None:
        try:
            seconds = parse_timeout(env["NATS_TIMEOUT"])
        except ValueError as e:
            raise ValueError(f"NATS_TIMEOUT: {e}") from None
    else:
        seconds = DEFAULT_TIMEOUT

    return ConnectOptions(
        servers=server_list,
        tls_first=tls_first,
        timeout=seconds,
        connection_name=_clean(connection_name),
        context_name=ctx_name,
        source=source,
        **resolved,
    )


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


# --- servers -----------------------------------------------------------------------------------


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
        url = _context_str(ctx, "url", ctx_name)
        return _split_servers(url) or [CONTEXT_DEFAULT_URL], f"context:{ctx_name}"
    return [], "default"


def _split_servers(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def mask_url(url: str) -> str:
    try:
        parts = urlsplit(url if "://" in url else f"nats://{url}")
    except ValueError:
        return "***"
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    # A user without a password is how nats-py passes a token, so hide it too.
    masked = f"{userinfo.split(':', 1)[0]}:***" if ":" in userinfo else "***"
    return urlunsplit(parts._replace(netloc=f"{masked}@{host}"))


# --- contexts ----------------------------------------------------------------------------------


def _load_context(
    requested: str | None, env: Mapping[str, str], config_home: Path | None
) -> tuple[str | None, dict[str, Any]]:
    nats_dir = _nats_config_dir(env, config_home)
    if requested:
        name, origin = requested, "requested"
    elif (env.get("NATS_CONTEXT") or "").strip():
        name, origin = env["NATS_CONTEXT"].strip(), "selected by NATS_CONTEXT"
    else:
        selected = nats_dir / "context.txt"
        try:
            name = selected.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None, {}
        except OSError as e:
            raise ValueError(f"cannot read {selected}: {e.strerror}") from e
        if not name:
            return None, {}
        origin = f"selected in {selected}"

    if not name or ".." in name or "/" in name or "\\" in name:
        raise ValueError(f"invalid NATS context name {name!r}")
    path = nats_dir / "context" / f"{name}.json"
    if not path.is_file():
        known = _known_contexts(nats_dir)
        listing = ", ".join(known) if known else f"none in {nats_dir / 'context'}"
        raise ValueError(f"unknown NATS context {name!r} ({origin}); available contexts: {listing}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"cannot read NATS context {name!r} at {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"NATS context {name!r} at {path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"NATS context {name!r} at {path} is not a JSON object")
    for key in [*_CONTEXT_KEYS.values(), "url", "nsc"]:
        _context_str(data, key, name)
    if _clean(data.get("nsc")) and not (_clean(data.get("creds")) and _clean(data.get("url"))):
        raise ValueError(
            f"NATS context {name!r} uses the deprecated 'nsc' lookup, which natsobj does not "
            "support; set 'url' and 'creds' in the context instead (nsc generate creds)"
        )
    return name, data


def _nats_config_dir(env: Mapping[str, str], config_home: Path | None) -> Path:
    if config_home is not None:
        return Path(config_home) / "nats"
    xdg = _clean(env.get("XDG_CONFIG_HOME"))
    if xdg:
        return Path(xdg) / "nats"
    return Path(_home(env)) / ".config" / "nats"


def _known_contexts(nats_dir: Path) -> list[str]:
    ctx_dir = nats_dir / "context"
    if not ctx_dir.is_dir():
        return []
    return sorted(p.stem for p in ctx_dir.glob("*.json") if p.is_file() and p.stat().st_size)


def _context_str(ctx: Mapping[str, Any], key: str, ctx_name: str | None) -> str | None:
    value = ctx.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"NATS context {ctx_name!r}: {key!r} must be a string")
    return _clean(value)


def _context_bool(ctx: Mapping[str, Any], key: str, ctx_name: str | None) -> bool:
    value = ctx.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"NATS context {ctx_name!r}: {key!r} must be true or false")
    return value


# --- credential values -------------------------------------------------------------------------


def _check_one_signing_kind(signing: Mapping[str, str], where: str) -> None:
    kinds = [k for k in ("creds", "nkey") if k in signing]
    if "user_jwt" in signing or "user_seed" in signing:
        kinds.append("user_jwt/user_seed")
    if len(kinds) > 1:
        raise ValueError(
            f"more than one signing credential set by {where}: {', '.join(kinds)}; keep one"
        )


def _resolve_literal(name: str, raw: str, where: str, env: Mapping[str, str]) -> str:
    """A secret given inline, or through env://, file:// or data:."""
    scheme = _scheme(raw)
    if scheme is None or scheme not in {"env", "file", "data", "op", "nsc"}:
        return raw  # a literal token or password may well contain ':'
    return _read_ref(name, raw, scheme, where, env).decode().rstrip("\r\n")


def _resolve_path(name: str, raw: str, where: str, env: Mapping[str, str]) -> str:
    """A file path: bare (with ~ and $VAR expanded), file://, or env:// / data: to a temp file."""
    scheme = _scheme(raw)
    if scheme is None:
        return _expand(raw, env)
    if scheme == "file":
        return _expand(raw[len("file://") :], env)
    return _private_file(name, _read_ref(name, raw, scheme, where, env))


def _scheme(raw: str) -> str | None:
    if raw.startswith("data:"):
        return "data"
    m = _URI_SCHEME.match(raw)
    return m.group(1).lower() if m else None


def _read_ref(name: str, raw: str, scheme: str, where: str, env: Mapping[str, str]) -> bytes:
    label = f"{name} (from {where})"
    if scheme == "env":
        var = raw[len("env://") :]
        if not var:
            raise ValueError(f"{label}: env:// needs a variable name, like env://NATS_CREDS_DATA")
        value = env.get(var)
        if not value:
            raise ValueError(f"{label}: environment variable {var} is not set or empty")
        return value.encode()
    if scheme == "data":
        header, sep, payload = raw[len("data:") :].partition(",")
        if not sep or "base64" not in [p.strip() for p in header.split(";")]:
            raise ValueError(f"{label}: data: URIs must be base64, like data:;base64,<payload>")
        try:
            return base64.b64decode(payload, validate=True)
        except binascii.Error as e:
            raise ValueError(f"{label}: data: URI payload is not valid base64") from e
    if scheme == "file":
        path = _expand(raw[len("file://") :], env)
        try:
            return Path(path).read_bytes()
        except OSError as e:
            raise ValueError(f"{label}: cannot read {path}: {e.strerror}") from e
    raise ValueError(
        f"{label}: unsupported credential URI scheme '{scheme}://'; natsobj accepts a path, "
        "file://PATH, env://VAR or data:;base64,... (resolve it first, e.g. into an env var)"
    )


def _home(env: Mapping[str, str]) -> str:
    return _clean(env.get("HOME")) or os.path.expanduser("~")


def _expand(path: str, env: Mapping[str, str]) -> str:
    """Expand a leading ~ and $VAR/${VAR} from env; unset variables become "" as in natscli."""
    if path == "~" or path.startswith("~/"):
        path = _home(env) + path[1:]
    elif path.startswith("~"):
        path = os.path.expanduser(path)
    return _ENV_REF.sub(lambda m: env.get(m.group(1) or m.group(2), ""), path)


_temp_files: list[str] = []


def _private_file(name: str, content: bytes) -> str:
    """Write inline credential material to a 0600 temp file removed at exit; return its path."""
    fd, path = tempfile.mkstemp(prefix=f"natsobj-{name}-")  # created 0600, owner only
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    if not _temp_files:
        atexit.register(_remove_temp_files)
    _temp_files.append(path)
    return path


def _remove_temp_files() -> None:
    while _temp_files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_temp_files.pop())


def _clean(value: str | None) -> str | None:
    """Empty strings mean unset, as with natscli flags and env vars."""
    return value if value else None


# --- nats-py glue ------------------------------------------------------------------------------


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
