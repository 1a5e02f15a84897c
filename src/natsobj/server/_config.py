"""The files natsobj writes for a nats-server: the config text, written readable by the owner
only (it may hold a token), and the names of the files in a server's directory."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

LOOPBACK = "127.0.0.1"
CONFIG_NAME = "nats-server.conf"
LOG_NAME = "nats-server.log"


def render_config(
    *,
    host: str,
    port: int,
    http_port: int,
    store_dir: Path,
    token: str | None,
    max_payload: int | None,
    extra: str,
) -> str:
    """nats-server config text; JSON string quoting is valid nats config quoting."""
    lines = [
        "# Written by natsobj on every start; edits are lost.",
        f"listen: {json.dumps(f'{host}:{port}')}",
        f"http: {json.dumps(f'{host}:{http_port}')}",
        "jetstream {",
        f"  store_dir: {json.dumps(str(store_dir))}",
        "  max_memory_store: 1G",
        "  max_file_store: 64G",
        "}",
    ]
    if max_payload is not None:
        lines.append(f"max_payload: {int(max_payload)}")
    if token is not None:
        lines += ["authorization {", f"  token: {json.dumps(token)}", "}"]
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Replace path atomically with text, readable by the owner only (it may hold a token)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
