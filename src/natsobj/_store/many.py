"""Many objects at once: put_many (small ones through the pipeline) and get_many, bounded."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .. import _wire as wire
from .._transfer import ProgressCallback, PutSource
from .._wire.errors import InvalidObjectNameError
from .._wire.models import ObjectInfo
from .bucket import Bucket
from .pipeline import SmallPutPipeline
from .put import PutRequest

T = TypeVar("T")
PutOne = Callable[..., Awaitable[ObjectInfo]]

_PIPELINED_OPTIONS = frozenset({"chunk_size", "description", "headers", "metadata"})
"""put_many options the pipeline honours; with any other, every object takes put()."""


async def put_many(
    bucket: Bucket,
    items: Mapping[str, PutSource] | Iterable[tuple[str, PutSource]],
    *,
    concurrency: int,
    progress: ProgressCallback | None,
    put_options: Mapping[str, Any],
    put: PutOne,
    put_file: PutOne,
) -> list[ObjectInfo]:
    """Put many objects, at most `concurrency` at a time; infos in the order given.

    Objects of at most one chunk (bytes or str) go through the pipeline; the others through
    `put` (or `put_file` for paths). The first failure cancels the rest (each rolls back).
    """
    pairs = list(items.items() if isinstance(items, Mapping) else items)
    small: list[tuple[int, str, bytes]] = []
    large: list[tuple[int, str, PutSource]] = []
    request: PutRequest | None = None
    if set(put_options) <= _PIPELINED_OPTIONS:
        request = PutRequest.make("-", max_payload=bucket.ctx.max_payload, **put_options)
    for index, (name, data) in enumerate(pairs):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if (
            request is not None
            and isinstance(data, (bytes, bytearray, memoryview))
            and len(data) <= request.chunk_size
        ):
            wire.validate_object_name(name)  # every name, before anything is sent
            small.append((index, name, bytes(data)))
        else:
            large.append((index, name, data))
    results: list[ObjectInfo | None] = [None] * len(pairs)

    async def one(index: int, name: str, data: PutSource) -> None:
        if isinstance(data, os.PathLike):
            results[index] = await put_file(data, name, progress=progress, **put_options)
        else:
            results[index] = await put(name, data, progress=progress, **put_options)

    jobs: list[Awaitable[Any]] = []
    if small:
        assert request is not None
        pipeline = SmallPutPipeline(
            bucket, small, results, window=concurrency, request=request, progress=progress
        )
        jobs.append(pipeline.run())
    if large:
        jobs.append(bounded(concurrency, [functools.partial(one, *item) for item in large]))
    await all_or_cancel(jobs)
    return [info for info in results if info is not None]


def download_plan(
    names: Iterable[str] | Mapping[str, str | os.PathLike[str]],
    directory: str | os.PathLike[str] | None,
) -> list[tuple[str, Path]] | None:
    """Where get_many writes each object (None: into memory); never outside `directory`."""
    if isinstance(names, Mapping):
        return [(name, Path(target)) for name, target in names.items()]
    if directory is None:
        return None
    root = Path(directory).resolve()
    plan = []
    for name in names:
        target = (root / name).resolve()
        if root not in target.parents:
            raise InvalidObjectNameError(
                f"object name {name!r} would be written outside {root}; get it by name"
            )
        plan.append((name, target))
    return plan


async def all_or_cancel(jobs: list[Awaitable[T]]) -> list[T]:
    """Run `jobs` together; results in order; the first error cancels the others (each
    settles) and is raised."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def bounded(limit: int, jobs: list[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run `jobs` at most `limit` at a time; results in order; the first error cancels the rest."""
    gate = asyncio.Semaphore(max(1, limit))

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return await all_or_cancel([run(job) for job in jobs])
