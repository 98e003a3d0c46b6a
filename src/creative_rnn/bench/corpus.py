"""A large text corpus through the token cache: peak memory and start-up time of
`creative-rnn train`, each training in a fresh process of its own.

For each run it measures the peak resident memory of the process (ru_maxrss) and the seconds
from launch to the first training step (the first line of ``metrics.jsonl``, logged every
step). Used by benchmarks/large_corpus.py and `creative-rnn bench`.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from .. import rundir

TARGET_RSS_GB = 2.0
POLL_S = 0.05

WORDS = ("the of and to in that it was his he with for as had you not be her on at by which "
         "have or from this him but all she they were my are me one their so an said them "
         "we who would been will no when there if more out up into do any your what has "
         "man could other than our some very time upon about may its only now like little "
         "café naïve façade déjà vu — “quoted” ’tis Ünïcödé 漢字 🎉").split()


def write_corpus(path: Path, size_mb: int, seed: int = 1) -> None:
    """Sentences of common words (a few non-ASCII ones), an 8 MB block written repeatedly:
    realistic enough for encoding speed and memory, quick to make."""
    rng = random.Random(seed)
    lines, n = [], 0
    while n < 8 << 20:
        words = rng.choices(WORDS, k=rng.randint(4, 16))
        line = " ".join(words).capitalize() + rng.choice(".,;!?") + "\n"
        lines.append(line)
        n += len(line.encode())
    block = "".join(lines).encode()
    target = size_mb << 20
    with open(path, "wb") as f:
        written = 0
        while written < target:
            piece = block[: target - written]
            f.write(piece)
            written += len(piece)


def run_train(corpus: Path, out: Path, steps: int, env: dict) -> dict:
    """One `creative-rnn train` process: seconds to its first step, its peak RSS."""
    cmd = [sys.executable, "-m", "creative_rnn", "train", str(corpus), "--out", str(out),
           "--preset", "tiny", "--max-steps", str(steps), "--set", "log_every=1",
           "--set", "eval_max_tokens=20000"]
    metrics = out / rundir.METRICS
    err_path = out.parent / f"{out.name}.stderr"
    start = time.perf_counter()
    with open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        first_step = None
        while proc.poll() is None:
            if first_step is None and metrics.is_file() and metrics.stat().st_size > 0:
                first_step = time.perf_counter() - start
            time.sleep(POLL_S)
        total = time.perf_counter() - start
    # RUSAGE_CHILDREN is the max over all children reaped so far, so each training runs
    # under its own benchmark process (see main) to get a peak of its own
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stderr = err_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"train failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    if first_step is None and metrics.is_file() and metrics.stat().st_size > 0:
        first_step = total  # finished between two polls
    m = re.search(r"tokens encoded in ([\d.]+) s", stderr)
    return {"first_step_s": first_step, "total_s": total, "peak_rss_gb": peak_kb / 2**20,
            "encode_s": float(m.group(1)) if m else None, "cache_hit": "tokens read from" in stderr}


def child(corpus: str, out: str, steps: int) -> None:
    """Runs one training in this (fresh) process and prints its figures as one JSON line."""
    print(json.dumps(run_train(Path(corpus), Path(out), steps, dict(os.environ))))


def slice_of(corpus: Path, out: Path, size: int) -> Path:
    """The first ``size`` bytes of the corpus, cut after a newline (never inside a character)."""
    with open(corpus, "rb") as src:
        data = src.read(size)
    out.write_bytes(data[: data.rfind(b"\n") + 1])
    return out


def measure(corpus: Path, out: Path, steps: int, env: dict) -> dict:
    """One training, in a fresh benchmark process of its own (see run_train)."""
    got = subprocess.run([sys.executable, "-m", "creative_rnn.bench.corpus", str(corpus),
                          str(out), str(steps)], env=env, capture_output=True, text=True)
    if got.returncode != 0:
        raise RuntimeError(f"the training benchmark failed: {(got.stdout + got.stderr)[-3000:]}")
    return json.loads(got.stdout.strip().splitlines()[-1])


if __name__ == "__main__":  # one measured training: python -m creative_rnn.bench.corpus C O N
    child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
