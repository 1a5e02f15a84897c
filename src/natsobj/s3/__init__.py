"""An S3-compatible gateway over natsobj buckets (`natsobj s3 serve`).

A shell over the store: sans-I/O parts (SigV4 verification, checksums, XML, errors, names and
ETags, the listing page) with vector tests, and a thin ASGI layer over them. No object store
rule is written here a second time; what the gateway needs from the store is the store's public
API (conditional puts, `before_commit`, range reads, watches).

    app = natsobj.s3.create_app(client, credentials={"AKID": "secret"})   # any ASGI server
"""

from ._app import Gateway, create_app
from ._credentials import (
    Credentials,
    Identity,
    generated_identity,
    load_auth_file,
    parse_auth_key,
)
from ._serve import Listen, access_logging, serve

__all__ = [
    "Credentials",
    "Gateway",
    "Identity",
    "Listen",
    "access_logging",
    "create_app",
    "generated_identity",
    "load_auth_file",
    "parse_auth_key",
    "serve",
]
