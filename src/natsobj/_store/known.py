"""What a store last saw at each meta subject: read-your-writes, and the guard of the next put.

For each meta subject this client wrote or read, the stream sequence of that meta and the nuid
of the chunks it points to (None for a tombstone or a link: nothing to purge). A read never
accepts an older meta than one recorded here (a lagging replica), and a put over a known name
guards its meta with the recorded sequence instead of looking the name up first. A stale
entry is harmless: the server then refuses the meta (its guard names another sequence) and the
name is looked up after all. Bounded: the oldest entries go first.

Entries are kept as plain ints and strings, which the cyclic garbage collector does not track
(ten thousand `Known` objects, or tuples, made it run and walk them more often).
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
        self._seqs: OrderedDict[str, int] = OrderedDict()  # oldest first
        self._nuids: dict[str, str | None] = {}

    def remember(self, subject: str, known: Known) -> None:
        """Record the meta at `subject`, unless an entry as new or newer is there."""
        seqs = self._seqs
        old = seqs.get(subject)
        if old is not None and 0 < known.seq < old:
            return
        self._set(subject, known.seq, known.nuid)

    def removed(self, subject: str) -> None:
        """This client purged `subject`: reads must not return what a replica still holds."""
        self._set(subject, REMOVED, None)

    def _set(self, subject: str, seq: int, nuid: str | None) -> None:
        seqs = self._seqs
        seqs[subject] = seq
        seqs.move_to_end(subject)
        self._nuids[subject] = nuid
        while len(seqs) > self._limit:
            del self._nuids[seqs.popitem(last=False)[0]]

    def floor(self, subject: str) -> int:
        """The lowest sequence a read of `subject` may accept (0: any; REMOVED: none)."""
        return self._seqs.get(subject, 0)

    def get(self, subject: str) -> Known | None:
        """The meta last seen at `subject`, if one is recorded (not a removal)."""
        seq = self._seqs.get(subject, 0)
        return Known(seq, self._nuids[subject]) if seq > 0 else None
