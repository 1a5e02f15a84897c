"""The fields of a connection: ConnectOptions, and where each is read from (the NATS_* env
vars and the keys of a natscli context), with the small rules they share."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from urllib.parse import urlsplit, urlunsplit

DEFAULT_TIMEOUT = 5.0
# What natscli connects to when a context is selected but has no url.
CONTEXT_DEFAULT_URL = "nats://localhost:4222"

_SECRET_FIELDS = frozenset({"password", "token", "user_jwt", "user_seed"})
SIGNING_FIELDS = ("creds", "nkey", "user_jwt", "user_seed")
PATH_FIELDS = frozenset({"creds", "nkey", "tls_cert", "tls_key", "tls_ca"})
LITERAL_FIELDS = frozenset({"password", "token", "user_jwt", "user_seed"})

# field -> environment variable (natscli nats/main.go)
ENV_VARS = {
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
CONTEXT_KEYS = {
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


def home(env: Mapping[str, str]) -> str:
    return clean(env.get("HOME")) or os.path.expanduser("~")


def clean(value: str | None) -> str | None:
    """Empty strings mean unset, as with natscli flags and env vars."""
    return value if value else None
