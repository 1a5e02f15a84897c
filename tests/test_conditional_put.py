"""Conditional puts and deletes (`if_revision`) and the `before_commit` hook: all or nothing,
atomically."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

import natsobj
from natsobj import _wire as wire


async def chunk_subjects(client: natsobj.Client, store: natsobj.ObjectStore) -> set[str]:
    info = await client.store_context.js.stream_info(
        store.stream, subjects_filter=wire.all_chunks_subject(store.bucket)
    )
    return set((info.get("state") or {}).get("subjects") or {})


async def test_if_revision_zero_stores_a_new_name(store: natsobj.ObjectStore) -> None:
    info = await store.put("a", b"one", if_revision=0)
    assert await store.get("a") == b"one"
    assert info.revision > 0


async def test_if_revision_zero_refuses_a_live_name_and_keeps_it(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    first = await store.put("a", b"one")
    with pytest.raises(natsobj.RevisionMismatchError) as caught:
        await store.put("a", b"two" * 100_000, if_revision=0, chunk_size=64 * 1024)
    assert caught.value.found == first.revision and caught.value.expected == 0
    assert "no live object" in str(caught.value) and "retry" in str(caught.value)
    assert await store.get("a") == b"one"
    await store.status()  # settles background purges
    assert await chunk_subjects(client, store) == {wire.chunk_subject(store.bucket, first.nuid)}


async def test_if_revision_zero_stores_over_a_deleted_name(store: natsobj.ObjectStore) -> None:
    await store.put("a", b"one")
    await store.delete("a")
    await store.put("a", b"two", if_revision=0)
    assert await store.get("a") == b"two"


async def test_if_revision_stores_only_over_that_revision(store: natsobj.ObjectStore) -> None:
    first = await store.put("a", b"one")
    second = await store.put("a", b"two", if_revision=first.revision)
    assert await store.get("a") == b"two"
    with pytest.raises(natsobj.RevisionMismatchError) as caught:
        await store.put("a", b"three", if_revision=first.revision)
    assert caught.value.found == second.revision
    assert await store.get("a") == b"two"
    with pytest.raises(natsobj.RevisionMismatchError):
        await store.put("missing", b"x", if_revision=first.revision)
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("missing")


async def test_if_revision_lets_one_of_many_racing_writers_win(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    base = await store.put("a", b"base")
    other = await client.object_store(store.bucket)  # a second handle: no shared knowledge
    bodies = [bytes([i]) * 300_000 for i in range(6)]
    handles = [store, other] * 3
    results = await asyncio.gather(
        *(
            h.put("a", body, if_revision=base.revision, chunk_size=32 * 1024)
            for h, body in zip(handles, bodies, strict=True)
        ),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, natsobj.ObjectInfo)]
    lost = [r for r in results if isinstance(r, natsobj.RevisionMismatchError)]
    assert len(won) == 1 and len(lost) == 5, results
    assert await store.get("a") == bodies[results.index(won[0])]
    await store.status()
    await other.status()
    assert await chunk_subjects(client, store) == {wire.chunk_subject(store.bucket, won[0].nuid)}


async def test_delete_if_revision_deletes_only_that_revision(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    first = await store.put("a", b"one" * 100_000, chunk_size=64 * 1024)
    second = await store.put("a", b"two")
    with pytest.raises(natsobj.RevisionMismatchError) as caught:
        await store.delete("a", if_revision=first.revision)  # overwritten since
    assert (caught.value.expected, caught.value.found) == (first.revision, second.revision)
    assert await store.get("a") == b"two"
    gone = await store.delete("a", if_revision=second.revision)
    assert gone.deleted
    with pytest.raises(natsobj.ObjectNotFoundError):
        await store.get_info("a")
    with pytest.raises(natsobj.RevisionMismatchError) as caught:
        await store.delete("a", if_revision=second.revision)  # deleted meanwhile
    assert caught.value.found is None
    await store.status()
    assert await chunk_subjects(client, store) == set()  # the deleted version's chunks went


async def test_delete_if_revision_lets_one_of_racing_deleters_and_writers_win(
    client: natsobj.Client, store: natsobj.ObjectStore
) -> None:
    base = await store.put("a", b"base")
    other = await client.object_store(store.bucket)  # a second handle: no shared knowledge
    calls = [
        store.delete("a", if_revision=base.revision),
        other.put("a", b"new", if_revision=base.revision),
        other.delete("a", if_revision=base.revision),
        store.put("a", b"newer", if_revision=base.revision),
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    won = [r for r in results if isinstance(r, natsobj.ObjectInfo)]
    lost = [r for r in results if isinstance(r, natsobj.RevisionMismatchError)]
    assert len(won) == 1 and len(lost) == 3, results
    if won[0].deleted:
        with pytest.raises(natsobj.ObjectNotFoundError):
            await store.get("a")
    else:
        assert await store.get("a") in (b"new", b"newer")


async def test_before_commit_sees_the_stored_info_and_adds_headers(
    store: natsobj.ObjectStore,
) -> None:
    body = b"x" * 200_000
    seen: list[natsobj.ObjectInfo] = []

    async def hook(info: natsobj.ObjectInfo) -> dict[str, str]:
        seen.append(info)
        return {"X-Md5": hashlib.md5(body).hexdigest()}

    info = await store.put("a", body, headers={"Content-Type": "text/plain"}, before_commit=hook)
    assert seen[0].size == len(body) and seen[0].digest == wire.format_digest(
        hashlib.sha256(body).digest()
    )
    again = await store.get_info("a")
    assert (
        again.headers
        == info.headers
        == {
            "Content-Type": ["text/plain"],
            "X-Md5": [hashlib.md5(body).hexdigest()],
        }
    )


@pytest.mark.parametrize("size", [10, 300_000])
async def test_before_commit_that_raises_stores_nothing(
    client: natsobj.Client, store: natsobj.ObjectStore, size: int
) -> None:
    old = await store.put("a", b"old")

    async def refuse(info: natsobj.ObjectInfo) -> None:
        raise ValueError("checksum does not match")

    with pytest.raises(ValueError, match="checksum"):
        await store.put("a", b"n" * size, chunk_size=64 * 1024, before_commit=refuse)
    assert await store.get("a") == b"old"
    await store.status()
    assert await chunk_subjects(client, store) == {wire.chunk_subject(store.bucket, old.nuid)}


def test_sync_put_takes_the_same_conditions(server: natsobj.server.EmbeddedServer) -> None:
    import natsobj.sync

    with natsobj.sync.connect(server.url) as c:
        s = c.create_object_store("syncconditional")
        try:
            first = s.put("a", b"one", if_revision=0, before_commit=lambda info: {"X-A": "1"})
            assert s.get_info("a").headers == {"X-A": ["1"]}
            with pytest.raises(natsobj.RevisionMismatchError):
                s.put("a", b"two", if_revision=0)
            second = s.put("a", b"two", if_revision=first.revision)
            assert s.get("a") == b"two"
            with pytest.raises(natsobj.RevisionMismatchError):
                s.delete("a", if_revision=first.revision)
            assert s.delete("a", if_revision=second.revision).deleted
        finally:
            c.delete_object_store("syncconditional")
