"""README.md's Python examples run as written: every ```python block, in order, each in its own
interpreter, against the session server (picked by NATS_URL), in a directory holding the files
the examples name."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import natsobj
from natsobj.server import EmbeddedServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

# What the examples read from the current directory. report.pdf is larger than 1 MiB so that the
# range read at 1 MiB returns bytes.
INPUTS = {
    "report.pdf": os.urandom((1 << 20) + 64 * 1024),
    "big.iso": os.urandom(512 * 1024),
    "data.csv": b"city,visits\nOslo,3\nLima,5\n",
}


def python_blocks(text: str) -> list[str]:
    return [m.group(1) for m in BLOCK.finditer(text)]


def example_env(tmp: Path, server: EmbeddedServer) -> dict[str, str]:
    """This environment without NATS_*, with a fresh home, and NATS_URL at the session server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "NATSOBJ_"))}
    env.update(
        HOME=str(tmp / "home"),
        XDG_CONFIG_HOME=str(tmp / "config"),
        NATSOBJ_HOME=str(tmp / "natsobj-home"),
        PYTHONPATH=str(ROOT / "src"),
        NATS_URL=server.url,
    )
    return env


def test_the_readme_has_python_examples() -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 3, "the extraction no longer finds the README's ```python blocks"


async def test_the_readme_python_examples_run_in_order(
    tmp_path: Path, server: EmbeddedServer, client: natsobj.Client
) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    cwd = tmp_path / "work"
    cwd.mkdir()
    for name, data in INPUTS.items():
        (cwd / name).write_bytes(data)
    env = example_env(tmp_path, server)
    before = set(await client.object_store_names())
    try:
        for number, code in enumerate(blocks, 1):
            out = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", code],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=90,
                check=False,
            )
            assert out.returncode == 0, (
                f"README python block {number} of {len(blocks)} exited {out.returncode}:\n"
                f"{code}\n--- stderr ---\n{out.stderr.decode(errors='replace')}"
            )
    finally:
        for bucket in set(await client.object_store_names()) - before:
            with contextlib.suppress(natsobj.ObjectStoreError):
                await client.delete_object_store(bucket)
