"""Layer 5, the store (the API): buckets and objects, composed from the layers below.

`objects.ObjectStore` is the public face; the rules live each in one module: `put` (the put
protocol), `commit` (the decisions of a commit, pure) and `committer` (carrying them out),
`pipeline` (put_many's small objects), `resume` (resumable uploads), `compose` (objects
written in pieces, then committed once), `reading`, `listing`,
`changes` (tombstones, renames, links), `many`, `buckets`; shared state in `bucket`,
`known`, `context` and `janitor` (background purges of replaced chunks).
"""

from . import buckets
from .compose import ChunkRun, ChunkRuns
from .context import StoreContext
from .listing import ObjectWatcher
from .objects import ObjectStore
from .reading import ObjectReader

__all__ = [
    "ChunkRun",
    "ChunkRuns",
    "ObjectReader",
    "ObjectStore",
    "ObjectWatcher",
    "StoreContext",
    "buckets",
]
