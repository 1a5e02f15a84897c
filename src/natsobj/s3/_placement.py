"""Parts placed straight into the target: a multipart upload whose parts arrive in order has
each written once, into the chunks of the object its Complete commits.

Create reserves the object's nuid (an empty `ChunkRun` of the target bucket; `nuid` in the
upload record) and this process keeps the upload's `Placement`: the run so far (its SHA-256
running), the next part number to place, the parts in flight. UploadPart N is placed if it is
the next one and nothing is being placed: before reading its body it waits for the parts
before it that are in flight here (boto3 sends ten at once, nearly in order), up to TURN_WAIT,
and up to ARRIVAL_GRACE for those that have not arrived. Its record in the staging bucket is an
empty object with its ETag and PLACED_HEADER. Anything else (out of order, a part number
placed before, another gateway process, UploadPartCopy, a part after one that ended mid-chunk)
is staged as before, and placement for the upload stops. A placed part that fails leaves
nothing (ChunkRuns.append deletes its chunks) and stops placement too.

Placed chunks carry a hold until the upload expires (CHUNK_HOLD_HEADER): purge_orphans spares
a paused upload, and collects an abandoned one's chunks once it expired.
"""

from __future__ import annotations

import asyncio
import contextlib
from base64 import b64decode
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .. import ChunkRun, ObjectInfo, ObjectStore
from . import _checksums
from ._errors import S3Error
from ._http import Request
from ._object_ops import verified_headers
from ._rules import PRIVATE_PREFIX
from ._state import State
from ._uploads import STAGING, STAGING_TTL

PLACED_HEADER = PRIVATE_PREFIX + "Placed"
"""On a placed part's record: `<size>,<chunks>,<after_seq>,<last_seq>`, its size, its chunk
count, and the stream sequences its chunks follow and end at on the upload's nuid."""
TURN_WAIT = 30.0
ARRIVAL_GRACE = 0.5
KEPT_AT_MOST = 1000
"""Placements a process keeps; past that, expired and stopped ones are dropped first."""


@dataclass(frozen=True)
class Placed:
    """Where a placed part lies in the upload's run."""

    size: int
    chunks: int
    after_seq: int
    last_seq: int

    def header(self) -> str:
        return f"{self.size},{self.chunks},{self.after_seq},{self.last_seq}"


def placed_of(info: ObjectInfo) -> Placed | None:
    """A part record's placement, or None for a staged part."""
    value = (info.headers.get(PLACED_HEADER) or [""])[0]
    fields = value.split(",")
    if len(fields) != 4 or not all(f.isdigit() for f in fields):
        return None
    return Placed(*(int(f) for f in fields))


def part_size(info: ObjectInfo) -> int:
    """A part's size, placed or staged."""
    placed = placed_of(info)
    return placed.size if placed is not None else info.size


@dataclass
class Turn:
    """One UploadPart's dealings with its upload's placement."""

    held: bool = False
    """It was its turn: it is (or was) the part being placed."""
    run: ChunkRun | None = None
    """The longer run, once the part is placed."""


@dataclass
class Placement:
    """One upload's placement state in this process."""

    bucket: str
    key: str
    run: ChunkRun
    hold_until: datetime
    next: int = 1
    busy: bool = False
    stopped: bool = False
    in_flight: dict[int, int] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self, number: int) -> None:
        """Part `number` came in (counted until `left`)."""
        self.in_flight[number] = self.in_flight.get(number, 0) + 1

    def left(self, number: int, turn: Turn) -> None:
        """Part `number` is done: placed (`turn.run`), staged, or failed (which stops
        placement: nothing after a part that is not placed can be)."""
        count = self.in_flight.get(number, 1) - 1
        if count:
            self.in_flight[number] = count
        else:
            self.in_flight.pop(number, None)
        if turn.held:
            self.busy = False
        if turn.run is not None:
            self.run, self.next = turn.run, number + 1
        elif number >= self.next:
            self.stopped = True
        self._wake()

    def stop(self) -> None:
        self.stopped = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def turn(self, number: int, turn: Turn) -> bool:
        """Wait for part `number`'s turn to be placed: True (`turn.held`) if it came, False
        if the part is to be staged (and placement stops)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TURN_WAIT
        grace = loop.time() + ARRIVAL_GRACE
        while True:
            if self.stopped or number < self.next or not self.run.aligned:
                self.stopped = True
                return False
            if number == self.next and not self.busy:
                self.busy = turn.held = True
                return True
            missing = any(n not in self.in_flight for n in range(self.next, number))
            until = min(deadline, grace) if missing else deadline
            if loop.time() >= until:
                self.stopped = True
                return False
            changed = self._changed
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), until - loop.time())

    async def settled(self, within: float = 10.0) -> None:
        """Stop placing and wait (at most `within`) for a part being placed to end."""
        self.stop()
        loop = asyncio.get_running_loop()
        until = loop.time() + within
        while self.busy and loop.time() < until:
            changed = self._changed
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), until - loop.time())


def placements(state: State) -> dict[str, Placement]:
    return state.placements


def reserve(state: State, upload_id: str, bucket: str, key: str, run: ChunkRun) -> None:
    """Keep the placement of a new upload (dropping expired or stopped ones past the cap)."""
    kept = placements(state)
    if len(kept) >= KEPT_AT_MOST:
        now = datetime.now(timezone.utc)
        for stale in [u for u, p in kept.items() if p.hold_until < now or p.stopped]:
            if not kept[stale].busy:
                del kept[stale]
        while len(kept) >= KEPT_AT_MOST:
            del kept[next(iter(kept))]
    hold_until = datetime.now(timezone.utc) + STAGING_TTL
    kept[upload_id] = Placement(bucket, key, run, hold_until)


def placement_for(state: State, req: Request) -> Placement | None:
    found = placements(state).get(req.query.get("uploadId", ""))
    if found is None or (found.bucket, found.key) != (req.bucket, req.key):
        return None
    return found


async def place_part(
    state: State,
    req: Request,
    placement: Placement,
    target: ObjectStore,
    staging_store: ObjectStore,
    name: str,
    computed: tuple[str, ...] = (),
) -> tuple[ChunkRun, dict[str, str]]:
    """Write the request's body after the upload's run, verified as a staged part is, and
    record it as `name` (with the checksums of the `computed` algorithms); the longer run and
    the part record's headers. All or nothing."""
    wanted = _checksums.requested(req.header_list)
    signed = req.verified.payload_sha256 if req.verified is not None else None
    part_sha = signed is not None or "SHA256" in wanted or "SHA256" in computed
    asked = {**wanted, **dict.fromkeys(computed)}
    hashed = tuple(alg for alg in asked if alg != "SHA256") + (("SHA256",) if part_sha else ())
    body = req.body(algorithms=hashed)  # the part's SHA-256 with its MD5, off the event loop
    before = placement.run
    recorded: dict[str, str] = {}

    async def check(longer: ChunkRun) -> None:
        placed = Placed(
            longer.size - before.size, longer.chunks - before.chunks, before.last_seq,
            longer.last_seq,
        )  # fmt: skip
        sha256 = b64decode(body.checksum_b64("SHA256")).hex() if part_sha else None
        recorded.update(verified_headers(req, body, sha256, wanted, computed))
        headers = {**recorded, PLACED_HEADER: placed.header()}
        state.applied(STAGING, await staging_store.put(name, b"", headers=headers))

    longer = await target.runs.append(before, body, hold_until=placement.hold_until, check=check)
    return longer, recorded


async def body_early(req: Request, placement: Placement, number: int) -> None:
    """Let the body of a part that must wait for its turn start coming now: read its first
    message (which sends its 100 Continue) and hold it for the body. The client then sends on
    while earlier parts are placed, up to what the connection's buffers hold (uvicorn stops
    reading past 64 KiB), so the part's turn starts on bytes already here, not a round trip."""
    if placement.stopped or number < placement.next:
        return
    if number == placement.next and not placement.busy:
        return  # its turn now: nothing to wait for
    receive = req.receive
    try:
        first = await asyncio.wait_for(receive(), req.idle_timeout)
    except asyncio.TimeoutError:
        raise S3Error("RequestTimeout", f"no request body for {req.idle_timeout:.0f} s") from None
    held = [first]

    async def replay() -> Any:
        return held.pop() if held else await receive()

    req.receive = replay
