"""What the default server leaves on disk: its home directory, the lock one process at a time
holds to check or start it, and server.json, the record of the running server."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from ._config import LOOPBACK, write_private

_RECORD_NAME = "server.json"
_LOCK_NAME = "server.lock"


@dataclass(frozen=True)
class DefaultServerInfo:
    """Where the default server listens and the token it requires."""

    url: str
    token: str = field(repr=False)
    pid: int
    port: int
    data_dir: Path
    started: bool  # True if this call started it


@dataclass(frozen=True)
class Record:
    """What server.json remembers about the running default server."""

    pid: int
    port: int
    http_port: int
    token: str = field(repr=False)
    binary: str

    def info(self, home: Path, *, started: bool) -> DefaultServerInfo:
        return DefaultServerInfo(
            url=f"nats://{LOOPBACK}:{self.port}",
            token=self.token,
            pid=self.pid,
            port=self.port,
            data_dir=home,
            started=started,
        )


def default_server_home() -> Path:
    """The default server's directory: $NATSOBJ_HOME, else the user data dir for natsobj."""
    env = os.environ.get("NATSOBJ_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("natsobj"))
    return home.absolute()


def prepare_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(home, 0o700)


@contextlib.contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Hold an exclusive lock on the home dir, so one process at a time checks and starts."""
    import fcntl  # POSIX only, like the default server itself

    fd = os.open(home / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def read_record(home: Path) -> Record | None:
    try:
        data = json.loads((home / _RECORD_NAME).read_text(encoding="utf-8"))
        return Record(
            pid=int(data["pid"]),
            port=int(data["port"]),
            http_port=int(data["http_port"]),
            token=str(data["token"]),
            binary=str(data["binary"]),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # Written atomically by us, so this is a hand-edited file: it names no usable server.
        return None


def write_record(home: Path, rec: Record) -> None:
    data = {
        "pid": rec.pid,
        "port": rec.port,
        "http_port": rec.http_port,
        "token": rec.token,
        "binary": rec.binary,
    }
    write_private(home / _RECORD_NAME, json.dumps(data, indent=2) + "\n")


def remove_record(home: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (home / _RECORD_NAME).unlink()
