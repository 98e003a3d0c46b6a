"""Training step time of the minimal cells beside the LSTM, same run, same machine.

One training step (forward, loss, backward, clipping, fused AdamW) of a SequenceModel with
lstm (torch's nn.LSTM), mingru and minlstm (models/minimal.py: one matrix product for the
whole window, then the recurrence: on the CPU step by step, elsewhere the log-space parallel
scan) at the same size and batch, in the precision training would use (``--precision auto``:
bf16 autocast on a CPU with native bf16, else fp32). The cells are measured in turns, round
after round, so a disturbance from other processes falls on all of them; each figure is the
best step (training/fit.py's ``step_seconds``, the timing the preset fitting uses). Prints
ms per step and the speed relative to the LSTM.

    python benchmarks/cells.py [--hidden 256] [--layers 2] [--batch 32] [--seq 100]
                               [--precision auto|fp32|bf16] [--scan auto|loop|log]
"""

from __future__ import annotations

import argparse

import torch

from creative_rnn.bench.common import machine
from creative_rnn.config_layers import resolve
from creative_rnn.core.device import autocast_for
from creative_rnn.models import minimal
from creative_rnn.training.fit import step_seconds

CELLS = ("lstm", "mingru", "minlstm")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--steps", type=int, default=5, help="steps per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    p.add_argument("--scan", default="auto", choices=("auto", "loop", "log"),
                   help="the minimal cells' window: models.minimal.SCAN")
    args = p.parse_args()
    minimal.SCAN = args.scan
    cpu = torch.device("cpu")
    bf16 = isinstance(autocast_for(cpu, args.precision), torch.autocast)
    print(f"machine: {machine()}; device: cpu ({torch.get_num_threads()} threads); "
          f"precision {args.precision} ({'bf16 autocast' if bf16 else 'fp32'}); "
          f"scan {args.scan}")
    configs = {cell: resolve(None, None, dict(
        cell=cell, num_layers=args.layers, hidden_size=args.hidden, embedding_size=64,
        dropout=args.dropout, batch_size=args.batch, seq_len=args.seq,
        precision=args.precision)) for cell in CELLS}
    best = dict.fromkeys(CELLS, float("inf"))
    for _ in range(args.rounds):  # in turns, so a disturbance falls on every cell
        for cell, (model_cfg, train_cfg) in configs.items():
            best[cell] = min(best[cell], step_seconds(model_cfg, train_cfg, cpu,
                                                      steps=args.steps, warmup=1))
    print(f"training step, {args.layers}x{args.hidden}, batch {args.batch} x {args.seq}, "
          f"dropout {args.dropout} (best step of {args.rounds} rounds of {args.steps}):")
    for cell in CELLS:
        print(f"  {cell:8s} {best[cell] * 1e3:8.1f} ms   {best['lstm'] / best[cell]:.2f}x "
              "the lstm's steps per second")


if __name__ == "__main__":
    main()
