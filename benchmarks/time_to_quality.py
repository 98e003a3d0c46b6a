"""Time to quality on tiny-shakespeare: `creative-rnn train shakespeare --preset P
--max-minutes M` beside a plain PyTorch script given the same wall-clock budget, same run
(see creative_rnn/bench/quality.py for both recipes).

    python benchmarks/time_to_quality.py --minutes 10 [--preset small] [--skip-baseline]
        [--set key=value ...] [--also key=value,key=value ...] [--device cpu|cuda]

``--also`` races one more recipe of the preset (``--set`` keys, then its own), in the same
run, after the first: ``--also cell=mingru,weight_drop=0 --also cell=minlstm,weight_drop=0``
races the three cells and the plain script one after the other, on one machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from creative_rnn.bench.common import device_name, machine, shakespeare_path
from creative_rnn.bench.quality import curves_table, ours, plain_script
from creative_rnn.config_layers import parse_set
from creative_rnn.core.device import resolve_device


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--preset", default="small")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--also", action="append", default=[], metavar="KEY=VALUE,...")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--json")
    args = p.parse_args()
    device = resolve_device(args.device)
    path = shakespeare_path()
    print(f"machine: {machine()}; device: {device_name(device)}; budget {args.minutes:g} min each")
    first = parse_set(args.set)
    recipes = [("preset", first)] + [
        (also, {**first, **parse_set([kv for kv in also.split(",") if kv])})
        for also in args.also]
    results = {}
    for name, overrides in recipes:
        results[name] = ours(path, args.minutes, args.preset, device, overrides)
        print(f"{name}: {results[name][-1][1]:.4f} after {args.minutes:g} min", flush=True)
    base = [] if args.skip_baseline else plain_script(
        path.read_text(encoding="utf-8"), args.minutes, device)
    for name, mine in results.items():
        print(f"\n--preset {args.preset} {' '.join(args.set)} {'' if name == 'preset' else name}")
        print(curves_table(mine, base))
    print()
    for name, mine in results.items():
        line = f"final validation loss: --preset {args.preset} " \
               f"{'' if name == 'preset' else name + ' '}{mine[-1][1]:.4f}"
        if base:
            line += f"   plain script {base[-1][1]:.4f}   difference " \
                    f"{mine[-1][1] - base[-1][1]:+.4f}"
        print(line + " nats/char")
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "baseline": base}, indent=2))

if __name__ == "__main__":
    main()
