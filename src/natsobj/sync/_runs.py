"""The blocking ChunkRuns that ObjectStore.runs gives: objects written in pieces, then committed.

Each method runs the async method of the same name on natsobj's loop thread; read() hands its
chunks out one at a time. Hooks (`check`, `before_commit`) are plain functions here, run on the
loop thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from .. import ChunkRun, ObjectInfo
from .. import ChunkRuns as _AsyncChunkRuns
from ._loop import on_loop, run
from ._types import PutSource


class ChunkRuns:
    """Chunk runs in one bucket, blocking; get it as `ObjectStore.runs`."""

    def __init__(self, aruns: _AsyncChunkRuns) -> None:
        self.aio = aruns
        """The async ChunkRuns underneath."""

    def start(self, chunk_size: int | None = None) -> ChunkRun:
        """An empty run on a fresh nuid (nothing is sent)."""
        return self.aio.start(chunk_size)

    def append(
        self,
        run_: ChunkRun,
        data: PutSource,
        *,
        hold_until: datetime | None = None,
        rewrite: int | None = None,
        check: Callable[[ChunkRun], Any] | None = None,
    ) -> ChunkRun:
        """Write `data` as the next chunks of `run_` and return the longer run, all or nothing
        (see the async ChunkRuns.append; `check` is a plain function)."""
        hook = on_loop(check)  # type: ignore[arg-type]
        return run(self.aio.append(run_, data, hold_until=hold_until, rewrite=rewrite, check=hook))

    def truncate(self, run_: ChunkRun) -> int:
        """Delete the messages on the run's subject after its last chunk; returns how many."""
        return run(self.aio.truncate(run_))

    def intact(self, run_: ChunkRun) -> bool:
        """True if the stream holds exactly the run's chunks on its subject (nothing after)."""
        return run(self.aio.intact(run_))

    def read(self, nuid: str, *, after_seq: int = 0, chunks: int) -> Iterator[bytes]:
        """The payloads of the `chunks` chunks of `nuid` that follow stream sequence
        `after_seq`, one at a time."""
        chunk_iter = self.aio.read(nuid, after_seq=after_seq, chunks=chunks)
        try:
            while True:
                try:
                    yield run(chunk_iter.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            run(chunk_iter.aclose())

    def rebuild(self, nuid: str, *, chunk_size: int, chunks: int) -> ChunkRun:
        """The run of `nuid`'s first `chunks` chunks read back from the stream."""
        return run(self.aio.rebuild(nuid, chunk_size=chunk_size, chunks=chunks))

    def discard(self, nuid: str) -> int:
        """Purge every chunk of `nuid` (an abandoned run); returns the messages removed."""
        return run(self.aio.discard(nuid))

    def commit(
        self,
        name: str,
        run_: ChunkRun,
        rest: PutSource | None = None,
        *,
        description: str | None = None,
        headers: Mapping[str, list[str] | str] | None = None,
        metadata: Mapping[str, str] | None = None,
        if_revision: int | None = None,
        before_commit: Callable[[ObjectInfo], Any] | None = None,
        rewrite: int | None = None,
    ) -> ObjectInfo:
        """Store `name` as the run followed by `rest`, all or nothing, and return its info
        (see the async ChunkRuns.commit; `before_commit` is a plain function)."""
        return run(
            self.aio.commit(
                name,
                run_,
                rest,
                description=description,
                headers=headers,
                metadata=metadata,
                if_revision=if_revision,
                before_commit=on_loop(before_commit),
                rewrite=rewrite,
            )
        )
