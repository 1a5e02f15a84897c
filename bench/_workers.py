"""The measurements of objbench, each run in its own process (`objbench.py --worker ...`).

A worker connects with one client (natsobj, nats-py's object store, or nats-py's raw client for
the ceilings), does one measured thing, and prints one JSON line: seconds, bytes, ops, the
process's resident memory before the measured part and its peak (VmHWM) at the end of it, plus
row-specific extras. natsobj is only imported by natsobj workers, so a nats-py worker's memory
is nats-py's alone. Clean-up (deleting what was written) happens after the measurement.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import os
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

CHUNK = 128 * 1024
NATSOBJ = "natsobj"
NATSPY = "natspy"
RAW = "raw"  # nats-py's plain client, no object store: the ceilings
CLIENTS = (NATSOBJ, NATSPY, RAW)


def _proc_status(field: str) -> int | None:
    """A `VmXXX:` line of /proc/self/status in bytes, or None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def rss_now() -> int:
    value = _proc_status("VmRSS")
    return value if value is not None else rss_peak()


def rss_peak() -> int:
    """Peak resident set size of this process (VmHWM; ru_maxrss where there is no /proc)."""
    value = _proc_status("VmHWM")
    if value is not None:
        return value
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
SERVER_PIDS: list[int] = []  # set from the worker's params
READ_BUFFER: list[int] = []  # raw ceilings: nats-py's socket read size, if not its default


def _cpu_self() -> float:
    """CPU seconds (user + system) of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pids: list[int]) -> float | None:
    """CPU seconds (user + system) of other processes (the servers), from /proc/<pid>/stat."""
    total = 0.0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None
    return total


class Meter:
    """Times a block; records this process's RSS before it, its peak RSS after it, and the CPU
    time this process and the server(s) spent during it."""

    seconds = 0.0
    rss_base = 0
    rss_peak = 0
    cpu_client = 0.0
    cpu_server: float | None = None

    def __enter__(self) -> Meter:
        self.rss_base = rss_now()
        self._cpu0 = _cpu_self()
        self._srv0 = _cpu_of(SERVER_PIDS) if SERVER_PIDS else None
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
        self.cpu_client = _cpu_self() - self._cpu0
        srv1 = _cpu_of(SERVER_PIDS) if SERVER_PIDS else None
        if srv1 is not None and self._srv0 is not None:
            self.cpu_server = srv1 - self._srv0
        self.rss_peak = rss_peak()

    def result(self, nbytes: int, ops: int = 1, **extra: Any) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "bytes": nbytes,
            "ops": ops,
            "rss_base": self.rss_base,
            "rss_peak": self.rss_peak,
            "cpu_client": self.cpu_client,
            "cpu_server": self.cpu_server,
            **extra,
        }


class Ctx:
    """One connection of the chosen client."""

    def __init__(self, client: str, urls: list[str]) -> None:
        if client not in CLIENTS:
            raise SystemExit(f"unknown client {client!r}")
        self.client = client
        self.urls = urls
        self.obj: Any = None  # natsobj.Client
        self.nc: Any = None  # nats.aio.client.Client
        self.js: Any = None

    async def open(self) -> None:
        if self.client == NATSOBJ:
            import natsobj

            self.obj = await natsobj.connect(self.urls)
        else:
            import nats

            if READ_BUFFER:  # the same tuning natsobj applies to nats-py (1 MiB reads)
                import nats.aio.client as nats_client

                nats_client.DEFAULT_BUFFER_SIZE = READ_BUFFER[0]
            self.nc = await nats.connect(
                servers=self.urls, connect_timeout=5, max_reconnect_attempts=2
            )
            self.js = self.nc.jetstream()

    async def close(self) -> None:
        if self.obj is not None:
            await self.obj.close()
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()

    async def store(self, bucket: str) -> Any:
        if self.client == NATSOBJ:
            return await self.obj.object_store(bucket)
        return await self.js.object_store(bucket)

    async def create_bucket(self, bucket: str) -> Any:
        if self.client == NATSOBJ:
            return await self.obj.create_object_store(bucket)
        return await self.js.create_object_store(bucket)

    async def delete_bucket(self, bucket: str) -> None:
        if self.client == NATSOBJ:
            await self.obj.delete_object_store(bucket)
        else:
            await self.js.delete_object_store(bucket)


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise RuntimeError(what)


# ---------------------------------------------------------------------------------------------
# object store rows


async def w_put(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """File -> bucket, streamed from disk."""
    path, name, size = Path(p["file"]), p["name"], p["size"]
    store = await ctx.store(p["bucket"])
    if ctx.client == NATSOBJ:
        with Meter() as m:
            info = await store.put(name, path)
    else:
        with open(path, "rb") as fh, Meter() as m:
            info = await store.put(name, fh)
    _check(info.size == size, f"put stored {info.size} bytes, expected {size}")
    await store.delete(name)
    return m.result(size)


async def w_get(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Bucket -> file, streamed (natsobj get_file; nats-py get(writeinto=file))."""
    name, size, out = p["name"], p["size"], Path(p["out"])
    store = await ctx.store(p["bucket"])
    try:
        if ctx.client == NATSOBJ:
            with Meter() as m:
                await store.get_file(name, out)
        else:
            with open(out, "wb") as fh, Meter() as m:
                await store.get(name, writeinto=fh)
        got = out.stat().st_size
    finally:
        out.unlink(missing_ok=True)
    _check(got == size, f"get wrote {got} bytes, expected {size}")
    return m.result(size)


class _Sink:
    """A writer that only counts (nats-py's writeinto)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)


async def w_get_sink(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Bucket -> a sink that drops the bytes: no disk (natsobj store.open(); nats-py writeinto)."""
    name, size = p["name"], p["size"]
    store = await ctx.store(p["bucket"])
    got = 0
    if ctx.client == NATSOBJ:
        with Meter() as m:
            async with store.open(name) as reader:
                async for chunk in reader:
                    got += len(chunk)
    else:
        sink = _Sink()
        with Meter() as m:
            await store.get(name, writeinto=sink)
        got = sink.count
    _check(got == size, f"streamed {got} bytes, expected {size}")
    return m.result(size)


async def w_get_mem(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Bucket -> bytes in memory."""
    name, size = p["name"], p["size"]
    store = await ctx.store(p["bucket"])
    with Meter() as m:
        if ctx.client == NATSOBJ:
            data = await store.get(name)
        else:
            data = (await store.get(name)).data
    got = len(data)
    del data
    _check(got == size, f"get returned {got} bytes, expected {size}")
    return m.result(size)


async def _put_all(
    ctx: Ctx, store: Any, items: list[tuple[str, bytes]], concurrency: int, api: str | None
) -> None:
    """Put every (name, data), `concurrency` at a time: one after the other, asyncio.gather +
    Semaphore, or (natsobj with api="put_many") its put_many(concurrency=...)."""
    if ctx.client == NATSOBJ and api == "put_many":
        infos = await store.put_many(items, concurrency=concurrency)
        _check(
            len(infos) == len(items), f"put_many stored {len(infos)} objects, expected {len(items)}"
        )
    elif concurrency <= 1:
        for name, data in items:
            await store.put(name, data)
    else:
        sem = asyncio.Semaphore(concurrency)

        async def one(name: str, data: bytes) -> None:
            async with sem:
                await store.put(name, data)

        await asyncio.gather(*(one(name, data) for name, data in items))


async def _put_many(ctx: Ctx, p: dict[str, Any], concurrency: int) -> dict[str, Any]:
    count, size, bucket = p["count"], p["size"], p["bucket"]
    payload = os.urandom(size)
    items = [(f"o{i}", payload) for i in range(count)]
    store = await ctx.create_bucket(bucket)
    try:
        with Meter() as m:
            await _put_all(ctx, store, items, concurrency, p.get("api"))
    finally:
        await ctx.delete_bucket(bucket)
    return m.result(count * size, count)


async def w_small(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """`count` sequential puts of `size` bytes, one object each, into a fresh bucket."""
    return await _put_many(ctx, p, 1)


async def w_concurrent(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """`count` puts of `size` bytes, `concurrency` at a time: gather + semaphore, or natsobj's
    put_many(concurrency=...) with api="put_many"."""
    return await _put_many(ctx, p, p["concurrency"])


async def w_overwrite(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Overwrites of objects this process wrote itself, into a fresh bucket.

    Untimed: put `count` names of `size` bytes, the same way as the timed part. Timed: put each
    of those names once more with new bytes, `concurrency` at a time (1: one after the other;
    natsobj's put_many with api="put_many"). Untimed again: every name must hold its new bytes
    and the bucket no chunk that no object points to (_verify_overwrite); any miss fails the run.
    """
    count, size, bucket = p["count"], p["size"], p["bucket"]
    concurrency, api = p.get("concurrency", 1), p.get("api")
    names = [f"o{i}" for i in range(count)]
    old = [(name, os.urandom(size)) for name in names]
    new = [(name, os.urandom(size)) for name in names]  # per name: a mix-up cannot pass
    store = await ctx.create_bucket(bucket)
    try:
        await _put_all(ctx, store, old, concurrency, api)
        with Meter() as m:
            await _put_all(ctx, store, new, concurrency, api)
        checked = await _verify_overwrite(ctx, store, bucket, dict(new), p.get("verify_reads"))
    finally:
        await ctx.delete_bucket(bucket)
    return m.result(count * size, count, **checked)


def _digest_bytes(digest: str | None) -> bytes | None:
    """`SHA-256=<base64url>` (an object's meta digest) as raw bytes; None if not SHA-256."""
    if not digest or "=" not in digest:
        return None
    algo, value = digest.split("=", 1)
    if algo.upper() != "SHA-256":
        return None
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


async def _verify_overwrite(
    ctx: Ctx, store: Any, bucket: str, expected: dict[str, bytes], reads: int | None
) -> dict[str, Any]:
    """Check a bucket after overwrites: raise RuntimeError at the first thing that is wrong.

    - list(): exactly the expected names, each with the size and SHA-256 of its new bytes;
    - get(): the new bytes themselves, for `reads` names spread over the list (all if None);
    - natsobj: store.orphan_chunk_subjects() == {} (after the timed part: it may wait for purges
      the store still has running);
    - both clients, with a raw nats-py connection: the stream's chunk subjects are exactly the
      listed objects' (one per object, with its chunk count) and the stream holds nothing else
      but one meta per name.
    """
    infos = await store.list()
    by_name = {info.name: info for info in infos if not info.deleted}
    missing = sorted(set(expected) - set(by_name))
    extra = sorted(set(by_name) - set(expected))
    _check(not missing and not extra, f"list: missing {missing[:3]}, unexpected {extra[:3]}")
    for name, data in expected.items():
        info = by_name[name]
        _check(info.size == len(data), f"{name}: info.size {info.size}, expected {len(data)}")
        got = _digest_bytes(info.digest)
        _check(
            got == hashlib.sha256(data).digest(),
            f"{name}: info digest {info.digest} is not the SHA-256 of the new bytes",
        )
    names = list(expected)
    if reads is not None and reads < len(names):
        step = len(names) / max(reads, 1)  # spread over the names, the last one included
        names = sorted({names[int(i * step)] for i in range(reads - 1)} | {names[-1]})
    for name in names:
        data = await store.get(name)
        if ctx.client != NATSOBJ:
            data = data.data
        _check(data == expected[name], f"{name}: get returned other bytes than the new ones")
    if ctx.client == NATSOBJ:
        orphans = await store.orphan_chunk_subjects()
        _check(orphans == {}, f"{len(orphans)} orphan chunk subjects, e.g. {list(orphans)[:2]}")
    chunks = await _chunk_census(ctx, bucket)
    live = {
        f"$O.{bucket}.C.{info.nuid}": max(1, math.ceil(info.size / CHUNK))
        for info in by_name.values()
    }
    _check(
        chunks["subjects"] == live,
        f"chunk subjects: {len(set(chunks['subjects']) - set(live))} not pointed to by any object, "
        f"{len(set(live) - set(chunks['subjects']))} objects without theirs, "
        f"{sum(chunks['subjects'].get(s) != n for s, n in live.items())} with another count",
    )
    want_msgs = sum(live.values()) + len(expected)  # the chunks and one meta per name
    _check(
        chunks["messages"] == want_msgs,
        f"stream holds {chunks['messages']} messages, expected {want_msgs} (chunks + metas)",
    )
    return {"verified_names": len(expected), "verified_reads": len(names)}


async def _chunk_census(ctx: Ctx, bucket: str) -> dict[str, Any]:
    """The bucket stream's chunk subjects with their message counts, and its message total,
    read with nats-py's raw client (the same yardstick for both clients)."""
    import nats

    nc = ctx.nc
    own = nc is None
    if own:
        nc = await nats.connect(servers=ctx.urls, connect_timeout=5, max_reconnect_attempts=2)
    try:
        info = await nc.jetstream().stream_info(f"OBJ_{bucket}", subjects_filter=f"$O.{bucket}.C.>")
    finally:
        if own:
            await nc.close()
    return {"subjects": dict(info.state.subjects or {}), "messages": info.state.messages}


async def w_list(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    store = await ctx.store(p["bucket"])
    with Meter() as m:
        infos = await store.list()
    _check(len(infos) == p["count"], f"list returned {len(infos)} objects, expected {p['count']}")
    return m.result(0, len(infos))


async def w_range(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """natsobj only: `reads` range reads of `length` bytes at `offset`; seconds is the median."""
    name, offset, length, reads = p["name"], p["offset"], p["length"], p["reads"]
    with open(p["file"], "rb") as fh:
        fh.seek(offset)
        expected = fh.read(length)
    store = await ctx.store(p["bucket"])
    times = []
    with Meter() as m:
        for _ in range(reads):
            t0 = time.perf_counter()
            data = await store.get(name, offset=offset, length=length)
            times.append(time.perf_counter() - t0)
            _check(data == expected, "range read returned the wrong bytes")
    res = m.result(length, reads, reads_seconds=times)
    res["seconds"] = statistics.median(times)
    return res


# ---------------------------------------------------------------------------------------------
# ceilings: nats-py's raw client, no object store


async def w_ceil_publish(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Pipelined JetStream publish of the file's 128 KiB chunks, `window` acks outstanding.

    Plain nc.publish with a reply inbox and one subscription counting the acks: no headers,
    no bookkeeping beyond the count. Reads the same file as the put rows. With `verify`, also
    SHA-256 of every chunk, as any put must compute its object's digest.
    """
    nc, js = ctx.nc, ctx.js
    stream, subject, size, window = p["stream"], p["subject"], p["size"], p["window"]
    total = math.ceil(size / CHUNK)
    timeout = p.get("timeout", 120.0)
    await js.purge_stream(stream, subject=subject)
    loop = asyncio.get_running_loop()
    inbox = nc.new_inbox()
    state = {"in_flight": 0, "acked": 0, "errors": 0}
    space = asyncio.Event()
    done = asyncio.Event()
    first_error: list[bytes] = []
    hasher = hashlib.sha256() if p.get("verify") else None

    async def on_ack(msg: Any) -> None:
        state["in_flight"] -= 1
        state["acked"] += 1
        if b'"error"' in msg.data:
            state["errors"] += 1
            if not first_error:
                first_error.append(msg.data)
        space.set()
        if state["acked"] >= total:
            done.set()

    sub = await nc.subscribe(inbox, cb=on_ack, pending_msgs_limit=-1, pending_bytes_limit=-1)
    deadline = loop.time() + timeout
    sent = 0
    with open(p["file"], "rb") as fh, Meter() as m:
        while sent < total:
            while state["in_flight"] >= window:
                space.clear()
                await asyncio.wait_for(space.wait(), max(0.1, deadline - loop.time()))
            data = fh.read(CHUNK)
            if not data:
                break
            if hasher is not None:
                hasher.update(data)
            state["in_flight"] += 1
            await nc.publish(subject, data, reply=inbox)
            sent += 1
        await asyncio.wait_for(done.wait(), max(0.1, deadline - loop.time()))
    await sub.unsubscribe()
    _check(not state["errors"], f"{state['errors']} publishes failed: {first_error[:1]}")
    await js.purge_stream(stream, subject=subject)
    return m.result(size, total, window=window)


async def w_ceil_push(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """A push consumer (ack none, flow control) into a plain callback that counts bytes.

    With `verify`, the callback also computes the SHA-256 of the bytes and checks it against
    `digest`; with `out`, it also writes them to that file: what any verifying get must do.
    """
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    nc, js = ctx.nc, ctx.js
    stream, subject, size, chunks = p["stream"], p["subject"], p["size"], p["chunks"]
    deliver = nc.new_inbox()
    state = {"bytes": 0, "msgs": 0, "fc": 0}
    done = asyncio.Event()
    hasher = hashlib.sha256() if p.get("verify") else None
    out = Path(p["out"]) if p.get("out") else None
    sink = open(out, "wb") if out is not None else None  # noqa: SIM115 - closed below

    async def on_msg(msg: Any) -> None:
        data = msg.data
        if data:
            if hasher is not None:
                hasher.update(data)
            if sink is not None:
                sink.write(data)
            state["bytes"] += len(data)
            state["msgs"] += 1
            if state["msgs"] >= chunks:
                done.set()
        elif msg.reply and msg.headers and msg.headers.get("Status") == "100":
            state["fc"] += 1
            await nc.publish(msg.reply, b"")  # answer the flow-control request

    sub = await nc.subscribe(deliver, cb=on_msg, pending_msgs_limit=-1, pending_bytes_limit=-1)
    config = ConsumerConfig(
        deliver_subject=deliver,
        filter_subject=subject,
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        flow_control=True,
        idle_heartbeat=5.0,
        mem_storage=True,
        inactive_threshold=30.0,
    )
    try:
        with Meter() as m:
            info = await js.add_consumer(stream, config)
            await asyncio.wait_for(done.wait(), p.get("timeout", 120.0))
            if sink is not None:
                sink.close()
    finally:
        if sink is not None:
            sink.close()
            out.unlink(missing_ok=True)  # type: ignore[union-attr]
    await sub.unsubscribe()
    await js.delete_consumer(stream, info.name)
    _check(state["bytes"] == size, f"drained {state['bytes']} bytes, expected {size}")
    if hasher is not None:
        got = hasher.hexdigest()
        _check(got == p["digest"], f"drained bytes hash to {got}, expected {p['digest']}")
    return m.result(size, chunks, flow_control_replies=state["fc"])


async def w_ceil_direct(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Batched direct gets (ADR-31), one batch in flight, into a callback that counts bytes."""
    nc = ctx.nc
    stream, subject, size, chunks = p["stream"], p["subject"], p["size"], p["chunks"]
    batch_bytes = p.get("batch_bytes", 8 << 20)
    timeout = p.get("timeout", 120.0)
    loop = asyncio.get_running_loop()
    inbox = nc.new_inbox()
    state = {"bytes": 0, "msgs": 0, "last_seq": 0, "batches": 0}
    eob = asyncio.Event()

    async def on_msg(msg: Any) -> None:
        data = msg.data
        if data:
            state["bytes"] += len(data)
            state["msgs"] += 1
            state["last_seq"] = int(msg.headers["Nats-Sequence"])
        else:  # 204 end of batch, or 404 nothing more
            eob.set()

    sub = await nc.subscribe(inbox, cb=on_msg, pending_msgs_limit=-1, pending_bytes_limit=-1)
    api = f"$JS.API.DIRECT.GET.{stream}"
    deadline = loop.time() + timeout
    with Meter() as m:
        while state["msgs"] < chunks and loop.time() < deadline:
            eob.clear()
            body = {
                "seq": state["last_seq"] + 1,
                "next_by_subj": subject,
                "batch": max(1, batch_bytes // CHUNK),
                "max_bytes": batch_bytes,
            }
            before = state["msgs"]
            await nc.publish(api, json.dumps(body).encode(), reply=inbox)
            await asyncio.wait_for(eob.wait(), max(0.1, deadline - loop.time()))
            state["batches"] += 1
            if state["msgs"] == before:
                break
    await sub.unsubscribe()
    _check(state["bytes"] == size, f"drained {state['bytes']} bytes, expected {size}")
    return m.result(size, chunks, batches=state["batches"])


WORKERS: dict[str, Callable[[Ctx, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "put": w_put,
    "get": w_get,
    "get-sink": w_get_sink,
    "get-mem": w_get_mem,
    "small": w_small,
    "concurrent": w_concurrent,
    "overwrite": w_overwrite,
    "list": w_list,
    "range": w_range,
    "ceil-publish": w_ceil_publish,
    "ceil-push": w_ceil_push,
    "ceil-direct": w_ceil_direct,
}


async def _run(kind: str, client: str, urls: list[str], params: dict[str, Any]) -> dict[str, Any]:
    ctx = Ctx(client, urls)
    await asyncio.wait_for(ctx.open(), 15)
    try:
        result = await asyncio.wait_for(WORKERS[kind](ctx, params), params.get("timeout", 300))
    finally:
        await ctx.close()
    result.update(worker=kind, client=client, pid=os.getpid())
    if client == NATSOBJ:  # which copy ran: objbench checks it (--baseline runs another one)
        import natsobj

        result["natsobj_file"] = str(Path(natsobj.__file__).resolve())
    return result


def worker_main(kind: str, client: str, url: str, params_json: str) -> int:
    """Run one measurement and print its JSON line; exit status 1 with the error on failure."""
    if kind not in WORKERS:
        raise SystemExit(f"unknown worker {kind!r}; one of {', '.join(WORKERS)}")
    params = json.loads(params_json)
    SERVER_PIDS[:] = [int(pid) for pid in params.get("server_pids", [])]
    READ_BUFFER[:] = [int(params["read_buffer"])] if params.get("read_buffer") else []
    urls = [u for u in url.split(",") if u]
    result = asyncio.run(_run(kind, client, urls, params))
    print(json.dumps(result), flush=True)
    return 0
