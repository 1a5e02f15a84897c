"""Credential values: one kind of signing credential per layer, secrets given inline or as
env://, file:// or data: URIs, and inline files written to private temp files removed at exit."""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ._fields import home

_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
_ENV_REF = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def check_one_signing_kind(signing: Mapping[str, str], where: str) -> None:
    kinds = [k for k in ("creds", "nkey") if k in signing]
    if "user_jwt" in signing or "user_seed" in signing:
        kinds.append("user_jwt/user_seed")
    if len(kinds) > 1:
        raise ValueError(
            f"more than one signing credential set by {where}: {', '.join(kinds)}; keep one"
        )


def resolve_literal(name: str, raw: str, where: str, env: Mapping[str, str]) -> str:
    """A secret given inline, or through env://, file:// or data:."""
    scheme = _scheme(raw)
    if scheme is None or scheme not in {"env", "file", "data", "op", "nsc"}:
        return raw  # a literal token or password may well contain ':'
    return _read_ref(name, raw, scheme, where, env).decode().rstrip("\r\n")


def resolve_path(name: str, raw: str, where: str, env: Mapping[str, str]) -> str:
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


def _expand(path: str, env: Mapping[str, str]) -> str:
    """Expand a leading ~ and $VAR/${VAR} from env; unset variables become "" as in natscli."""
    if path == "~" or path.startswith("~/"):
        path = home(env) + path[1:]
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
