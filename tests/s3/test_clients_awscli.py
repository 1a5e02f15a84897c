"""aws-cli v1 (`awscli` on PyPI, its own vendored botocore and s3transfer) against the gateway,
as a subprocess with only environment credentials and a HOME of its own, over HTTP and over
HTTPS with `--ca-bundle`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import KEYS, Gateway

MIB = 1024 * 1024


class Aws:
    """`aws ...` against one gateway, failing the test with aws-cli's own words."""

    def __init__(self, gateway: Gateway, home: Path) -> None:
        self.gateway = gateway
        home.mkdir(exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": KEYS[0][0],
            "AWS_SECRET_ACCESS_KEY": KEYS[0][1],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
        }

    def __call__(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, stdin=stdin)
        return subprocess.CompletedProcess(done.args, 0, done.stdout.decode(), done.stderr.decode())

    def run(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """The raw run: stdout as bytes (`aws s3 cp s3://... -`)."""
        command = [sys.executable, "-m", "awscli", "--endpoint-url", self.gateway.endpoint]
        if self.gateway.ca is not None:
            command += ["--ca-bundle", str(self.gateway.ca)]
        done = subprocess.run(
            [*command, *args], env=self.env, capture_output=True, input=stdin, timeout=120
        )
        if done.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} -> {done.returncode}\n{done.stderr!r}")
        return done

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "--output", "json").stdout)


@pytest.fixture(params=["http", "https"])
def aws(request, tmp_path) -> Aws:
    gateway = request.getfixturevalue("gateway" if request.param == "http" else "gateway_tls")
    return Aws(gateway, tmp_path / "home")


def write(path: Path, size: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def test_aws_s3_cp_up_and_down_with_a_multipart_file(aws: Aws, bucket, tmp_path) -> None:
    small = write(tmp_path / "up" / "small.bin", 1000)
    big = write(tmp_path / "up" / "big.bin", 9 * MIB)  # over the 8 MiB multipart threshold
    aws("s3", "cp", str(tmp_path / "up" / "small.bin"), f"s3://{bucket}/cp/small.bin")
    aws("s3", "cp", str(tmp_path / "up" / "big.bin"), f"s3://{bucket}/cp/big.bin")
    head = aws.json("s3api", "head-object", "--bucket", bucket, "--key", "cp/big.bin")
    assert head["ContentLength"] == 9 * MIB and head["ETag"].endswith('-2"')
    aws("s3", "cp", f"s3://{bucket}/cp/", str(tmp_path / "down"), "--recursive")
    assert (tmp_path / "down" / "small.bin").read_bytes() == small
    assert (tmp_path / "down" / "big.bin").read_bytes() == big


def test_aws_s3api_put_head_list(gateway_tls: Gateway, bucket, tmp_path) -> None:
    """Over HTTPS, where put-object streams aws-chunked (HTTP's PUT is the cp test's)."""
    aws = Aws(gateway_tls, tmp_path / "home")
    body = write(tmp_path / "body", 5000)
    put = aws.json(
        "s3api", "put-object", "--bucket", bucket, "--key", "é/x y+z", "--body",
        str(tmp_path / "body"), "--content-type", "text/csv", "--metadata", "owner=ana",
    )  # fmt: skip
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    head = aws.json("s3api", "head-object", "--bucket", bucket, "--key", "é/x y+z")
    assert head["ETag"] == put["ETag"] and head["ContentLength"] == 5000
    assert head["ContentType"] == "text/csv" and head["Metadata"] == {"owner": "ana"}
    listed = aws.json("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "é/")
    assert [(o["Key"], o["ETag"], o["Size"]) for o in listed["Contents"]] == [
        ("é/x y+z", put["ETag"], 5000)
    ]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_aws_s3_sync_ls_and_rm_recursive(gateway_tls: Gateway, bucket, tmp_path) -> None:
    aws = Aws(gateway_tls, tmp_path / "home")
    up = tmp_path / "up"
    write(up / "a.txt", 10)
    write(up / "odd &+é.txt", 1)
    write(up / "sub" / "b.bin", 200_000)
    write(up / "sub" / "deep" / "c", 0)
    aws("s3", "sync", str(up), f"s3://{bucket}/tree/")
    top = aws("s3", "ls", f"s3://{bucket}/tree/").stdout
    assert "PRE sub/" in top and "a.txt" in top and "odd &+é.txt" in top and "b.bin" not in top
    everything = aws("s3", "ls", "--recursive", f"s3://{bucket}/").stdout.splitlines()
    assert sorted(line.split(maxsplit=3)[2:] for line in everything) == [
        ["0", "tree/sub/deep/c"], ["1", "tree/odd &+é.txt"], ["10", "tree/a.txt"],
        ["200000", "tree/sub/b.bin"],
    ]  # fmt: skip
    # sizes and LastModified agree: a second sync has nothing to do
    assert aws("s3", "sync", str(up), f"s3://{bucket}/tree/").stdout == ""
    (up / "sub" / "deep" / "c").unlink()
    write(up / "a.txt", 11)
    changed = aws("s3", "sync", "--no-progress", "--delete", str(up), f"s3://{bucket}/tree/")
    lines = sorted(line.split(":")[0] for line in changed.stdout.strip().splitlines())
    assert lines == ["delete", "upload"] and "tree/a.txt" in changed.stdout
    assert f"delete: s3://{bucket}/tree/sub/deep/c" in changed.stdout
    aws("s3", "sync", f"s3://{bucket}/tree/", str(tmp_path / "down"))
    assert tree(tmp_path / "down") == tree(up)
    removed = aws("s3", "rm", "--recursive", f"s3://{bucket}/tree/").stdout
    assert sum(line.startswith("delete: ") for line in removed.splitlines()) == 3
    assert "Contents" not in aws.json("s3api", "list-objects-v2", "--bucket", bucket)


@pytest.mark.slow  # eleven aws-cli processes: beyond the core set above
def test_aws_s3_stdin_stream_s3_to_s3_copy_mv_presign_and_buckets(gateway: Gateway, tmp_path):
    aws = Aws(gateway, tmp_path / "home")
    # presign with SigV4 (aws-cli's s3 default is SigV2, which the gateway refuses)
    (tmp_path / "home" / "config").write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    name = f"cli-{os.urandom(4).hex()}"
    aws("s3", "mb", f"s3://{name}")
    assert name in aws("s3", "ls").stdout
    data = os.urandom(20 * MIB + 3)  # from a pipe: multipart with sizes unknown in advance
    aws("s3", "cp", "-", f"s3://{name}/stdin.bin", stdin=data)
    aws("s3", "cp", f"s3://{name}/stdin.bin", f"s3://{name}/copy.bin")  # UploadPartCopy
    head = aws.json("s3api", "head-object", "--bucket", name, "--key", "copy.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"')
    aws("s3", "mv", f"s3://{name}/copy.bin", f"s3://{name}/moved.bin")
    assert aws.run("s3", "cp", f"s3://{name}/moved.bin", "-").stdout == data
    url = aws("s3", "presign", f"s3://{name}/stdin.bin", "--expires-in", "60").stdout.strip()
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.read() == data
    aws("s3", "rm", "--recursive", f"s3://{name}")
    aws("s3", "rb", f"s3://{name}")
    assert name not in aws("s3", "ls").stdout
