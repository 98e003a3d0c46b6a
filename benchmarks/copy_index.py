"""The copy meter's index: build time, memory per token and query time.

    python benchmarks/copy_index.py [--tokens 100000000] [--queries 50] [--file TEXT]

1. tiny-shakespeare (../shared/data/text, or --file): the index of its training split built
   in-process, best of 3 (target: 2 s on 2 cores).
2. ``--tokens`` of synthetic text (tiny-shakespeare repeated, 1 % of the characters of each
   copy changed at random so copies are near, not exact, as in real corpora): the index
   built in a fresh process with the ids memory-mapped as the token cache holds them; its
   peak resident memory (ru_maxrss) less the same process's memory before the build, per
   token (target: 9 bytes), and the build time (target: minutes).
3. The meter on a 1,000-token sample against each index, median of ``--queries`` (target:
   20 ms): a sample half copied (a stretch of the corpus with changes) and half new.

The baseline each figure is set beside is its target from issue 17; the machine's CPU and
flags are printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared/data/text/tiny-shakespeare.txt"
FLAGS = ("sse4_2", "avx", "avx2", "bmi2", "avx512f", "avx512bw", "avx512_bf16", "amx_tile")


def cpu_flags() -> str:
    """The flags of /proc/cpuinfo that bear on sorting and searching speed."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return " ".join(f for f in FLAGS if f in have)
    except OSError:
        pass
    return "unknown"


def _store(ids: np.ndarray):
    from creative_rnn.data.store import TokenStore
    return TokenStore(ids, np.array([0, len(ids)], np.int64), documents=False)


def _codec(text: str):
    from creative_rnn import codecs
    codec = codecs.get("char")
    codec.fit([text])
    return codec


def _ids(codec, text: str) -> np.ndarray:
    table = np.zeros(0x110000, np.uint8)
    for tok, i in codec.vocab.index.items():
        if len(tok) == 1:
            table[ord(tok)] = i
    return table[np.frombuffer(text.encode("utf-32-le"), np.uint32)]


def _query_ms(index, codec, ids: np.ndarray, queries: int, rng) -> float:
    from creative_rnn.novelty.meter import measure
    times = []
    for _ in range(queries + 1):
        at = int(rng.integers(0, len(ids) - 500))
        copied = ids[at: at + 500].copy()
        flip = rng.random(500) < 0.02
        copied[flip] = rng.choice(ids[:10000], int(flip.sum()))
        new = rng.choice(ids[:10000], 500)
        sample = np.concatenate([copied, new]).astype(np.int64)
        t = time.perf_counter()
        measure(index, codec, sample)
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times[1:]))  # the first call loads the compiled searches


def _index(store, codec, arrays):
    from creative_rnn.novelty.index import CopyIndex
    from creative_rnn.novelty.transform import Transform
    return CopyIndex(arrays["text"], arrays["sa"], arrays["pieces"], arrays["codes"],
                     Transform(codec), store, {})


def shakespeare(path: Path, queries: int) -> dict:
    from creative_rnn.novelty.index import build
    from creative_rnn.novelty.transform import Transform
    text = path.read_text(encoding="utf-8")
    codec = _codec(text)
    store = _store(_ids(codec, text))
    times = []
    for _ in range(3):
        t = time.perf_counter()
        arrays, _ = build(store, Transform(codec), (0.1, 10**9), progress=False)
        times.append(time.perf_counter() - t)
    rng = np.random.default_rng(0)
    ms = _query_ms(_index(store, codec, arrays), codec, store.ids, queries, rng)
    return {"tokens": len(store), "build_s": min(times), "query_ms": ms}


def large_child(path: Path, tokens: int, work: Path, queries: int) -> None:
    """In a fresh process: write the synthetic ids to disk, map them, build, measure."""
    import creative_rnn  # noqa: F401  (the package's own memory, as a real run has it)
    from creative_rnn.novelty.index import build
    from creative_rnn.novelty.transform import Transform
    text = path.read_text(encoding="utf-8")
    codec = _codec(text)
    base = _ids(codec, text)
    rng = np.random.default_rng(1)
    with open(work / "ids.u8", "wb") as f:  # written in pieces: never all in memory
        done = 0
        while done < tokens:
            piece = base[: min(len(base), tokens - done)].copy()
            flip = rng.random(len(piece)) < 0.01
            piece[flip] = rng.choice(base[:100000], int(flip.sum()))
            f.write(piece.tobytes())
            done += len(piece)
    ids = np.memmap(work / "ids.u8", np.uint8, "r")
    store = _store(np.asarray(ids))
    # resident now (the mapped ids not yet read): the peak after the build less this is all
    # the build held at once, ids included
    before = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    t = time.perf_counter()
    arrays, _ = build(store, Transform(codec), (0.1, 10**9), progress=False)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ms = _query_ms(_index(store, codec, arrays), codec, np.asarray(ids), queries, rng)
    print(json.dumps({"tokens": tokens, "indexed": len(arrays["text"]), "build_s": seconds,
                      "rss_before": before, "rss_peak": peak, "query_ms": ms}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", type=int, default=100_000_000)
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--file", type=Path, default=SHAKESPEARE)
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        large_child(args.file, args.tokens, Path(args.child), args.queries)
        return
    from creative_rnn.bench.common import machine
    print(f"machine: {machine()}; flags: {cpu_flags()}; "
          f"{len(os.sched_getaffinity(0))} cores for this process")
    small = shakespeare(args.file, args.queries)
    print(f"tiny-shakespeare: {small['tokens']:,} tokens, index built in "
          f"{small['build_s']:.2f} s (target 2 s); 1,000-token query {small['query_ms']:.2f} ms "
          f"(target 20 ms)")
    with tempfile.TemporaryDirectory(prefix="copy-index-") as work:
        out = subprocess.run([sys.executable, __file__, "--child", work, "--tokens",
                              str(args.tokens), "--queries", str(args.queries), "--file",
                              str(args.file)], capture_output=True, text=True, check=True)
    big = json.loads(out.stdout.strip().splitlines()[-1])
    n = big["indexed"]
    grown = (big["rss_peak"] - big["rss_before"]) / n
    print(f"synthetic: {big['tokens']:,} tokens ({n:,} in the training split), built in "
          f"{big['build_s']:.1f} s (target: minutes); peak memory {big['rss_peak'] / 2**30:.2f}"
          f" GiB, {grown:.2f} bytes/token over the process's {big['rss_before'] / 2**20:.0f} MiB"
          f" before the build ({big['rss_peak'] / n:.2f} with it; target 9); 1,000-token query "
          f"{big['query_ms']:.2f} ms (target 20 ms)")


if __name__ == "__main__":
    main()
