"""The measurements of s3bench that run in a process of their own
(`s3bench.py --worker KIND --params JSON`, one JSON line out): natsobj's direct calls (get,
put, copy, put_many) and the boto3 / aws-cli clients (ranges, listings, upload_file, many small
puts). Only the measured call is timed; setup and clean-up are not."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _s3servers import ACCESS, SECRET, cpu_seconds, s3_client, tool

# ---------------------------------------------------------------------------------------------
# natsobj, directly (no S3)


async def _direct(p: dict[str, Any], body: Callable[[Any], Any]) -> dict[str, Any]:
    import natsobj

    client = await natsobj.connect(p["url"])
    try:
        store = await client.object_store(p["bucket"])
        return dict(await body(store))
    finally:
        await client.close()


async def _get(store: Any, p: dict[str, Any]) -> dict[str, Any]:
    got = 0
    t0 = time.perf_counter()
    async with store.open(p["name"]) as reader:
        async for chunk in reader:
            got += len(chunk)
    seconds = time.perf_counter() - t0
    if got != p["size"]:
        raise RuntimeError(f"direct get read {got} bytes, expected {p['size']}")
    return {"seconds": seconds, "bytes": got}


async def _put(store: Any, p: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    info = await store.put(p["name"], Path(p["file"]))
    seconds = time.perf_counter() - t0
    await store.delete(p["name"])
    return {"seconds": seconds, "bytes": info.size}


async def _copy(store: Any, p: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    info = await store.copy(p["name"], p["new_name"])
    seconds = time.perf_counter() - t0
    await store.delete(p["new_name"])
    return {"seconds": seconds, "bytes": info.size}


async def _fill(p: dict[str, Any]) -> dict[str, Any]:
    """A bucket of `count` small objects, with put_many (skipped if it has them already)."""
    import natsobj

    client = await natsobj.connect(p["url"])
    try:
        try:
            store = await client.object_store(p["bucket"])
            have = (await store.status()).size
        except natsobj.BucketNotFoundError:
            store = await client.create_object_store(p["bucket"])
            have = 0
        if have:
            return {"seconds": 0.0, "count": 0, "existing": True}
        payload = os.urandom(p["size"])
        items = [(key, payload) for key in list_keys(p["count"])]
        t0 = time.perf_counter()
        await store.put_many(items, concurrency=64)
        return {"seconds": time.perf_counter() - t0, "count": len(items)}
    finally:
        await client.close()


def list_keys(count: int) -> list[str]:
    """The keys of the list bucket: 100 directories, `count` keys in all."""
    width = len(str(count))
    return [f"dir{i % 100:02d}/obj-{i:0{width}d}" for i in range(count)]


def fill_dir(root: Path, count: int, size: int) -> int:
    """The list bucket as files under `root` (rclone serve s3 serves a directory as a bucket):
    the same keys as the gateway's, `size` random bytes each."""
    payload = os.urandom(size)
    made = 0
    for key in list_keys(count):
        path = root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
            made += 1
    return made


def w_direct(p: dict[str, Any]) -> dict[str, Any]:
    ops = {"get": _get, "put": _put, "copy": _copy}
    if p["op"] == "fill":
        return asyncio.run(_fill(p))
    return asyncio.run(_direct(p, lambda store: ops[p["op"]](store, p)))


# ---------------------------------------------------------------------------------------------
# boto3 and aws-cli


def w_range(p: dict[str, Any]) -> dict[str, Any]:
    """`reads` GETs of `length` bytes at each offset, on one warm connection: median ms each."""
    s3 = s3_client(p["endpoint"])
    s3.head_object(Bucket=p["bucket"], Key=p["key"])  # connect, untimed
    out: dict[str, Any] = {}
    for label, offset in p["offsets"].items():
        times = []
        want = f"bytes={offset}-{offset + p['length'] - 1}"
        for _ in range(p["reads"]):
            t0 = time.perf_counter()
            body = s3.get_object(Bucket=p["bucket"], Key=p["key"], Range=want)["Body"].read()
            times.append((time.perf_counter() - t0) * 1000)
            if len(body) != p["length"]:
                raise RuntimeError(f"range {want} returned {len(body)} bytes")
        out[label] = statistics.median(times)
    return out


def w_list(p: dict[str, Any]) -> dict[str, Any]:
    """One 1000-key ListObjectsV2 page over a presigned URL on one HTTP connection, to the
    response's last byte (no XML parsing): the first request (cold after a restart), then
    warm ones; then the same page with boto3 (parsing included), for information."""
    s3 = s3_client(p["endpoint"])
    params = {"Bucket": p["bucket"], "MaxKeys": 1000}
    url = urlsplit(s3.generate_presigned_url("list_objects_v2", Params=params, ExpiresIn=3600))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    times = []
    for _ in range(1 + p["warm_reads"]):
        t0 = time.perf_counter()
        conn.request("GET", f"{url.path}?{url.query}")
        response = conn.getresponse()
        body = response.read()
        times.append((time.perf_counter() - t0) * 1000)
        keys = body.count(b"<Key>")
        if response.status != 200 or keys != min(1000, p["count"]):
            raise RuntimeError(f"a page: HTTP {response.status}, {keys} keys")
    conn.close()
    t0 = time.perf_counter()
    s3.list_objects_v2(**params)
    boto = (time.perf_counter() - t0) * 1000
    return {"first_ms": times[0], "warm_ms": statistics.median(times[1:]), "boto3_ms": boto}


def w_ls(p: dict[str, Any]) -> dict[str, Any]:
    """Every key of the bucket: `aws s3 ls --recursive` if aws-cli is here, else boto3's
    paginator."""
    aws = tool("aws")
    t0 = time.perf_counter()
    cpu0 = _cpu(resource.RUSAGE_CHILDREN if aws else resource.RUSAGE_SELF)
    if aws:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET}
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        args = [aws, "--endpoint-url", p["endpoint"], "s3", "ls", "--recursive"]
        out = subprocess.run(
            [*args, f"s3://{p['bucket']}"], env=env, capture_output=True, timeout=300, check=True
        ).stdout
        count = out.count(b"\n")
    else:
        pages = s3_client(p["endpoint"]).get_paginator("list_objects_v2")
        count = sum(page["KeyCount"] for page in pages.paginate(Bucket=p["bucket"]))
    seconds = time.perf_counter() - t0
    cpu = _cpu(resource.RUSAGE_CHILDREN if aws else resource.RUSAGE_SELF) - cpu0
    if count != p["count"]:
        raise RuntimeError(f"listed {count} keys, expected {p['count']}")
    client = "aws s3 ls" if aws else "boto3"
    return {"seconds": seconds, "count": count, "client": client, "client_cpu": cpu}


def _cpu(who: int) -> float:
    """User + system CPU-seconds of this process (RUSAGE_SELF, all its threads) or of its
    children that have ended (RUSAGE_CHILDREN)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def w_pages(p: dict[str, Any]) -> dict[str, Any]:
    """Every 1000-key page of the bucket over presigned URLs on one HTTP connection, raw (the
    continuation token found with a regex, no XML parsing): the server's share of a full
    listing."""
    s3 = s3_client(p["endpoint"])
    conn = http.client.HTTPConnection("127.0.0.1", int(p["endpoint"].rsplit(":", 1)[1]), 120)
    params: dict[str, Any] = {"Bucket": p["bucket"], "MaxKeys": 1000}
    count = pages = 0
    t0 = time.perf_counter()
    while pages < p["count"] // 1000 + 2:
        url = urlsplit(s3.generate_presigned_url("list_objects_v2", Params=params))
        conn.request("GET", f"{url.path}?{url.query}")
        body = conn.getresponse().read()
        count, pages = count + body.count(b"<Key>"), pages + 1
        token = re.search(rb"<NextContinuationToken>([^<]+)</NextContinuationToken>", body)
        if token is None:
            break
        params["ContinuationToken"] = token.group(1).decode()
    seconds = time.perf_counter() - t0
    conn.close()
    if count != p["count"]:
        raise RuntimeError(f"listed {count} keys over raw HTTP, expected {p['count']}")
    return {"seconds": seconds, "count": count, "pages": pages}


def w_upload(p: dict[str, Any]) -> dict[str, Any]:
    """boto3 upload_file (multipart: `part` bytes, `threads` in parallel); the total time and
    the CompleteMultipartUpload call's own."""
    from boto3.s3.transfer import TransferConfig

    s3 = s3_client(p["endpoint"], p["threads"])
    marks: dict[str, float] = {}
    s3.meta.events.register(
        "before-call.s3.CompleteMultipartUpload",
        lambda **_: marks.__setitem__("start", time.perf_counter()),
    )
    s3.meta.events.register(
        "after-call.s3.CompleteMultipartUpload",
        lambda **_: marks.__setitem__("end", time.perf_counter()),
    )
    config = TransferConfig(
        multipart_threshold=p["part"], multipart_chunksize=p["part"], max_concurrency=p["threads"]
    )
    t0 = time.perf_counter()
    s3.upload_file(p["file"], p["bucket"], p["key"], Config=config)
    seconds = time.perf_counter() - t0
    size = s3.head_object(Bucket=p["bucket"], Key=p["key"])["ContentLength"]
    s3.delete_object(Bucket=p["bucket"], Key=p["key"])
    if size != os.path.getsize(p["file"]) or "end" not in marks:
        raise RuntimeError(f"upload_file stored {size} bytes (complete timed: {'end' in marks})")
    return {"seconds": seconds, "bytes": size, "complete": marks["end"] - marks["start"]}


def w_small(p: dict[str, Any]) -> dict[str, Any]:
    """`count` PutObjects of `size` bytes from `threads` threads sharing one boto3 client; with
    the CPU-seconds of this client and of the server's processes (`pids`) while they ran."""
    s3 = s3_client(p["endpoint"], p["threads"])
    payload = os.urandom(p["size"])
    keys = [f"{p['prefix']}/k{i:06d}" for i in range(p["count"])]
    s3.put_object(Bucket=p["bucket"], Key=f"{p['prefix']}/warm", Body=payload)  # connect
    lock, errors = threading.Lock(), []

    def put(key: str) -> None:
        try:
            s3.put_object(Bucket=p["bucket"], Key=key, Body=payload)
        except Exception as exc:
            with lock:
                errors.append(repr(exc))

    pids = p.get("pids", [])
    server0, client0 = sum(cpu_seconds(pid) for pid in pids), _cpu(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(p["threads"]) as pool:
        list(pool.map(put, keys))
    seconds = time.perf_counter() - t0
    client = _cpu(resource.RUSAGE_SELF) - client0
    server = sum(cpu_seconds(pid) for pid in pids) - server0
    for start in range(0, len(keys) + 1, 1000):  # clean up, untimed
        batch = [*keys, f"{p['prefix']}/warm"][start : start + 1000]
        s3.delete_objects(Bucket=p["bucket"], Delete={"Objects": [{"Key": k} for k in batch]})
    if errors:
        raise RuntimeError(f"{len(errors)} puts failed, e.g. {errors[0]}")
    return {
        "seconds": seconds,
        "count": len(keys),
        "rate": len(keys) / seconds,
        "client_cpu": client,
        "server_cpu": server,
    }


WORKERS = {
    "direct": w_direct,
    "range": w_range,
    "list": w_list,
    "ls": w_ls,
    "pages": w_pages,
    "upload": w_upload,
    "small": w_small,
}


def worker_main(kind: str, params_json: str) -> int:
    result = WORKERS[kind](json.loads(params_json))
    print(json.dumps(result), flush=True)
    return 0


def have(name: str) -> bool:
    return shutil.which(name) is not None or tool(name) is not None
