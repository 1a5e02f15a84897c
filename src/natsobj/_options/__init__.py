"""Resolve how to connect to NATS: explicit flags, then NATS_* env vars, then a natscli context.

Pure apart from reading the context files and writing private temp files for inline credentials;
never opens a connection. Used by ``natsobj.connect()``, the CLI and the fsspec filesystem.

The package's parts: _resolve (the merge, and timeouts), _fields (ConnectOptions and where each
field comes from), _contexts (natscli contexts), _credentials (credential values and URIs) and
_kwargs (the result as nats-py's keyword arguments).
"""

from ._fields import CONTEXT_DEFAULT_URL as CONTEXT_DEFAULT_URL
from ._fields import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._fields import ConnectOptions as ConnectOptions
from ._fields import mask_url as mask_url
from ._kwargs import to_jetstream_kwargs as to_jetstream_kwargs
from ._kwargs import to_nats_connect_kwargs as to_nats_connect_kwargs
from ._resolve import parse_timeout as parse_timeout
from ._resolve import resolve_connect_options as resolve_connect_options

__all__ = [
    "ConnectOptions",
    "parse_timeout",
    "resolve_connect_options",
    "to_jetstream_kwargs",
    "to_nats_connect_kwargs",
]
