"""Time to quality on tiny-shakespeare: `creative-rnn train shakespeare --preset P
--max-minutes M` beside a plain PyTorch script given the same wall-clock budget, same run
(see creative_rnn/bench/quality.py for both recipes).

    python benchmarks/time_to_quality.py --minutes 10 [--preset small] [--skip-baseline]
        [--set key=value ...] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from creative_rnn.bench.common import device_name, machine, shakespeare_path
from creative_rnn.bench.quality import curves_table, ours, plain_script
from creative_rnn.config import parse_set
from creative_rnn.core.device import resolve_device


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--preset", default="small")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--json")
    args = p.parse_args()
    device = resolve_device(args.device)
    path = shakespeare_path()
    print(f"machine: {machine()}; device: {device_name(device)}; budget {args.minutes:g} min each")
    mine = ours(path, args.minutes, args.preset, device, parse_set(args.set))
    base = [] if args.skip_baseline else plain_script(
        path.read_text(encoding="utf-8"), args.minutes, device)
    print(curves_table(mine, base))
    line = f"\nfinal validation loss: creative-rnn --preset {args.preset} {mine[-1][1]:.4f}"
    if base:
        line += f"   plain script {base[-1][1]:.4f}   difference {mine[-1][1] - base[-1][1]:+.4f}"
    print(line + " nats/char")
    if args.json:
        Path(args.json).write_text(json.dumps({"ours": mine, "baseline": base}, indent=2))


if __name__ == "__main__":
    main()
