"""Helpers that test files import (``from support import ...``); pytest fixtures stay in
conftest.py. The web studio's helpers (a live server, its tiny runs) are in support_web.py."""

from __future__ import annotations

import importlib.util
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


def script_module(rel: str):
    """A script of the repository that is no package module, imported from its file by its
    path from the root (``script_module("benchmarks/fine_tune.py")``, a docs hook), to call
    its functions; named after the file, and not put in sys.modules."""
    path = ROOT / rel
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


# --- a tiny ABC run ------------------------------------------------------------------------
# Two folk tunes (a jig with pick-ups, a reel): the ABC tests of sampling, co-writing and the
# studio train a barely-trained run on them (tiny_abc_run) and measure its bars (bar_lengths).
ABC_BOOK = """X:1
T:a jig
M:6/8
L:1/8
K:D
|:A|dfa agf|edc BAG|FAd gfe|dfe d2:|
|:e|fga agf|gfe edc|dcB AGF|EFD D2:|

X:2
T:a reel
M:4/4
L:1/8
K:G
|:GABc dBGB|c2ec BcAF|GABc dBGB|cAFA G4:|
|:gfga gedB|cdec BcAF|gfga gedB|cAFA G4:|
"""


def tiny_abc_run(root: Path, out: Path, steps: int) -> Path:
    """A tiny ABC run trained ``steps`` steps on ABC_BOOK (written to ``root``)."""
    import creative_rnn as cr

    (root / "book.abc").write_text(ABC_BOOK, encoding="utf-8")
    cr.train(corpus=[str(root / "book.abc")], out=out, codec="abc", preset="tiny",
             hidden_size=16, embedding_size=8, max_steps=steps, eval_every=steps,
             checkpoint_every=steps, progress_bar=False)
    return out


def bar_lengths(text: str) -> list[tuple[float, float]]:
    """(length, the meter's bar length) in quarters of each bar, as music21 reads the ABC
    (repeat signs made plain bar lines: music21 makes no bars of a repeat left open)."""
    import re

    import music21

    head, body = text.split("K:", 1)
    score = music21.converter.parse(head + "K:" + re.sub(r":*\|+:*|::", "|", body),
                                    format="abc")
    return [(float(m.duration.quarterLength), float(m.barDuration.quarterLength))
            for m in score.recurse().getElementsByClass("Measure")]
