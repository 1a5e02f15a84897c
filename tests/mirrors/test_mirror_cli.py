"""`natsobj bucket add --mirror/--source`, `bucket edit --source/--remove-source`, `bucket info`
and `bucket ls` on a real hub + leaf pair, driven as a user would (subprocesses)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import natsobj
from natsobj.testing.leaf import LeafPair

from ..test_cli import clean_env, error_lines, ok, run
from .conftest import unique


def hub_env(tmp_path: Path, pair: LeafPair) -> dict[str, str]:
    return clean_env(tmp_path, NATS_URL=pair.hub_url)


async def test_bucket_add_mirror_info_and_ls_show_the_replication(
    pair: LeafPair, tmp_path: Path, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    await origin.put("x", b"x")
    env = hub_env(tmp_path, pair)
    name = unique("m")
    hub_buckets.append(name)
    added = json.loads(
        ok(
            "bucket",
            "add",
            name,
            "--mirror",
            origin.bucket,
            "--mirror-domain",
            "leaf",
            "--json",
            env=env,
        ).stdout
    )
    assert added["kind"] == "mirror"
    rep = added["replication"]
    assert rep["read_only"] is True
    assert rep["origins"][0]["bucket"] == origin.bucket
    assert rep["origins"][0]["domain"] == "leaf"
    assert rep["origins"][0]["api"] == "$JS.leaf.API"
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream)
    text = ok("bucket", "info", name, env=env).stdout.decode()
    assert (
        f"Replication: mirror of {origin.bucket} in domain leaf ($JS.leaf.API), read-only" in text
    )
    assert "Last contact: " in text and "STALE" not in text
    listed = json.loads(ok("bucket", "ls", "--json", env=env).stdout)
    assert {b["bucket"]: b["kind"] for b in listed}[name] == "mirror"
    table = ok("bucket", "ls", env=env).stdout.decode()
    row = next(line for line in table.splitlines() if line.split()[:1] == [name])
    assert f"mirror of {origin.bucket}@leaf" in row
    assert name in ok("bucket", "ls", "-n", env=env).stdout.decode().split()


async def test_put_into_a_mirror_exits_1_at_once_with_one_line_naming_the_origin(
    pair: LeafPair, tmp_path: Path, origin: natsobj.ObjectStore, hub_buckets: list[str]
) -> None:
    env = hub_env(tmp_path, pair)
    name = unique("m")
    hub_buckets.append(name)
    ok("bucket", "add", name, "--mirror", origin.bucket, "--mirror-domain", "leaf", env=env)
    (tmp_path / "f").write_bytes(b"data")
    start = time.monotonic()
    out = run("put", name, str(tmp_path / "f"), env=env)
    took = time.monotonic() - start
    assert out.returncode == 1
    (line,) = error_lines(out)
    assert "read-only mirror" in line and "--js-domain leaf" in line
    assert took < 10  # a process start and a refusal; it was 30.5 s of retries before


async def test_bucket_add_source_and_edit_sources(
    pair: LeafPair,
    tmp_path: Path,
    leaf: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
) -> None:
    env = hub_env(tmp_path, pair)
    other = await leaf.create_object_store(unique("o"))
    try:
        name = unique("a")
        hub_buckets.append(name)
        added = json.loads(
            ok("bucket", "add", name, "--source", f"{origin.bucket}@leaf", "--json", env=env).stdout
        )
        assert added["kind"] == "aggregate"
        assert [o["bucket"] for o in added["replication"]["origins"]] == [origin.bucket]
        edited = json.loads(
            ok(
                "bucket",
                "edit",
                name,
                "--source",
                f"{other.bucket}@leaf",
                "--remove-source",
                origin.bucket,
                "--json",
                env=env,
            ).stdout
        )
        assert [o["bucket"] for o in edited["replication"]["origins"]] == [other.bucket]
        bad = run("bucket", "add", unique("a"), "--source", "no good@x", env=env)
        assert bad.returncode == 2
        clash = run("bucket", "add", "b", "--mirror", "a", "--source", "c", env=env)
        assert clash.returncode == 2
    finally:
        await leaf.delete_object_store(other.bucket)


async def test_verify_purge_orphans_on_a_mirror_removes_what_the_origin_purged(
    pair: LeafPair,
    tmp_path: Path,
    hub: natsobj.Client,
    origin: natsobj.ObjectStore,
    hub_buckets: list[str],
) -> None:
    old = await origin.put("a", b"x" * 3000, chunk_size=1000)
    gone = await origin.put("b", b"y" * 1000, chunk_size=1000)
    env = hub_env(tmp_path, pair)
    name = origin.bucket  # same name across the domains
    hub_buckets.append(name)
    ok("bucket", "add", name, "--mirror", name, "--mirror-domain", "leaf", env=env)
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream)  # v1 is there
    await origin.put("a", b"new")
    await origin.delete("b")
    await asyncio.to_thread(pair.wait_synced, f"OBJ_{name}", origin.stream)
    removable = {f"$O.{name}.C.{old.nuid}": 3, f"$O.{name}.C.{gone.nuid}": 1}
    text = ok("verify", name, env=env).stdout.decode()
    assert f"Replication: mirror of {name} in domain leaf" in text
    assert f"$O.{name}.C.{old.nuid}  3 chunks\n" in text
    assert f"$O.{name}.C.{gone.nuid}  1 chunks\n" in text
    assert "remove them with --purge-orphans" in text
    # the default --older-than (10m) plays no part in a mirror: the origin's word does
    done = json.loads(ok("verify", name, "--purge-orphans", "--json", env=env).stdout)
    assert done["removable"] == removable and done["purged"] == 4 and done["ok"] is True
    assert done["kept"] == {"at_origin": {}, "unknown": {}, "recent": {}}
    assert done["replication"]["kind"] == "mirror" and done["replication"]["stale"] is False
    mirror = await hub.object_store(name)
    assert (await mirror.orphan_chunks()).subjects == {}


async def test_verify_origin_fails_naming_a_same_domain_mirror_that_breaks_its_reads(
    pair: LeafPair,
    tmp_path: Path,
    leaf: natsobj.Client,
    origin: natsobj.ObjectStore,
) -> None:
    """A hand-made transformed mirror in the origin's own domain: the server forces
    mirror_direct on (spec §3.1), and it answers the origin's direct gets with 'not found'."""
    await origin.put("x", b"x")
    bad = unique("bad")
    await leaf.js.stream_create(
        {
            "name": f"OBJ_{bad}",
            "mirror": {
                "name": origin.stream,
                "subject_transforms": [{"src": f"$O.{origin.bucket}.>", "dest": f"$O.{bad}.>"}],
            },
            "allow_rollup_hdrs": True,
            "allow_direct": True,
            "mirror_direct": False,
            "discard": "new",
        },
        bucket=bad,
    )
    replica = unique("r")  # natsobj's own same-domain copy is no hazard
    await leaf.create_object_store(replica, mirror=natsobj.Origin(origin.bucket))
    try:
        failed = await failed_get_infos(pair.leaf_url, origin.bucket, 40)
        print(f"with the hand-made mirror: {failed}/40 get_info on the origin failed")
        assert failed > 0  # the hazard is real, not a guess
        (hazard,) = await origin.read_hazards()
        assert f"OBJ_{bad}" in hazard and f"--source {origin.bucket}" in hazard
        assert await (await leaf.object_store(replica)).read_hazards() == []
        out = run("verify", origin.bucket, env=clean_env(tmp_path, NATS_URL=pair.leaf_url))
        assert out.returncode == 1
        assert f"FAILED  stream OBJ_{bad} answers direct gets for {origin.stream}" in (
            out.stdout.decode()
        )
    finally:
        await leaf.js.stream_delete(f"OBJ_{bad}", bucket=bad)
        await leaf.delete_object_store(replica)
    assert await failed_get_infos(pair.leaf_url, origin.bucket, 40, wait=0) == 0  # replica only


async def failed_get_infos(url: str, bucket: str, calls: int, wait: float = 5.0) -> int:
    """How many of `calls` get_info calls of object 'x', each from a fresh handle (a handle
    that has read a revision reads again until it sees one as new), fail with not found, once
    one has (within `wait` seconds: a mirror joins its origin's direct-get group once it has
    caught up)."""
    stop = time.monotonic() + wait
    async with await natsobj.connect(url) as client:
        while True:
            failed = 0
            for _ in range(calls):
                try:
                    await (await client.object_store(bucket)).get_info("x")
                except natsobj.ObjectNotFoundError:
                    failed += 1
            if failed or time.monotonic() > stop:
                return failed
            await asyncio.sleep(0.1)
