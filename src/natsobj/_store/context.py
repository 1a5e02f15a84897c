"""What every bucket of one connection shares: JetStream, the transfer settings, the ack
router, and the janitor that purges replaced chunks off the caller's path."""

from __future__ import annotations

from .._jetstream import JetStream
from .._transfer import AckRouter, TransferSettings
from .janitor import Janitor


class StoreContext:
    """The shared parts of the stores of one connection (see the module's text)."""

    def __init__(self, js: JetStream, transfer: TransferSettings | None = None) -> None:
        self.js = js
        self.transfer = transfer or TransferSettings()
        self.acks = AckRouter(js)
        self.janitor = Janitor(js, self.transfer)

    @property
    def max_payload(self) -> int:
        """The largest message the server accepts (bytes)."""
        return int(self.js.nc.max_payload)
