"""The type aliases of the blocking API (the core's, restated: see _store)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any, BinaryIO

# The core's aliases, restated so that this shell imports no private module of the core
# (tests/test_sync_parity.py checks that they stay equal to the core's).
PutSource = (
    bytes
    | bytearray
    | memoryview
    | str
    | os.PathLike
    | BinaryIO
    | Iterable[bytes]
    | AsyncIterable[bytes]
)
"""What put() accepts: bytes, str, a binary file, a path, a sync or async iterable of bytes."""
ProgressCallback = Callable[[int], Any]
"""Called with the number of bytes just moved (on natsobj's loop thread)."""
