"""Layer 2, the nats-py boundary: natsobj's handle on one nats-py connection.

`Connection` is how every layer above subscribes and publishes. On a connection natsobj opened
itself, with a nats-py it knows (`privates.knows_this_nats_py`), it takes the fast paths:
natsobj's own subscriptions skip nats-py's per-message machinery (`protocol.FastParser`) and
its publishes go onto nats-py's outgoing buffer without a coroutine (`privates.publish_now`).
On a user's own connection (`natsobj.connect(nc)`) or an unknown nats-py, nothing of nats-py is
modified and the public API is used. Only `privates` touches nats-py's private parts.
"""

from __future__ import annotations

import logging
from typing import Any

from nats.aio.client import Client as NatsClient

from . import privates
from .mailbox import Mailbox
from .protocol import Handler, RawMsg, ack_seq, header_block, parse_headers

log = logging.getLogger("natsobj")

__all__ = [
    "Connection",
    "Handler",
    "Mailbox",
    "RawMsg",
    "ack_seq",
    "header_block",
    "parse_headers",
]


class Connection:
    """One nats-py connection as natsobj uses it: subscribe a handler, send, read the INFO."""

    def __init__(self, nc: NatsClient, *, fast: bool) -> None:
        """`fast`: natsobj may tune this connection (it opened it). The fast paths are taken
        only if this nats-py is known and has what they need."""
        self.nc = nc
        self.fast = bool(fast) and privates.knows_this_nats_py() and privates.has_hooks(nc)
        if fast and not self.fast:
            log.debug("natsobj: fast paths off for this connection; nats-py's public path is used")
        if self.fast:
            privates.install(nc)

    @property
    def server_info(self) -> dict[str, Any]:
        """The INFO of the server this connection is on now."""
        return privates.server_info(self.nc)

    async def subscribe(self, subject: str, handler: Handler) -> Any:
        """A nats-py subscription whose messages go to `handler` as RawMsg."""
        return await privates.subscribe(self.nc, subject, handler, fast=self.fast)

    async def send(
        self,
        subject: str,
        payload: bytes,
        reply: str,
        headers: dict[str, str] | None = None,
        *,
        block: bytes | None = None,
        direct: bool = False,
    ) -> None:
        """Publish with a reply subject (`block`: `headers` already encoded by header_block;
        `direct`: straight to the socket when nothing else waits to be written).

        A cancellation can only come after the message is queued; an exception before it
        means that nothing was queued, unless it comes from writing out a full buffer.
        """
        if self.fast:
            if block is None and headers:
                block = header_block(headers)
            if privates.publish_now(self.nc, subject, payload, reply, block, direct=direct):
                await privates.drain_outgoing(self.nc)
        else:
            await self.nc.publish(subject, payload, reply=reply, headers=headers)
