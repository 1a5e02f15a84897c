"""Complete's assembly: the object from its parts, the placed ones written only once.

If the asked parts are the placed prefix 1..k (records chained from the run's start) followed
by staged parts only, the staged ones are appended to the run and the meta committed
(ChunkRuns.commit); the run's SHA-256 is this process's if it placed them, else read back from
the chunks. Anything else (a placed part left out or after a staged one, a prefix ending
mid-chunk, chunks that do not match the records) copies every part into a fresh nuid, the
placed ones read from the run's chunks, and the run is discarded afterwards. Either way the
meta is what the copy stored before placement existed: name, size, digest, chunks, chunk size,
the upload's headers and metadata, the multipart ETag and the part sizes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

from .. import BucketNotFoundError, ChunkRun, ChunkRuns, ObjectInfo, ObjectStore, ObjectStoreError
from ._placement import Placed, part_size, placed_of
from ._rules import ETAG_HEADER, PARTS_HEADER
from ._state import State

log = logging.getLogger("natsobj.s3")


async def assemble(
    state: State,
    target: ObjectStore,
    staging_store: ObjectStore,
    upload_id: str,
    record: dict[str, object],
    parts: list[ObjectInfo],
    etag: str,
    if_revision: int | None = None,
    sums: dict[str, str] | None = None,
) -> ObjectInfo:
    """Store the upload's object from `parts` (checked, in order), with its checksum headers
    `sums`, and return its info; only over the key's revision `if_revision` if given (0: only
    if absent)."""
    sizes = ",".join(str(part_size(p)) for p in parts)

    async def tag(_: ObjectInfo) -> dict[str, str]:
        return {ETAG_HEADER: etag, PARTS_HEADER: sizes, **(sums or {})}

    key = str(record["key"])
    headers = dict(record.get("headers") or {})  # type: ignore[call-overload]
    metadata = dict(record.get("metadata") or {})  # type: ignore[call-overload]
    placement = state.placements.get(upload_id)
    if placement is not None:
        await placement.settled()  # a part still being placed would change the run
    nuid = str(record.get("nuid") or "")
    placed = [placed_of(p) for p in parts]
    if not nuid:  # an upload created before placement existed
        return await target.put(key, _staged(staging_store, parts), headers=headers,
                                 metadata=metadata, if_revision=if_revision,
                                 before_commit=tag)  # fmt: skip
    runs = target.runs
    k = _placed_prefix(parts, placed)
    chunk_size = int(record.get("chunk_size") or 0)
    mine = placement.run if placement else None
    run = await _prefix_run(runs, mine, nuid, chunk_size, placed[:k])
    if run is not None and (run.aligned or k == len(parts)):
        rest = _staged(staging_store, parts[k:]) if k < len(parts) else None
        info = await runs.commit(
            key, run, rest, headers=headers, metadata=metadata, if_revision=if_revision,
            before_commit=tag,
            rewrite=1000 + secrets.randbelow(1 << 30),  # a retried Complete rewrites indexes
        )  # fmt: skip
    else:
        source = _all_chunks(runs, nuid, staging_store, parts, placed)
        info = await target.put(
            key, source, headers=headers, metadata=metadata, if_revision=if_revision,
            before_commit=tag,
        )  # fmt: skip
        state.background(discard_run(target, nuid))
    state.placements.pop(upload_id, None)
    return info


def _placed_prefix(parts: list[ObjectInfo], placed: list[Placed | None]) -> int:
    """k if parts 1..k are placed, chained from the run's start, and the rest staged; else 0."""
    k, after = 0, 0
    for number, (part, where) in enumerate(zip(parts, placed, strict=True), 1):
        if where is None or _number(part) != number or where.after_seq != after:
            break
        k, after = number, where.last_seq
    return k if all(p is None for p in placed[k:]) else 0


def _number(part: ObjectInfo) -> int:
    return int(part.name.rsplit("/", 1)[1])


async def _prefix_run(
    runs: ChunkRuns,
    mine: ChunkRun | None,
    nuid: str,
    chunk_size: int,
    placed: list[Placed | None],
) -> ChunkRun | None:
    """The run of the placed prefix if the stream holds exactly it, else None."""
    if not placed or chunk_size <= 0:
        return None
    chunks = sum(p.chunks for p in placed if p is not None)
    size = sum(p.size for p in placed if p is not None)
    last = placed[-1]
    assert last is not None
    run = mine
    try:
        if run is None or run.nuid != nuid or run.chunks != chunks:
            run = await runs.rebuild(nuid, chunk_size=chunk_size, chunks=chunks)
        if (run.size, run.last_seq) != (size, last.last_seq) or not await runs.intact(run):
            return None
    except ObjectStoreError as exc:
        log.warning("the placed parts of run %s cannot be used as they are: %s", nuid, exc)
        return None
    return run


async def _staged(staging_store: ObjectStore, parts: list[ObjectInfo]) -> AsyncIterator[bytes]:
    for part in parts:
        async with staging_store.open(part.name) as reader:
            async for chunk in reader:
                yield chunk


async def _all_chunks(
    runs: ChunkRuns,
    nuid: str,
    staging_store: ObjectStore,
    parts: list[ObjectInfo],
    placed: list[Placed | None],
) -> AsyncIterator[bytes]:
    """Every part's bytes in order: placed ones from the run's chunks, staged ones staged."""
    for part, where in zip(parts, placed, strict=True):
        if where is None:
            async for chunk in _staged(staging_store, [part]):
                yield chunk
            continue
        read = runs.read(nuid, after_seq=where.after_seq, chunks=where.chunks)
        async for chunk in read:
            yield chunk


async def discard_run(target: ObjectStore, nuid: str) -> None:
    """Purge an upload's reserved chunks (its run), if its bucket is still there."""
    try:
        await target.runs.discard(nuid)
    except BucketNotFoundError:
        return
