"""A mirror whose origin is unreachable: status says stale (lag alone stays 0), reads go on,
writes are still refused at once, garbage collection purges nothing, and once the origin is
back the mirror catches up (shared/spec/mirrors.md §7.10 criteria 5 and 7)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import natsobj
from natsobj import Origin
from natsobj.testing.leaf import LeafPair

from ..test_cli import clean_env, error_lines, run
from .conftest import unique

OUTAGE = 12.0  # seconds: longer than STALE_AFTER (10 s), as the spec's criterion asks


RECOVERY = 150.0  # seconds: the server's reconnect backoff reaches 2 min (spec §7.10 criterion 5)


def adr20_meta(bucket: str, name: str, nuid: str, chunks: list[bytes]) -> bytes:
    """The meta an ADR-20 writer publishes after the chunks (spec appendix, `exp_gc.py`)."""
    data = b"".join(chunks)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()
    return json.dumps(
        {
            "name": name,
            "bucket": bucket,
            "nuid": nuid,
            "size": len(data),
            "chunks": len(chunks),
            "mtime": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
            "digest": f"SHA-256={digest}",
            "options": {"max_chunk_size": len(chunks[0])},
        }
    ).encode()


@pytest.mark.slow
@pytest.mark.timeout(OUTAGE + RECOVERY + 60)  # beyond the suite's 120 s: the server backs off
async def test_an_upload_in_flight_through_an_outage_survives_gc_and_reads_after_recovery(
    pair: LeafPair,
    hub: natsobj.Client,
    leaf: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
    tmp_path: Path,
) -> None:
    """Spec §7.8 test 5: 2 of 4 chunks of a raw put are mirrored when the edge stops. GC on
    the hub refuses while the edge is away (the old age rule destroyed the object), keeps the
    chunks once the edge answers, and after the edge finishes the put the hub reads it."""
    await origin.put("x", b"before the outage")
    name = unique("m")
    hub_buckets.append(name)
    mirror = await hub.create_object_store(name, mirror=Origin(origin.bucket, domain="leaf"))
    js = leaf.nc.jetstream()
    nuid = "flight" + os.urandom(8).hex()
    chunks = [os.urandom(1000) for _ in range(4)]
    for chunk in chunks[:2]:
        await js.publish(f"$O.{origin.bucket}.C.{nuid}", chunk)
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream)
    here = f"$O.{name}.C.{nuid}"
    fresh = (await mirror.status()).replication
    assert fresh is not None and not fresh.stale
    await asyncio.to_thread(pair.stop_leaf)
    stopped = time.monotonic()
    try:
        before = pair.stream_state("hub", f"OBJ_{name}")
        found = await mirror.orphan_chunks()
        assert dict(found.unknown) == {here: 2} and found.unreachable == (f"{origin.bucket}@leaf",)
        with pytest.raises(natsobj.OriginUnreachableError):
            await mirror.purge_orphans(min_age=timedelta(0))  # age alone is no evidence
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped)))
        rep = (await mirror.status()).replication
        assert rep is not None and rep.stale
        (state,) = rep.origins
        assert state.stale and state.lag == 0  # lag says nothing while disconnected
        assert state.origin_last_seq is None  # the edge cannot be asked
        print(f"after {time.monotonic() - stopped:.1f}s down: last contact {state.last_contact}")
        assert state.last_contact is None or state.last_contact.total_seconds() >= 10
        assert await mirror.get("x") == b"before the outage"  # reads go on
        start = time.monotonic()
        with pytest.raises(natsobj.BucketReadOnlyError):
            await mirror.put("y", b"y")
        assert time.monotonic() - start < 0.5  # refused at once, not after 30 s of retries
        with pytest.raises(natsobj.OriginUnreachableError):
            await mirror.purge_orphans()
        env = clean_env(tmp_path, NATS_URL=pair.hub_url)
        out = run("verify", name, "--purge-orphans", "--json", env=env)
        assert out.returncode == 1
        report = json.loads(out.stdout)
        assert report["replication"]["stale"] is True and report["purged"] is None
        assert report["kept"]["unknown"] == {here: 2}
        assert "cannot confirm with origin" in report["purge_refused"]
        assert any("not purging" in line for line in error_lines(out))
        assert run("verify", name, env=env).returncode == 1  # stale
        assert run("verify", name, "--allow-stale", env=env).returncode == 0
        assert pair.stream_state("hub", f"OBJ_{name}") == before  # 0 chunks purged
    finally:
        restarted = time.monotonic()
        await asyncio.to_thread(pair.start_leaf)
    found = await mirror.orphan_chunks()  # the edge answers: it still has them
    assert dict(found.at_origin) == {here: 2} and dict(found.removable) == {}
    assert await mirror.purge_orphans() == 0
    for chunk in chunks[2:]:  # the edge finishes the put
        await js.publish(f"$O.{origin.bucket}.C.{nuid}", chunk)
    await js.publish(
        f"$O.{origin.bucket}.M.{base64.urlsafe_b64encode(b'inflight').decode()}",
        adr20_meta(origin.bucket, "inflight", nuid, chunks),
        headers={"Nats-Rollup": "sub"},
    )
    await origin.put("after", b"put after the outage")
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream, RECOVERY)
    print(f"mirror caught up {time.monotonic() - restarted:.1f}s after the leaf's restart")
    assert await mirror.get("inflight") == b"".join(chunks)
    assert await mirror.get("after") == b"put after the outage"
    deadline = time.monotonic() + 10.0
    while (rep := (await mirror.status()).replication) is not None and rep.stale:
        assert time.monotonic() < deadline, rep
        await asyncio.sleep(0.2)
    assert rep is not None and rep.origins[0].lag == 0 and rep.origins[0].error is None
    assert await mirror.orphan_chunk_subjects() == {}
