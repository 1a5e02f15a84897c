"""s3fs (fsspec over aiobotocore), alone and under pandas: csv and parquet written and read
through `storage_options`, and s3fs's ls, info, checksum and ranged reads of open files."""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest
import s3fs

import natsobj.sync

from .conftest import KEYS, Gateway


def storage_options(gateway: Gateway) -> dict:
    access, secret = KEYS[0]
    client_kwargs: dict = {"endpoint_url": gateway.endpoint, "region_name": "us-east-1"}
    if gateway.ca is not None:
        client_kwargs["verify"] = str(gateway.ca)
    return {"key": access, "secret": secret, "client_kwargs": client_kwargs}


@pytest.fixture(params=["http", "https"])
def served(request) -> Gateway:
    return request.getfixturevalue("gateway" if request.param == "http" else "gateway_tls")


@pytest.fixture
def fs(gateway: Gateway) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(skip_instance_cache=True, **storage_options(gateway))


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(1000),
            "name": [f"n{i}é" for i in range(1000)],
            "x": [i / 7 for i in range(1000)],
        }
    )


def test_pandas_csv_round_trip(served: Gateway, bucket) -> None:
    df = frame()
    df.to_csv(f"s3://{bucket}/data/frame.csv", index=False, storage_options=storage_options(served))
    back = pd.read_csv(f"s3://{bucket}/data/frame.csv", storage_options=storage_options(served))
    pd.testing.assert_frame_equal(back, df)


def test_pandas_parquet_round_trip(served: Gateway, bucket) -> None:
    df = frame()
    url = f"s3://{bucket}/data/frame.parquet"
    df.to_parquet(url, storage_options=storage_options(served))
    back = pd.read_parquet(url, storage_options=storage_options(served))
    pd.testing.assert_frame_equal(back, df)


def test_s3fs_ls_info_checksum_and_ranged_reads(fs: s3fs.S3FileSystem, bucket) -> None:
    body = os.urandom(300_000)
    fs.pipe(f"{bucket}/dir/a.bin", body)
    fs.pipe(f"{bucket}/dir/sub/b.txt", b"bee")
    fs.pipe(f"{bucket}/top", b"")
    assert sorted(fs.ls(bucket, detail=False)) == [f"{bucket}/dir", f"{bucket}/top"]
    listed = {e["name"]: e for e in fs.ls(f"{bucket}/dir", detail=True)}
    assert listed[f"{bucket}/dir/sub"]["type"] == "directory"
    assert listed[f"{bucket}/dir/a.bin"]["size"] == len(body)
    assert sorted(fs.find(bucket)) == [
        f"{bucket}/dir/a.bin",
        f"{bucket}/dir/sub/b.txt",
        f"{bucket}/top",
    ]
    info = fs.info(f"{bucket}/dir/a.bin")
    md5 = hashlib.md5(body).hexdigest()
    assert info["size"] == len(body) and info["ETag"] == f'"{md5}"'
    assert fs.info(f"{bucket}/dir")["type"] == "directory"
    assert fs.checksum(f"{bucket}/dir/a.bin") == int(md5, 16)
    with fs.open(f"{bucket}/dir/a.bin", "rb", block_size=64 * 1024) as f:
        f.seek(131_000)
        assert f.read(2_000) == body[131_000:133_000]
        f.seek(-10, 2)
        assert f.read() == body[-10:]
    assert fs.cat_file(f"{bucket}/dir/a.bin", start=5, end=70_000) == body[5:70_000]
    assert fs.cat_file(f"{bucket}/top") == b""
    fs.rm(f"{bucket}/dir", recursive=True)
    assert fs.ls(bucket, detail=False, refresh=True) == [f"{bucket}/top"]


def test_s3fs_multipart_write_and_checksum(fs: s3fs.S3FileSystem, bucket) -> None:
    body = os.urandom(11 * 1024 * 1024)
    with fs.open(f"{bucket}/big", "wb", block_size=5 * 1024 * 1024) as f:
        for i in range(0, len(body), 1024 * 1024):
            f.write(body[i : i + 1024 * 1024])
    etag = fs.info(f"{bucket}/big")["ETag"]
    assert etag.endswith('-3"')
    assert fs.checksum(f"{bucket}/big") == int(etag.strip('"').split("-")[0], 16)
    assert fs.cat_file(f"{bucket}/big") == body


def test_s3fs_checksum_of_objects_written_by_other_nats_clients(server, fs, bucket) -> None:
    """Their ETag is "<sha256 hex>-1": hex, so s3fs's int(etag.split("-")[0], 16) works."""
    body = os.urandom(200_000)
    with natsobj.sync.connect(server.url) as nats_client:
        nats_client.object_store(bucket).put("from-nats", body)
    sha = hashlib.sha256(body).hexdigest()
    assert fs.info(f"{bucket}/from-nats")["ETag"] == f'"{sha}-1"'
    assert fs.checksum(f"{bucket}/from-nats") == int(sha, 16)
    with fs.open(f"{bucket}/from-nats", "rb") as f:
        f.seek(150_000)
        assert f.read(100) == body[150_000:150_100]
