"""Helpers that test files import (``from support import ...``); pytest fixtures stay in
conftest.py. The web studio's helpers (a live server, its tiny runs) are in support_web.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from creative_rnn.corpora import packaged_file

ROOT = Path(__file__).resolve().parents[1]
# The data the tests read travels with the repository: test-only files in tests/data (their
# sources and licences in tests/data/SOURCES.md), laid out as the course data folder was
DATA = ROOT / "tests" / "data"
SHARED = DATA  # the old name, kept for the test files that import it
# ... and the Star Trek titles ship in the package, where users get them (corpora/named.py);
# the melodies and gestures have no licence to ship, so they are test-only files in tests/data
PACKAGED = {"text/startrekepisodes.txt": "startrek"}


def shared_file(rel: str) -> Path:
    """A file of the project's real data by its path in the course data folder
    (``melody/melodies.jsonl``): the packaged startrek or a file of tests/data. A missing file
    fails the test (at import, for a module that reads it there): it never skips."""
    if rel in PACKAGED:
        return packaged_file(PACKAGED[rel])
    p = DATA / rel
    if not p.is_file():
        pytest.fail(f"test data {p} is missing: tests/data travels with the repository "
                    "(see tests/data/SOURCES.md)", pytrace=False)
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
