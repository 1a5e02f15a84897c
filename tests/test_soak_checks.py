"""scripts/soak.py's orphan verdicts, on the session's real server (no cluster needed).

The soak runs for minutes on a 3-node cluster, and a clean run never reaches these branches:
here each is reached on purpose, so a change that stops orphans from failing the soak fails
this test first.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

import natsobj
from natsobj import _wire as wire
from natsobj._transfer import purge_subject


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "scripts" / "soak.py"
    spec = importlib.util.spec_from_file_location("natsobj_soak_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def new_soak(soak: ModuleType) -> object:
    return soak.Soak(None, seconds=0.0, writers=1, readers=0, seed=1)  # no cluster used


async def stray_chunk(client: natsobj.Client, store: natsobj.ObjectStore) -> str:
    """A chunk subject that no meta points to, with one message."""
    subject = wire.chunk_subject(store.bucket, wire.new_nuid())
    await client.nc.jetstream().publish(subject, b"stray", stream=store.stream)
    return subject


async def test_an_orphan_natsobj_never_purged_fails_the_soak_by_subject(
    soak: ModuleType, client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    run = new_soak(soak)
    await store.put("live", b"live")
    subject = await stray_chunk(client, store)
    orphans = await store.orphan_chunk_subjects()
    assert orphans == {subject: 1}
    await run.judge_orphans(store, orphans)
    assert run.report.problems == [
        f"orphan chunks left by natsobj: {subject} (1 messages; natsobj never purged it)"
    ]
    assert run.report.lost_purges == []
    assert not run.report.ok


async def test_chunks_stored_after_natsobjs_acknowledged_purge_fail_the_soak(
    soak: ModuleType, client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    run = new_soak(soak)
    with run.purges:  # records the purges natsobj sends, as in a soak run
        subject = await stray_chunk(client, store)
        assert await purge_subject(client.js, store.bucket, subject) == 1
        assert subject in run.purges.acked
        await client.nc.jetstream().publish(subject, b"late", stream=store.stream)
    run.report.replica_divergences.append("measured")  # even then: this is not a lost purge
    await run.judge_orphans(store, await store.orphan_chunk_subjects())
    assert len(run.report.problems) == 1
    assert subject in run.report.problems[0]
    assert "stored after natsobj's last acknowledged purge" in run.report.problems[0]
    assert run.report.lost_purges == []


async def test_a_purge_the_server_lost_counts_only_with_a_measured_divergence(
    soak: ModuleType, client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    subject = await stray_chunk(client, store)
    time.sleep(0.01)
    # what the recorder holds when the server acknowledged a purge sent after this message
    # was stored and still keeps the message (no healthy server does that on its own)
    acked_after = time.time()
    orphans = await store.orphan_chunk_subjects()

    alone = new_soak(soak)
    alone.purges.acked[subject] = acked_after
    await alone.judge_orphans(store, orphans)
    assert alone.report.lost_purges == []
    assert len(alone.report.problems) == 1
    assert "no replica divergence measured" in alone.report.problems[0]
    assert subject in alone.report.problems[0]

    measured = new_soak(soak)
    measured.purges.acked[subject] = acked_after
    measured.report.replica_divergences.append("the numbers")
    await measured.judge_orphans(store, orphans)
    assert measured.report.problems == []
    assert len(measured.report.lost_purges) == 1
    assert measured.report.lost_purges[0].startswith(f"{subject}: 1 messages")
    assert subject in measured.report.render()
