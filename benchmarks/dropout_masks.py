"""Dropout on the CPU: torch's Bernoulli masks beside creative_rnn's fast_dropout, same run.

Measures (1) one mask of the `small` preset's shape (batch 32 x 100 x 384, bf16) and (2) a
whole training step of the preset's 2x384 LSTM (bf16 autocast, dropout 0.25, fused AdamW,
clipping): the stacked nn.LSTM with nn.Dropout, as torch runs it, beside SequenceModel's
layer-by-layer path with fast_dropout. Prints each as ms and the ratio.

    python benchmarks/dropout_masks.py [--hidden 384] [--dropout 0.25] [--steps 30]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from creative_rnn.bench.common import machine
from creative_rnn.config import ModelConfig
from creative_rnn.models import SequenceModel
from creative_rnn.models.dropout import fast_dropout


def per_call_ms(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(3):  # best of three rounds: the least disturbed by other processes
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeats)
    return best * 1e3


def step_ms(model: SequenceModel, steps: int, batch: int, seq: int, torch_path: bool) -> float:
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    V = model.config.vocab_size
    x, y = torch.randint(0, V, (batch, seq)), torch.randint(0, V, (batch, seq))
    state = [None]

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            if torch_path:  # what nn.LSTM does with its dropout argument, plus nn.Dropout
                out, s = model.rnn(model.embedding(x), state[0])
                logits = model.head(F.dropout(out, model.config.dropout, True))
            else:
                logits, s = model(x, state[0])
        loss = F.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state[0] = model.detach_state(s)

    model.train()
    return per_call_ms(step, steps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=384)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.25)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--steps", type=int, default=30)
    args = p.parse_args()
    print(f"machine: {machine()}; device: cpu ({torch.get_num_threads()} threads)")
    x = torch.randn(args.batch, args.seq, args.hidden, dtype=torch.bfloat16)
    torch_mask = per_call_ms(lambda: F.dropout(x, args.dropout, True), 50)
    ours_mask = per_call_ms(lambda: fast_dropout(x, args.dropout), 50)
    print(f"one mask {tuple(x.shape)} bf16: torch dropout {torch_mask:.2f} ms   "
          f"fast_dropout {ours_mask:.2f} ms   speed-up {torch_mask / ours_mask:.2f}x")
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(num_layers=args.layers, hidden_size=args.hidden,
                                      dropout=args.dropout, vocab_size=65))
    base = step_ms(model, args.steps, args.batch, args.seq, torch_path=True)
    ours = step_ms(model, args.steps, args.batch, args.seq, torch_path=False)
    print(f"training step {args.layers}x{args.hidden} LSTM, batch {args.batch} x {args.seq}: "
          f"nn.LSTM(dropout) {base:.1f} ms   layer-by-layer + fast_dropout {ours:.1f} ms   "
          f"speed-up {base / ours:.2f}x")


if __name__ == "__main__":
    main()
