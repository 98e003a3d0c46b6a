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
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from creative_rnn.bench.corpus import TARGET_RSS_GB, measure, slice_of, write_corpus


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mb", type=int, default=1024)
    p.add_argument("--file", help="use this text file instead of generating one")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--tmp", help="folder for the corpus, cache and runs (default: system temp)")
    p.add_argument("--keep", action="store_true", help="keep that folder (corpus, cache, runs)")
    p.add_argument("--uncached-mb", type=int, default=64,
                   help="also train without the cache on this many MB of the corpus (0: skip)")
    args = p.parse_args()
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
    subprocess.run([sys.executable, "-c", "import creative_rnn.cli, creative_rnn.training"],
                   check=True, env=env)
    imports = time.perf_counter() - t
    small = measure(slice_of(corpus, work / "small.txt", 200 << 10), work / "run-small",
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
        part = slice_of(corpus, work / "slice.txt", args.uncached_mb << 20)
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
