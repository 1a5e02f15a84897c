"""Layer 4, transfer (the hot paths): chunks out with a bounded window, chunks back verified.

`sources` cuts any put source into chunks (`offload` reads big files on a thread),
`publisher` publishes them with windowed acks and idempotent re-sends, `reader` streams them
back with size, count and digest checks, `cleanup` runs purges to their end, and `settings`
holds the knobs. This is where performance is won: keep it small and measured.
"""

from .cleanup import purge_subject, run_to_end
from .offload import read_file_chunks
from .publisher import AckRouter, ChunkPublisher, PublishStats
from .reader import ReadPlan, SpooledBytes, locate_chunk, read_chunks, temp_path_for
from .settings import TransferSettings, check_chunk_size
from .sources import LARGE_FILE_BYTES, ProgressCallback, PutSource, iter_source

__all__ = [
    "LARGE_FILE_BYTES",
    "AckRouter",
    "ChunkPublisher",
    "ProgressCallback",
    "PublishStats",
    "PutSource",
    "ReadPlan",
    "SpooledBytes",
    "TransferSettings",
    "check_chunk_size",
    "iter_source",
    "locate_chunk",
    "purge_subject",
    "read_chunks",
    "read_file_chunks",
    "run_to_end",
    "temp_path_for",
]
