"""How much the reads on one connection may ask the server for at once.

nats-server closes a connection whose unread data passes its max_pending (64 MiB by default):
a "slow consumer". One read stays far below that, but each flow-controlled push consumer lets
about 9-20 MiB wait for the client (measured), so four whole-object reads on one connection
were already cut off, and eight were cut off 10 times in 13 s. A read therefore takes a push
consumer only when it is alone on the connection; reads side by side use batched direct gets
whose batches share a budget, each asking for at most its fair part of it; a server that cuts
the connection anyway (its max_pending is lower) halves the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

READ_BUDGET = 24 << 20
"""Bytes all reads on one connection may have asked for and not yet received."""
CONSUMER_WINDOW = 12 << 20
"""What a push consumer may have sent ahead (its flow-control window, measured 9-20 MiB)."""
MIN_BATCH = 256 << 10
"""The least a batched read asks for, however many share the connection (two chunks)."""
MIN_BUDGET = 2 << 20
"""The budget never shrinks below this (see ReadShare.cut)."""


@dataclass
class ReadShare:
    """The reads in progress on one connection (see the module's text)."""

    budget: int = READ_BUDGET
    consumers: int = 0
    batches: int = 0
    asked: int = 0
    """Bytes batched reads have asked for and not yet received."""
    cut_at: int = 0
    """The reconnect count at the last cut the budget was halved for."""

    def alone(self) -> bool:
        """True if no other read is in progress: a push consumer may be used."""
        return self.consumers == 0 and self.batches == 0

    def ask(self, wanted: int) -> int:
        """Bytes a batched read may ask for now (counted as asked until `received`): at most
        `wanted`, its fair part of the budget and what is left of it; never less than
        MIN_BATCH, so no read waits for another."""
        budget = self.budget - self.consumers * CONSUMER_WINDOW
        fair = budget // max(1, self.batches)
        size = max(MIN_BATCH, min(wanted, fair, budget - self.asked))
        self.asked += size
        return size

    def received(self, size: int) -> None:
        """`size` bytes of what was asked for arrived (or will not)."""
        self.asked = max(0, self.asked - size)

    def cut(self, reconnects: int) -> None:
        """The server cut the connection while reads were asking (reconnect number
        `reconnects`): it keeps less for a client than the budget assumes, so halve the
        budget, once per cut, down to MIN_BUDGET, for as long as the connection lives."""
        if reconnects != self.cut_at:
            self.cut_at = reconnects
            self.budget = max(MIN_BUDGET, self.budget // 2)
