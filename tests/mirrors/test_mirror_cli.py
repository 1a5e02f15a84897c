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
