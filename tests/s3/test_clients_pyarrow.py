"""pyarrow's S3FileSystem (the AWS C++ SDK): a partitioned parquet dataset written and read
back, a range of a file, and get_file_info with a recursive selector, over HTTP and HTTPS."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs

from .conftest import KEYS, Gateway


@pytest.fixture(params=["http", "https"])
def arrow_fs(request) -> pafs.S3FileSystem:
    gateway: Gateway = request.getfixturevalue(
        "gateway" if request.param == "http" else "gateway_tls"
    )
    scheme, _, address = gateway.endpoint.partition("://")
    options: dict = {"tls_ca_file_path": str(gateway.ca)} if gateway.ca is not None else {}
    return pafs.S3FileSystem(
        access_key=KEYS[0][0],
        secret_key=KEYS[0][1],
        region="us-east-1",
        scheme=scheme,
        endpoint_override=address,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1),
        **options,
    )


def table() -> pa.Table:
    n = 3000
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "part": pa.array([f"p{i % 3}" for i in range(n)]),
            "value": pa.array([i * 0.5 for i in range(n)]),
        }
    )


def test_pyarrow_parquet_dataset_round_trip(arrow_fs: pafs.S3FileSystem, bucket) -> None:
    original = table()
    root = f"{bucket}/ds"
    ds.write_dataset(
        original, root, filesystem=arrow_fs, format="parquet", partitioning=["part"],
        partitioning_flavor="hive",
    )  # fmt: skip
    found = arrow_fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = sorted(i.path for i in found if i.type == pafs.FileType.File)
    dirs = sorted(i.path for i in found if i.type == pafs.FileType.Directory)
    assert dirs == [f"{root}/part=p0", f"{root}/part=p1", f"{root}/part=p2"]
    assert [f.rsplit("/", 2)[1] for f in files] == ["part=p0", "part=p1", "part=p2"]
    assert all(i.size > 0 for i in found if i.type == pafs.FileType.File)
    back = ds.dataset(root, filesystem=arrow_fs, format="parquet", partitioning="hive")
    result = back.to_table().sort_by("id")
    assert result.column("id").to_pylist() == original.column("id").to_pylist()
    assert result.column("value").equals(original.column("value"))
    assert result.column("part").cast(pa.string()).equals(original.column("part"))
    one = pq.read_table(files[1], filesystem=arrow_fs)
    assert one.num_rows == 1000 and one.column("id").to_pylist()[:2] == [1, 4]


def test_pyarrow_ranged_read_and_file_info(arrow_fs: pafs.S3FileSystem, bucket) -> None:
    body = os.urandom(400_000)
    with arrow_fs.open_output_stream(f"{bucket}/dir/blob") as out:
        out.write(body)
    info = arrow_fs.get_file_info(f"{bucket}/dir/blob")
    assert info.type == pafs.FileType.File and info.size == len(body)
    assert arrow_fs.get_file_info(f"{bucket}/dir").type == pafs.FileType.Directory
    assert arrow_fs.get_file_info(f"{bucket}/nope").type == pafs.FileType.NotFound
    with arrow_fs.open_input_file(f"{bucket}/dir/blob") as f:
        assert f.size() == len(body)
        assert f.read_at(1000, 131_000) == body[131_000:132_000]
        assert f.read_at(50, len(body) - 50) == body[-50:]
    with arrow_fs.open_input_stream(f"{bucket}/dir/blob") as stream:
        assert stream.read() == body
    big = os.urandom(11 * 1024 * 1024)  # pyarrow uploads parts of at least 5 MiB
    with arrow_fs.open_output_stream(f"{bucket}/dir/big") as out:
        for i in range(0, len(big), 1 << 20):
            out.write(big[i : i + (1 << 20)])
    with arrow_fs.open_input_file(f"{bucket}/dir/big") as f:
        assert f.read_at(3 << 20, 7 << 20) == big[7 << 20 : 10 << 20]
        f.seek(0)
        assert f.read() == big
    arrow_fs.delete_dir_contents(f"{bucket}/dir")
    assert arrow_fs.get_file_info(f"{bucket}/dir/blob").type == pafs.FileType.NotFound
