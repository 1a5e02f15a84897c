"""The natsobj command line, driven as a user would: `python -m natsobj ...` in subprocesses,
against a real nats-server (the session `server`) or the embedded default server."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import pytest

import natsobj
from natsobj.cli import cli
from natsobj.server import EmbeddedServer

SRC = Path(__file__).resolve().parents[1] / "src"
UNREACHABLE = "nats://127.0.0.1:1"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment with no NATS_* variable from outside and an empty config and data home."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp / "home"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "NATSOBJ_HOME": str(tmp / "natsobj-home"),
        "PYTHONPATH": str(SRC),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


def run(
    *args: str,
    env: dict[str, str],
    input: bytes | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "natsobj", *args],
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def ok(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    """Run and require exit code 0."""
    out = run(*args, **kwargs)  # type: ignore[arg-type]
    assert out.returncode == 0, (args, out.returncode, out.stderr.decode())
    return out


def out_json(*args: str, **kwargs: object) -> object:
    return json.loads(ok(*args, **kwargs).stdout)


def error_lines(out: subprocess.CompletedProcess[bytes]) -> list[str]:
    return out.stderr.decode().strip().splitlines()


@pytest.fixture
def env(tmp_path: Path, server: EmbeddedServer) -> dict[str, str]:
    """A clean environment pointing at the session server through NATS_URL."""
    return clean_env(tmp_path, NATS_URL=server.url)


@pytest.fixture
def bucket(store: natsobj.ObjectStore) -> str:
    """A fresh, empty bucket (made through the library), deleted after the test."""
    return store.bucket


# --- help and usage ---------------------------------------------------------------------------


def test_help_shows_an_example(tmp_path: Path) -> None:
    out = ok("--help", env=clean_env(tmp_path))
    assert b"Example" in out.stdout and b"natsobj put" in out.stdout


def _commands(group: click.Group, path: str) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} {name}")


def test_every_command_help_shows_an_example() -> None:
    missing = []
    for path, command in _commands(cli, "natsobj"):
        help_text = command.get_help(click.Context(command, info_name=path))
        if "Example" not in help_text or "natsobj " not in help_text.split("Example", 1)[1]:
            missing.append(path)
    assert missing == []


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus-flag", "bucket", "ls"],
        ["put", "b"],
        ["ls", "--deleted"],  # deleted objects of which bucket?
        ["ls", "-n", "-l", "b"],
        ["put", "b", "-"],  # stdin needs --name
        ["bucket", "edit", "b"],  # nothing to change
        ["bucket", "add", "b", "--max-bytes", "lots"],
    ],
)
def test_usage_errors_exit_2(args: list[str], env: dict[str, str]) -> None:
    out = run(*args, env=env)
    assert out.returncode == 2, out.stderr.decode()
    assert b"Traceback" not in out.stderr


# --- buckets ----------------------------------------------------------------------------------


def test_bucket_add_info_ls_and_edit(env: dict[str, str], client: natsobj.Client) -> None:
    name = f"cli{os.getpid()}add"
    try:
        added = out_json(
            "bucket",
            "add",
            name,
            "--description",
            "photos",
            "--ttl",
            "1h",
            "--max-bytes",
            "1MiB",
            "--metadata",
            "team=web",
            "--json",
            env=env,
        )
        assert added["bucket"] == name and added["description"] == "photos"
        assert added["ttl_seconds"] == 3600 and added["max_bytes"] == 1024 * 1024
        assert added["metadata"]["team"] == "web"

        info = out_json("bucket", "info", name, "--json", env=env)
        assert info["objects"] == 0 and info["sealed"] is False and info["replicas"] == 1

        listed = out_json("bucket", "ls", "--json", env=env)
        assert name in [b["bucket"] for b in listed]
        table = ok("bucket", "ls", env=env).stdout.decode()
        assert "Sealed" in table and name in table

        edited = out_json("bucket", "edit", name, "--description", "pics", "--json", env=env)
        assert edited["description"] == "pics" and edited["max_bytes"] == 1024 * 1024
        assert "Bucket: " in ok("bucket", "info", name, env=env).stdout.decode()
    finally:
        run("bucket", "rm", name, "-f", env=env)


def test_ls_without_a_bucket_lists_the_buckets_as_bucket_ls_does(
    env: dict[str, str], bucket: str
) -> None:
    listed = out_json("ls", "--json", env=env)
    assert isinstance(listed, list) and bucket in [b["bucket"] for b in listed]
    assert listed == out_json("bucket", "ls", "--json", env=env)
    assert ok("ls", env=env).stdout == ok("bucket", "ls", env=env).stdout
    names = ok("ls", "-n", env=env).stdout
    assert bucket in names.decode().split()
    assert names == ok("bucket", "ls", "-n", env=env).stdout


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _second(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _bucket_ls(env: dict[str, str], bucket: str) -> tuple[dict[str, object], list[str], str]:
    """bucket ls: the bucket's JSON entry, the table's headers and the bucket's row."""
    listed = out_json("bucket", "ls", "--json", env=env)
    assert isinstance(listed, list)
    entry = next(b for b in listed if b["bucket"] == bucket)
    lines = ok("bucket", "ls", env=env).stdout.decode().splitlines()
    headers = re.split(r"\s{2,}", lines[0].strip())
    row = next(line for line in lines if line.split()[:1] == [bucket])
    return entry, headers, row


def test_bucket_ls_shows_when_each_bucket_was_created_and_last_updated(
    env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    env = {**env, "TZ": "UTC"}
    empty, headers, row = _bucket_ls(env, bucket)
    # natscli's `nats object ls` columns in its order, then ours.
    assert headers == [
        "Bucket",
        "Description",
        "Created",
        "Size",
        "Last Update",
        "Objects",
        "Replicas",
        "Sealed",
    ]
    created = _utc(str(empty["created"]))
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=5)
    assert empty["last_update"] is None  # no message yet: no last update
    assert re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row) == [_second(created)]

    (tmp_path / "f").write_bytes(b"x")
    ok("put", bucket, str(tmp_path / "f"), env=env)
    written, _, row = _bucket_ls(env, bucket)
    assert written["created"] == empty["created"]
    updated = _utc(str(written["last_update"]))
    assert created <= updated < datetime.now(timezone.utc) + timedelta(minutes=1)
    stamps = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row)
    assert stamps == [_second(created), _second(updated)]


def test_sealed_bucket_refuses_writes(env: dict[str, str], bucket: str, tmp_path: Path) -> None:
    ok("bucket", "seal", bucket, "-f", env=env)
    assert out_json("bucket", "info", bucket, "--json", env=env)["sealed"] is True
    (tmp_path / "f").write_bytes(b"x")
    out = run("put", bucket, str(tmp_path / "f"), env=env)
    assert out.returncode == 1
    assert "sealed" in out.stderr.decode() and bucket in out.stderr.decode()


def test_bucket_rm_needs_force_without_a_terminal(env: dict[str, str], bucket: str) -> None:
    refused = run("bucket", "rm", bucket, env=env)
    assert refused.returncode == 2 and b"--force" in refused.stderr
    ok("bucket", "info", bucket, env=env)  # still there

    ok("bucket", "rm", bucket, "-f", env=env)
    assert run("bucket", "info", bucket, env=env).returncode == 1


# --- objects ----------------------------------------------------------------------------------


def test_put_ls_info_get_round_trip(env: dict[str, str], bucket: str, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    src = tmp_path / "photo.jpg"
    src.write_bytes(data)
    put = out_json("put", bucket, str(src), "--description", "cover", "--json", env=env)
    assert [p["name"] for p in put] == ["photo.jpg"]

    assert ok("ls", bucket, env=env).stdout.decode().split() == ["photo.jpg"]
    assert sha256(data) in ok("ls", "-l", bucket, env=env).stdout.decode()
    listed = out_json("ls", bucket, "--json", env=env)
    assert [o["name"] for o in listed] == ["photo.jpg"]

    info = out_json("info", bucket, "photo.jpg", "--json", env=env)
    assert info["digest_hex"] == sha256(data) and info["digest"].startswith("SHA-256=")
    assert info["size"] == len(data) and info["chunks"] == 3 and info["description"] == "cover"
    human = ok("info", bucket, "photo.jpg", env=env).stdout.decode()
    assert info["digest"] in human and sha256(data) in human

    here = tmp_path / "here"
    here.mkdir()
    ok("get", bucket, "photo.jpg", env=env, cwd=here)  # default: ./photo.jpg
    assert (here / "photo.jpg").read_bytes() == data
    dest = tmp_path / "copy.jpg"
    ok("get", bucket, "photo.jpg", "-O", str(dest), env=env)
    assert dest.read_bytes() == data
    again = run("get", bucket, "photo.jpg", "-O", str(dest), env=env)
    assert again.returncode == 1 and b"--force" in again.stderr
    ok("get", bucket, "photo.jpg", "-O", str(dest), "-f", env=env)


def test_stdin_put_and_stdout_get_stream_a_multi_mib_object(
    env: dict[str, str], bucket: str
) -> None:
    data = os.urandom(6 * 1024 * 1024 + 123)
    ok("put", bucket, "-", "--name", "blob.bin", env=env, input=data)
    info = out_json("info", bucket, "blob.bin", "--json", env=env)
    assert info["size"] == len(data) and info["digest_hex"] == sha256(data)

    streamed = ok("get", bucket, "blob.bin", "-O", "-", env=env).stdout
    assert len(streamed) == len(data) and sha256(streamed) == sha256(data)
    assert sha256(ok("cat", bucket, "blob.bin", env=env).stdout) == sha256(data)


def test_recursive_put_and_get_of_a_tree(env: dict[str, str], bucket: str, tmp_path: Path) -> None:
    tree = tmp_path / "site"
    files = {"index.html": b"<h1>", "css/a.css": b"a{}", "img/2024/x.png": os.urandom(1000)}
    for rel, content in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(content)

    ok("put", bucket, "-r", str(tree), "--name", "www", env=env)
    names = [o["name"] for o in out_json("ls", bucket, "www/", "--json", env=env)]
    assert names == sorted(f"www/{rel}" for rel in files)

    out = tmp_path / "out"
    ok("get", "-r", bucket, "www/", "-O", str(out), env=env)
    assert {
        p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
    } == files

    keep = tmp_path / "keep"  # a prefix without '/' keeps its directory
    ok("get", "-r", bucket, "www", "-O", str(keep), env=env)
    assert (keep / "www" / "img" / "2024" / "x.png").read_bytes() == files["img/2024/x.png"]

    assert run("put", bucket, str(tree), env=env).returncode == 2  # a directory needs -r


def test_rm_mv_link_and_meta(env: dict[str, str], bucket: str, tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_bytes(name.encode())
    ok("put", bucket, *(str(tmp_path / n) for n in ("a.txt", "b.txt", "c.txt")), env=env)

    partly = run("rm", bucket, "a.txt", "missing.txt", env=env)
    assert partly.returncode == 1 and b"missing.txt" in partly.stderr
    assert ok("ls", bucket, env=env).stdout.decode().split() == ["b.txt", "c.txt"]
    deleted = out_json("ls", bucket, "--deleted", "--json", env=env)
    assert {o["name"]: o["deleted"] for o in deleted}["a.txt"] is True

    ok("mv", bucket, "b.txt", "renamed.txt", env=env)
    assert ok("cat", bucket, "renamed.txt", env=env).stdout == b"b.txt"
    assert run("info", bucket, "b.txt", env=env).returncode == 1

    ok("link", bucket, "latest", "c.txt", env=env)
    assert ok("cat", bucket, "latest", env=env).stdout == b"c.txt"
    ok("link", bucket, "whole", "--bucket", bucket, env=env)
    whole = out_json("info", bucket, "whole", "--json", env=env)
    assert whole["link"] == {"bucket": bucket, "name": None}

    changed = out_json(
        "meta",
        bucket,
        "c.txt",
        "--description",
        "third",
        "--header",
        "Content-Type:text/plain",
        "--metadata",
        "k=v",
        "--json",
        env=env,
    )
    assert changed["description"] == "third" and changed["metadata"] == {"k": "v"}
    assert changed["headers"] == {"Content-Type": ["text/plain"]}
    assert ok("cat", bucket, "c.txt", env=env).stdout == b"c.txt"


def _read_lines(stream: object, lines: queue.Queue[bytes]) -> None:
    for line in iter(stream.readline, b""):  # type: ignore[attr-defined]
        lines.put(line)


def test_watch_prints_the_objects_then_changes_as_json_lines(
    env: dict[str, str], bucket: str
) -> None:
    ok("put", bucket, "-", "--name", "before", env=env, input=b"1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "natsobj", "watch", bucket, "--json"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        assert json.loads(lines.get(timeout=20))["name"] == "before"
        ok("put", bucket, "-", "--name", "after", env=env, input=b"22")
        change = json.loads(lines.get(timeout=20))
        assert change["name"] == "after" and change["size"] == 2
        ok("rm", bucket, "after", env=env)
        assert json.loads(lines.get(timeout=20))["deleted"] is True
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
    assert code == 0, proc.stderr.read().decode() if proc.stderr else ""


async def test_verify_reports_failures_and_purges_orphans(
    env: dict[str, str], bucket: str, client: natsobj.Client, tmp_path: Path
) -> None:
    tmp = tmp_path
    (tmp / "good").write_bytes(b"good data")
    (tmp / "bad").write_bytes(os.urandom(200_000))
    ok("put", bucket, str(tmp / "good"), str(tmp / "bad"), env=env)
    clean = ok("verify", bucket, env=env).stdout.decode()
    assert "OK      good" in clean and "orphan chunks: none" in clean and "2 ok, 0 failed" in clean

    js = client.nc.jetstream()
    bad = out_json("info", bucket, "bad", "--json", env=env)
    await js.purge_stream(f"OBJ_{bucket}", subject=f"$O.{bucket}.C.{bad['nuid']}")
    orphan = f"$O.{bucket}.C.orphanNUID0000000000000"
    await js.publish(orphan, b"left over")

    out = run("verify", bucket, "--json", env=env)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    status = {o["name"]: o["status"] for o in report["objects"]}
    assert status == {"good": "ok", "bad": "failed"} and report["failed"] == 1
    assert report["orphans"] == {orphan: 1}
    assert "missing chunks" in {o["name"]: o["error"] for o in report["objects"]}["bad"]

    purged = out_json(
        "verify", bucket, "good", "--purge-orphans", "--older-than", "0", "--json", env=env
    )
    assert purged["ok"] is True and purged["purged"] == 1
    assert out_json("verify", bucket, "good", "--json", env=env)["orphans"] == {}


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["ls", "nosuchbucket"], "nosuchbucket"),
        (["info", "{bucket}", "nosuchobject"], "nosuchobject"),
        (["get", "{bucket}", "nosuchobject", "-O", "-"], "nosuchobject"),
        (["bucket", "add", "bad.name"], "bad.name"),
    ],
)
def test_failures_exit_1_with_one_line_naming_the_thing(
    args: list[str], named: str, env: dict[str, str], bucket: str
) -> None:
    out = run(*(a.format(bucket=bucket) for a in args), env=env)
    assert out.returncode == 1
    lines = error_lines(out)
    assert len(lines) == 1 and lines[0].startswith("natsobj: error: ") and named in lines[0]


def test_debug_shows_the_traceback(env: dict[str, str]) -> None:
    out = run("--debug", "ls", "nosuchbucket", env=env)
    assert (
        out.returncode == 1 and b"Traceback" in out.stderr and b"BucketNotFoundError" in out.stderr
    )


def test_unreachable_server_fails_fast_with_a_clear_line(tmp_path: Path) -> None:
    started = time.monotonic()
    out = run("-s", UNREACHABLE, "bucket", "ls", env=clean_env(tmp_path))
    assert out.returncode == 1 and time.monotonic() - started < 10
    lines = error_lines(out)
    assert len(lines) == 1 and "cannot connect" in lines[0] and "127.0.0.1:1" in lines[0]


# --- where to connect: flag > env > context ----------------------------------------------------


def _contexts(config: Path, good: str, selected: str) -> None:
    ctx_dir = config / "nats" / "context"
    ctx_dir.mkdir(parents=True)
    (ctx_dir / "good.json").write_text(json.dumps({"url": good}))
    (ctx_dir / "bad.json").write_text(json.dumps({"url": UNREACHABLE}))
    (config / "nats" / "context.txt").write_text(selected)


@pytest.mark.parametrize(
    ("selected", "env_url", "args", "works"),
    [
        ("good", None, [], True),  # the selected context
        ("bad", "good", [], True),  # NATS_URL beats the context
        ("bad", "bad", ["-s", "good"], True),  # the flag beats NATS_URL
        ("good", "good", ["-s", "bad"], False),  # ... even when the flag is wrong
        ("good", "bad", [], False),  # ... and NATS_URL is used over a good context
        ("bad", None, ["--context", "good"], True),  # --context beats context.txt
    ],
)
def test_connection_precedence(
    selected: str,
    env_url: str | None,
    args: list[str],
    works: bool,
    tmp_path: Path,
    server: EmbeddedServer,
) -> None:
    urls = {"good": server.url, "bad": UNREACHABLE}
    _contexts(tmp_path / "config", server.url, selected)
    env = clean_env(tmp_path, **({"NATS_URL": urls[env_url]} if env_url else {}))
    if args[:1] == ["-s"]:
        args = ["-s", urls[args[1]]]
    out = run(*args, "--timeout", "2", "bucket", "ls", "--json", env=env)
    if works:
        assert out.returncode == 0, out.stderr.decode()
        assert isinstance(json.loads(out.stdout), list)
    else:
        assert out.returncode == 1 and "127.0.0.1:1" in out.stderr.decode()


def test_nats_context_variable_selects_the_context(tmp_path: Path, server: EmbeddedServer) -> None:
    _contexts(tmp_path / "config", server.url, "bad")
    env = clean_env(tmp_path, NATS_CONTEXT="good")
    ok("bucket", "ls", env=env)


def test_no_context_ignores_the_selected_context(tmp_path: Path, server: EmbeddedServer) -> None:
    _contexts(tmp_path / "config", server.url, "bad")
    env = clean_env(tmp_path)
    assert run("--timeout", "1", "bucket", "ls", env=env).returncode == 1
    try:
        out = ok("--no-context", "bucket", "ls", env=env)  # nothing left: the embedded default
        assert b"started a local nats-server" in out.stderr
    finally:
        run("server", "stop", env=env)


# --- the embedded default server --------------------------------------------------------------


def test_two_first_commands_at_once_start_one_server(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    cmd = [sys.executable, "-m", "natsobj", "bucket", "ls", "--json"]
    try:
        procs = [
            subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        results = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], results
        assert sum(err.count(b"started a local nats-server") for _, err in results) == 1
    finally:
        run("server", "stop", env=env)


def test_embedded_default_starts_once_is_reused_and_keeps_data(tmp_path: Path) -> None:
    env = clean_env(tmp_path)  # no NATS_URL, no context: the default server
    notice = b"started a local nats-server"
    try:
        first = ok("bucket", "add", "keep", env=env)
        assert first.stderr.count(notice) == 1
        assert str(tmp_path / "natsobj-home").encode() in first.stderr

        second = ok("put", "keep", "-", "--name", "kept.txt", env=env, input=b"still here")
        assert notice not in second.stderr
        status = out_json("server", "status", "--json", env=env)
        assert status["running"] is True and f"pid {status['pid']})".encode() in first.stderr
        again = out_json("server", "start", "--json", env=env)
        assert again["started"] is False and again["pid"] == status["pid"]

        ok("server", "stop", env=env)
        assert out_json("server", "status", "--json", env=env)["running"] is False

        restarted = ok("cat", "keep", "kept.txt", env=env)
        assert restarted.stdout == b"still here" and restarted.stderr.count(notice) == 1
        assert out_json("server", "status", "--json", env=env)["pid"] != status["pid"]
    finally:
        run("server", "stop", env=env)


def test_server_run_serves_in_the_foreground_until_terminated(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "natsobj", "server", "run"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stderr, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while b"ready on nats://127.0.0.1:" not in lines.get(timeout=30):
            assert time.monotonic() < deadline
        status = out_json("server", "status", "--json", env=env)
        assert status["running"] is True
        busy = run("server", "run", env=env)  # one server per data dir
        assert busy.returncode == 1 and b"already runs" in busy.stderr
    finally:
        proc.terminate()
        code = proc.wait(timeout=20)
    assert code == 0
    assert out_json("server", "status", "--json", env=env)["running"] is False


def test_put_resume_uploads_and_refuses_stdin(
    env: dict[str, str], bucket: str, tmp_path: Path
) -> None:
    data = os.urandom(700_000)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    state = tmp_path / "state"
    env = {**env, "NATSOBJ_STATE_DIR": str(state)}
    ok("put", bucket, str(src), "--resume", "--chunk-size", "64KiB", env=env)
    assert ok("get", bucket, "big.bin", "-O", "-", env=env).stdout == data
    assert not list((state / "uploads").glob("*.json"))  # the finished upload left no record
    out = run("put", bucket, "-", "--name", "x", "--resume", env=env, input=b"abc")
    assert out.returncode == 2 and b"stdin cannot be resumed" in out.stderr


def test_put_if_absent_and_if_revision(env: dict[str, str], bucket: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"one")
    first = out_json("put", bucket, str(tmp_path / "f"), "--if-absent", "--json", env=env)
    revision = first[0]["revision"]
    (tmp_path / "f").write_bytes(b"two")
    refused = run("put", bucket, str(tmp_path / "f"), "--if-absent", env=env)
    assert refused.returncode == 1
    assert "refused" in refused.stderr.decode() and "no live object" in refused.stderr.decode()
    ok("put", bucket, str(tmp_path / "f"), "--if-revision", str(revision), env=env)
    stale = run("put", bucket, str(tmp_path / "f"), "--if-revision", str(revision), env=env)
    assert stale.returncode == 1 and f"revision {revision}" in stale.stderr.decode()
    assert ok("cat", bucket, "f", env=env).stdout == b"two"
    both = run("put", bucket, str(tmp_path / "f"), "--if-absent", "--if-revision", "3", env=env)
    assert both.returncode == 2
