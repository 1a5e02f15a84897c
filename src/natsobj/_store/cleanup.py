"""Purges a failed put needs: they run to their end, and a failure of theirs is logged, so
that the put's own error is what the caller sees."""

from __future__ import annotations

import asyncio
import logging

from .._transfer import purge_subject, run_to_end
from .._wire.errors import ObjectStoreError
from .bucket import Bucket

log = logging.getLogger("natsobj")


async def purge_quietly(bucket: Bucket, subject: str) -> None:
    """Purge `subject` to the end, through a cancellation; log (not raise) a store error."""
    try:
        await run_to_end(purge_subject(bucket.js, bucket.name, subject))
    except ObjectStoreError as exc:
        log.warning("could not purge chunks %s of a failed put: %s", subject, exc)


async def purge_until_empty(bucket: Bucket, subject: str, *, attempts: int = 5) -> None:
    """Purge `subject` until the stream holds nothing on it (a straggler may land after a
    purge: the server stores publishes and handles API requests on different paths)."""
    try:
        for _ in range(attempts):
            await purge_subject(bucket.js, bucket.name, subject)
            info = await bucket.js.stream_info(
                bucket.stream, bucket=bucket.name, subjects_filter=subject
            )
            if not info.get("state", {}).get("subjects"):
                return
            await asyncio.sleep(0.1)
    except ObjectStoreError as exc:
        log.warning("could not purge chunks %s of a failed put: %s", subject, exc)
