"""Page faults and step time of CPU training with and without creative_rnn's memory settings
(creative_rnn/memory.py), same run: the `small` preset's training step in fresh processes
(see creative_rnn/bench/allocator.py). The two kinds alternate for `--rounds` rounds so drift
in the machine hits both alike; medians are compared.

    python benchmarks/allocator.py [--rounds 6] [--steps 25]
"""

from __future__ import annotations

import argparse
import statistics

from creative_rnn.bench.allocator import measure
from creative_rnn.bench.common import machine


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--steps", type=int, default=25)
    args = p.parse_args()
    print(f"machine: {machine()}; `small` preset training step, {args.steps} steps a process")
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for i in range(args.rounds):
        for settings in (False, True):
            runs[settings].append(measure(args.steps, settings))
        off, on = runs[False][-1], runs[True][-1]
        print(f"  round {i + 1}: glibc default {off['ms']:6.1f} ms/step {off['faults']:8,.0f} "
              f"faults/step   with settings {on['ms']:6.1f} ms/step {on['faults']:8,.0f} "
              "faults/step")
    print(f"settings applied in the children: {runs[True][-1]['applied']}")
    ms = {k: statistics.median(r["ms"] for r in v) for k, v in runs.items()}
    faults = {k: statistics.median(r["faults"] for r in v) for k, v in runs.items()}
    span = {k: (min(r["ms"] for r in v), max(r["ms"] for r in v)) for k, v in runs.items()}
    print(f"median step: glibc default {ms[False]:.1f} ms (range {span[False][0]:.0f}-"
          f"{span[False][1]:.0f})   with settings {ms[True]:.1f} ms (range {span[True][0]:.0f}-"
          f"{span[True][1]:.0f})   speed-up {ms[False] / ms[True]:.2f}x")
    print(f"median page faults per step: {faults[False]:,.0f} vs {faults[True]:,.0f}")


if __name__ == "__main__":
    main()
