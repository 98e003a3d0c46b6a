"""A large text corpus through the token cache: memory and start-up time of `creative-rnn train`.

    python benchmarks/large_corpus.py [--size-mb 1024] [--file BIG.txt] [--steps 5]
        [--uncached-mb 64] [--tmp DIR] [--keep]

Writes (or takes) a text file, then runs `creative-rnn train FILE --preset tiny` twice in a
fresh cache folder, each in its own process: first with a cold cache (the corpus is
encoded), then warm (the ids are memory-mapped). For each run it measures the peak resident
memory of the process (ru_maxrss) and the seconds from launch to the first training step
(the first line of ``metrics.jsonl``, logged every step). The cold run is the baseline the
warm run is compared with. Targets: peak RSS under 2 GB for 1 GB of text; the warm run
starts training within seconds. Then, on a slice of the corpus (``--uncached-mb``), the path
without the cache beside the cached one, for the memory each needs.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    metrics = out / "metrics.jsonl"
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
        raise SystemExit(f"train failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    if first_step is None and metrics.is_file() and metrics.stat().st_size > 0:
        first_step = total  # finished between two polls
    m = re.search(r"tokens encoded in ([\d.]+) s", stderr)
    return {"first_step_s": first_step, "total_s": total, "peak_rss_gb": peak_kb / 2**20,
            "encode_s": float(m.group(1)) if m else None, "cache_hit": "tokens read from" in stderr}


def child(args) -> None:
    """Runs one training in this (fresh) process and prints its figures on one line."""
    r = run_train(Path(args.child_corpus), Path(args.child_out), args.steps, dict(os.environ))
    print(repr(r))


def _slice(corpus: Path, out: Path, size: int) -> Path:
    """The first ``size`` bytes of the corpus, cut after a newline (never inside a character)."""
    with open(corpus, "rb") as src:
        data = src.read(size)
    out.write_bytes(data[: data.rfind(b"\n") + 1])
    return out


def measure(corpus: Path, out: Path, steps: int, env: dict) -> dict:
    """One training, in a fresh benchmark process of its own (see run_train)."""
    got = subprocess.run([sys.executable, __file__, "--steps", str(steps), "--child-corpus",
                          str(corpus), "--child-out", str(out)],
                         env=env, capture_output=True, text=True)
    if got.returncode != 0:
        raise SystemExit(got.stdout + got.stderr)
    return ast.literal_eval(got.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mb", type=int, default=1024)
    p.add_argument("--file", help="use this text file instead of generating one")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--tmp", help="folder for the corpus, cache and runs (default: system temp)")
    p.add_argument("--keep", action="store_true", help="keep that folder (corpus, cache, runs)")
    p.add_argument("--uncached-mb", type=int, default=64,
                   help="also train without the cache on this many MB of the corpus (0: skip)")
    p.add_argument("--child-corpus", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_corpus:
        return child(args)
    work = Path(tempfile.mkdtemp(prefix="large-corpus-", dir=args.tmp))
    if args.file:
        corpus = Path(args.file)
    else:
        corpus = work / "corpus.txt"
        t = time.perf_counter()
        write_corpus(corpus, args.size_mb)
        print(f"wrote {corpus} in {time.perf_counter() - t:.1f} s")
    size_gb = corpus.stat().st_size / 2**30
    env = dict(os.environ, CREATIVE_RNN_CACHE=str(work / "cache"))  # starts cold
    cold = measure(corpus, work / "run-cold", args.steps, env)
    warm = measure(corpus, work / "run-warm", args.steps, env)
    t = time.perf_counter()  # the floor under any start: Python, torch and creative_rnn
    subprocess.run([sys.executable, "-c", "import creative_rnn.cli, creative_rnn.train"],
                   check=True, env=env)
    imports = time.perf_counter() - t
    small = measure(_slice(corpus, work / "small.txt", 200 << 10), work / "run-small",
                    args.steps, env)  # and under a start with a corpus: a tiny one
    print(f"corpus: {corpus} ({size_gb:.2f} GB); tiny preset, {args.steps} steps; "
          f"{os.cpu_count()} cpus")
    print(f"encode (cold run, two passes + write): {cold['encode_s']:.1f} s; warm run read "
          f"the cache: {warm['cache_hit']}")
    for name, r in (("cold", cold), ("warm", warm)):
        ok = "ok" if r["peak_rss_gb"] < TARGET_RSS_GB else "OVER"
        print(f"{name:>4}: launch -> first training step {r['first_step_s']:.1f} s, "
              f"peak RSS {r['peak_rss_gb']:.2f} GB (target < {TARGET_RSS_GB:.0f} GB: {ok}), "
              f"whole run {r['total_s']:.1f} s")
    print(f"second-run start {warm['first_step_s']:.1f} s vs first-run start "
          f"{cold['first_step_s']:.1f} s (baseline): ratio warm/cold "
          f"{warm['first_step_s'] / cold['first_step_s']:.3f}")
    print(f"floors: importing the package takes {imports:.1f} s; a 0.2 MB corpus reaches its "
          f"first step in {small['first_step_s']:.1f} s")
    if args.uncached_mb:
        # the path without the cache (every character a Python object) on a slice of the
        # corpus, beside the cached path on the same slice
        part = _slice(corpus, work / "slice.txt", args.uncached_mb << 20)
        off = measure(part, work / "run-nocache", args.steps,
                      dict(env, CREATIVE_RNN_TOKEN_CACHE="0"))
        on = measure(part, work / "run-slice", args.steps, env)
        print(f"{args.uncached_mb} MB slice, cold: without the cache peak RSS "
              f"{off['peak_rss_gb']:.2f} GB, first step {off['first_step_s']:.1f} s; with it "
              f"{on['peak_rss_gb']:.2f} GB, {on['first_step_s']:.1f} s (RSS ratio "
              f"{on['peak_rss_gb'] / off['peak_rss_gb']:.2f})")
    if args.keep:
        print(f"(corpus, cache and runs kept in {work})")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
