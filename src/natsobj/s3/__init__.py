"""An S3-compatible gateway over natsobj buckets (`natsobj s3 serve`).

A shell over the store: sans-I/O parts (SigV4 verification, checksums, XML, errors, names and
ETags, the listing index) with vector tests, and a thin ASGI layer over them. No object store
rule is written here a second time; what the gateway needs from the store is the store's public API.
"""
