"""The type aliases of the blocking API: the core's own, from the public package."""

from __future__ import annotations

from .. import ProgressCallback, PutSource

__all__ = ["ProgressCallback", "PutSource"]
