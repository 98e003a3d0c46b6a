"""Training tokens/s: the full `creative-rnn train` pipeline beside a bare nn.LSTM + AdamW
loop of the same shape and precision, same run (see creative_rnn/bench/training.py).

    python benchmarks/train_throughput.py [--steps 150] [--hidden 256] [--layers 2]
        [--dropout 0.2] [--precision fp32|bf16] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from creative_rnn.bench.common import device_name, machine, shakespeare_path
from creative_rnn.bench.training import Shape, compare
from creative_rnn.core.device import resolve_device


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--embedding", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--device", default="auto")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()
    device = resolve_device(args.device)
    shape = Shape(args.layers, args.hidden, args.embedding, args.batch, args.seq, args.dropout)
    print(f"machine: {machine()}; device: {device_name(device)}")
    print(f"shape: {shape}, {args.precision}, {args.steps} steps each")
    r = compare(shakespeare_path(), shape, args.steps, device, args.precision)
    print(f"best of 2: bare nn.LSTM+AdamW {r['bare_tok_s']:,.0f} tok/s   creative-rnn train "
          f"{r['pipeline_tok_s']:,.0f} tok/s   ratio {r['ratio']:.3f} (target >= 0.95)")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
