"""What a store last saw at each meta subject: read-your-writes, and the guard of the next put.

For each meta subject this client wrote or read, the stream sequence of that meta and the nuid
of the chunks it points to (None for a tombstone or a link: nothing to purge). A read never
accepts an older meta than one recorded here (a lagging replica), and a put over a known name
guards its meta with the recorded sequence instead of looking the name up first. A stale
entry is harmless: the server then refuses the meta (its guard names another sequence) and the
name is looked up after all. Bounded: the oldest entries go first.

Entries are kept as plain `(seq, nuid)` tuples, which the cyclic garbage collector stops
tracking: ten thousand tracked `Known` objects made every collection walk them, and a run of
many small puts 20% slower.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from .._wire.models import ObjectInfo

REMOVED = -1
"""The sequence recorded for a meta subject this client purged (a rename's old name)."""


@dataclass(frozen=True)
class Known:
    """A meta at stream sequence `seq` whose chunks are those of `nuid` (None: no chunks)."""

    seq: int
    nuid: str | None

    @classmethod
    def of(cls, info: ObjectInfo) -> Known:
        live = info.nuid and not info.deleted and not info.is_link
        return cls(info.revision, info.nuid if live else None)


class KnownMetas:
    """meta subject -> Known, the newest `limit` of them."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._items: OrderedDict[str, tuple[int, str | None]] = OrderedDict()

    def remember(self, subject: str, known: Known) -> None:
        """Record the meta at `subject`, unless an entry as new or newer is there."""
        items = self._items
        old = items.get(subject)
        if old is not None and 0 < known.seq < old[0]:
            return
        items[subject] = (known.seq, known.nuid)
        items.move_to_end(subject)
        while len(items) > self._limit:
            items.popitem(last=False)

    def removed(self, subject: str) -> None:
        """This client purged `subject`: reads must not return what a replica still holds."""
        self._items[subject] = (REMOVED, None)
        self._items.move_to_end(subject)

    def floor(self, subject: str) -> int:
        """The lowest sequence a read of `subject` may accept (0: any; REMOVED: none)."""
        known = self._items.get(subject)
        return known[0] if known is not None else 0

    def get(self, subject: str) -> Known | None:
        """The meta last seen at `subject`, if one is recorded (not a removal)."""
        known = self._items.get(subject)
        return Known(*known) if known is not None and known[0] > 0 else None
