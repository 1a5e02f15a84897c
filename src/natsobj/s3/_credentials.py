"""Who may call the gateway: identities (access key, secret, buckets, read-only), read from
`--auth-key ACCESS,SECRET` pairs or an `--auth-file`, or generated once and kept in natsobj's
state directory (mode 0600) so the next start reuses them."""

from __future__ import annotations

import fnmatch
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Identity:
    """One access key: its secret, a name for logs, the bucket globs it may use, read-only."""

    access_key: str
    secret_key: str
    name: str = ""
    buckets: tuple[str, ...] = ("*",)
    read_only: bool = False

    def may_use(self, bucket: str) -> bool:
        return any(fnmatch.fnmatchcase(bucket, pattern) for pattern in self.buckets)


@dataclass
class Credentials:
    """The identities the gateway knows, by access key."""

    identities: dict[str, Identity] = field(default_factory=dict)

    @classmethod
    def of(cls, given: Credentials | Mapping[str, str] | Iterable[Identity] | None) -> Credentials:
        """From a Credentials, a {access_key: secret} mapping or Identity values."""
        if isinstance(given, Credentials):
            return given
        if given is None:
            return cls()
        if isinstance(given, Mapping):
            return cls({k: Identity(k, v, name=k) for k, v in given.items()})
        return cls({i.access_key: i for i in given})

    def secret_for(self, access_key: str) -> str | None:
        found = self.identities.get(access_key)
        return found.secret_key if found else None

    def __len__(self) -> int:
        return len(self.identities)


def parse_auth_key(text: str) -> Identity:
    """ACCESS,SECRET (rclone's --auth-key form)."""
    access, sep, secret = text.partition(",")
    if not sep or not access or not secret:
        raise ValueError(f"--auth-key wants ACCESS,SECRET, got {text!r}")
    return Identity(access.strip(), secret.strip(), name=access.strip())


def load_auth_file(path: str | os.PathLike[str]) -> list[Identity]:
    """A JSON list of {"access_key", "secret_key", "name", "buckets": [globs], "read_only"}."""
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the auth file {path}: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError(f"the auth file {path} must hold a JSON list of identities")
    return [_identity(entry, path) for entry in entries]


def _identity(entry: Any, path: object) -> Identity:
    if not isinstance(entry, dict) or not entry.get("access_key") or not entry.get("secret_key"):
        raise ValueError(f"every entry of {path} needs access_key and secret_key: {entry!r}")
    buckets = entry.get("buckets", ["*"])
    if isinstance(buckets, str) or not all(isinstance(b, str) for b in buckets):
        raise ValueError(f"'buckets' in {path} must be a list of globs: {buckets!r}")
    return Identity(
        str(entry["access_key"]),
        str(entry["secret_key"]),
        name=str(entry.get("name") or entry["access_key"]),
        buckets=tuple(buckets),
        read_only=bool(entry.get("read_only", False)),
    )


def generated_identity(state_dir: Path) -> tuple[Identity, bool]:
    """The gateway's own key pair, made once and kept in `state_dir` (mode 0600); True if
    it was made now."""
    path = state_dir / "s3-keys.json"
    if path.exists():
        data = json.loads(path.read_text())
        return Identity(data["access_key"], data["secret_key"], name="generated"), False
    state_dir.mkdir(parents=True, exist_ok=True)
    identity = Identity(
        "NO" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30), name="generated"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"access_key": identity.access_key, "secret_key": identity.secret_key}, out)
    return identity, True
