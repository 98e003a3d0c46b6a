"""Helpers that test files import (``from support import ...``); pytest fixtures stay in
conftest.py. The web studio's helpers (a live server, its tiny runs) are in support_web.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CREATIVE_RNN_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_file(rel: str) -> Path:
    """A file of the project's real data (../shared/data); the test skips when it is absent."""
    p = SHARED / rel
    if not p.is_file():
        pytest.skip(f"shared data {p} not present")
    return p


KILL_AT_CHECKPOINT = """
import os, signal, sys
import creative_rnn.core.tensors as t
from creative_rnn.cli import main
real, calls, n = t.atomic_write_bytes, [], int(sys.argv[1])
def write(path, data):
    calls.append(str(path))
    if str(path).endswith("model.safetensors") and sum("optimizer" in p for p in calls) == n:
        os.kill(os.getpid(), signal.SIGKILL)
    real(path, data)
t.atomic_write_bytes = write
main(sys.argv[2:])
"""


def cli_killed_at_checkpoint(n: int, *args: str) -> subprocess.CompletedProcess:
    """``creative-rnn ARGS`` in a child that SIGKILLs itself in the middle of its n-th
    checkpoint: after the resume file is committed, before the weights file."""
    return subprocess.run([sys.executable, "-c", KILL_AT_CHECKPOINT, str(n), *args],
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
