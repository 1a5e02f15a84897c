"""The nats-py boundary: natsobj modifies only connections it opened, on a nats-py it knows."""

from __future__ import annotations

import nats
import pytest

import natsobj
from natsobj._natspy import Connection, privates
from natsobj.server import EmbeddedServer


async def test_a_users_own_connection_is_not_modified(server: EmbeddedServer) -> None:
    nc = await nats.connect(server.url)
    parser, header_parser = nc._ps, getattr(nc, "_parse_header_lines", None)
    try:
        client = await natsobj.connect(nc)
        store = await client.create_object_store("boundary_own")
        info = await store.put("a", b"x" * 300_000)
        assert await store.get("a") == b"x" * 300_000 and info.chunks == 3
        assert nc._ps is parser and getattr(nc, "_parse_header_lines", None) == header_parser
        assert not client.js.conn.fast
        await client.delete_object_store("boundary_own")
        await client.close()
        assert nc.is_connected  # the user's to close
    finally:
        await nc.close()


async def test_a_connection_natsobj_opens_takes_the_fast_paths_on_a_known_nats_py(
    server: EmbeddedServer,
) -> None:
    client = await natsobj.connect(server.url)
    try:
        assert client.js.conn.fast == privates.knows_this_nats_py()
        if client.js.conn.fast:
            assert type(client.nc._ps).__name__ == "FastParser"
        else:
            assert type(client.nc._ps).__name__ == "Parser"
    finally:
        await client.close()


async def test_an_unknown_nats_py_gets_the_public_path(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(privates, "nats_py_version", lambda: (2, 99, 0))
    nc = await nats.connect(server.url)
    parser = nc._ps
    try:
        with caplog.at_level("DEBUG", logger="natsobj"):
            conn = Connection(nc, fast=True)
        assert not conn.fast and nc._ps is parser
        assert "outside the tested range" in caplog.text
        got = []
        sub = await conn.subscribe("b.x", got.append)
        await conn.send("b.x", b"hello", "", {"K": "v"})
        await nc.flush()
        for _ in range(50):
            if got:
                break
            await nc.flush(timeout=1)
        assert [(m.data, m.header("K")) for m in got] == [(b"hello", "v")]
        await sub.unsubscribe()
    finally:
        await nc.close()


def test_versions_in_and_out_of_the_tested_range() -> None:
    low, high = privates.TESTED
    assert privates.knows_this_nats_py((*low, 0)) and privates.knows_this_nats_py((*high, 9))
    assert not privates.knows_this_nats_py((low[0], low[1] - 1, 0))
    assert not privates.knows_this_nats_py((high[0], high[1] + 1, 0))
