"""DuckDB with its httpfs extension (the `duckdb-ext-httpfs` wheel, loaded from disk with no
network): COPY ... TO s3:// (httpfs writes by multipart upload), read_parquet and read_csv
with ranged GETs, globbing through ListObjectsV2, over HTTP and HTTPS."""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_ext
import pytest

from .conftest import KEYS, Gateway


def httpfs_extension() -> Path:
    version = duckdb.__version__
    found = sorted(
        Path(folder).glob(f"extensions/v{version}/*/httpfs.duckdb_extension")
        for folder in duckdb_ext.__path__
    )
    paths = [p for group in found for p in group]
    assert paths, f"no httpfs extension for DuckDB {version} (duckdb-ext-httpfs)"
    return paths[0]


@pytest.fixture(params=["http", "https"])
def db(request) -> duckdb.DuckDBPyConnection:
    gateway: Gateway = request.getfixturevalue(
        "gateway" if request.param == "http" else "gateway_tls"
    )
    con = duckdb.connect(
        config={
            "allow_unsigned_extensions": "true",
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
        }
    )
    con.execute(f"LOAD '{httpfs_extension()}'")
    scheme, _, address = gateway.endpoint.partition("://")
    con.execute(
        "CREATE SECRET gw (TYPE s3, KEY_ID ?, SECRET ?, REGION 'us-east-1', ENDPOINT ?, "
        "URL_STYLE 'path', USE_SSL ?)",
        [KEYS[0][0], KEYS[0][1], address, scheme == "https"],
    )
    if gateway.ca is not None:  # httpfs verifies nothing unless told to
        con.execute("SET enable_server_cert_verification = true")
        con.execute("SET ca_cert_file = ?", [str(gateway.ca)])
    try:
        yield con
    finally:
        con.close()


def test_duckdb_copy_to_and_read_parquet_and_csv(db, bucket) -> None:
    for part in range(3):
        db.execute(
            f"COPY (SELECT {part} AS part, i AS id, 'row ' || i AS name FROM range(20000) t(i)) "
            f"TO 's3://{bucket}/data/part{part}.parquet' (FORMAT parquet)"
        )
    db.execute(f"COPY (SELECT i, i * 2 AS twice FROM range(500) t(i)) TO 's3://{bucket}/x.csv'")
    total = db.execute(
        f"SELECT count(*), sum(id), count(DISTINCT part) FROM "
        f"read_parquet('s3://{bucket}/data/*.parquet')"
    ).fetchone()
    assert total == (60000, 3 * sum(range(20000)), 3)
    files = db.execute(f"SELECT file FROM glob('s3://{bucket}/data/*') ORDER BY file").fetchall()
    assert [f for (f,) in files] == [f"s3://{bucket}/data/part{i}.parquet" for i in range(3)]
    row = db.execute(
        f"SELECT name FROM read_parquet('s3://{bucket}/data/part1.parquet') WHERE id = 12345"
    ).fetchone()
    assert row == ("row 12345",)
    csv = db.execute(f"SELECT sum(twice), count(*) FROM read_csv('s3://{bucket}/x.csv')").fetchone()
    assert csv == (2 * sum(range(500)), 500)
