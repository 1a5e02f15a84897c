"""natsobj's malloc thresholds: applied once on glibc, never against the user's own settings."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from natsobj import _malloc

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A get's allocation pattern: 1 MiB socket reads cut into 128 KiB chunks, the chunks of the last 16
# reads held (a window), the rest freed. Prints the minor page faults it cost.
FAULTS = """
import os, resource
from natsobj._malloc import tune_malloc
applied = tune_malloc()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
source = os.urandom(1 << 20)
window = []
for _ in range(1000):
    read = bytes(bytearray(source))
    window.append([read[i : i + 131072] for i in range(0, len(read), 131072)])
    if len(window) > 16:
        window.pop(0)
    del read
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(applied, after - before)
"""


def _faults(**env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    out = subprocess.run(
        [sys.executable, "-c", FAULTS],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not GLIBC, reason="the thresholds exist only in glibc's malloc")
def test_buffers_stay_in_the_heap_once_tuned() -> None:
    applied, tuned = _faults()
    off, untuned = _faults(NATSOBJ_MALLOC_TUNING="0")
    assert applied == "True" and off == "False"
    # Untuned, glibc keeps mapping and trimming these buffers: pages are faulted in anew.
    assert tuned * 3 < untuned, (tuned, untuned)


def test_left_alone_when_the_process_tunes_malloc_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in (
        {"NATSOBJ_MALLOC_TUNING": "0"},
        {"MALLOC_ARENA_MAX": "2"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"},
    ):
        monkeypatch.setattr(_malloc, "_state", {})
        assert _malloc.tune_malloc(env) is False, env


def test_applied_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_malloc, "_state", {})
    first = _malloc.tune_malloc({})
    assert first is GLIBC
    # Later calls report the first outcome and do not look at the environment again.
    assert _malloc.tune_malloc({"NATSOBJ_MALLOC_TUNING": "0"}) is first
