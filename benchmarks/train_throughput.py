"""Training tokens/s: the full `creative-rnn train` pipeline beside a bare loop, same run.

The bare loop is what a plain PyTorch script does: nn.Embedding -> nn.LSTM -> nn.Linear,
cross-entropy, backward, AdamW, on random windows of the same ids. The pipeline adds
everything the tool does: lanes with the state carried, clipping, the LR schedule, metrics
logging and checkpoints. Both are measured alternately, twice, and the ratio printed.

    python benchmarks/train_throughput.py [--steps 150] [--hidden 256] [--layers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

import creative_rnn as cr
from creative_rnn import corpora

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"


def corpus_path() -> Path:
    local = SHARED / "tiny-shakespeare.txt"
    return local if local.is_file() else corpora.shakespeare_file()


def bare_loop(ids: torch.Tensor, vocab: int, args) -> float:
    """Tokens/s of a plain nn.LSTM + AdamW loop (no clipping, no logging, no checkpoints)."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(vocab, args.embedding)
    rnn = torch.nn.LSTM(args.embedding, args.hidden, args.layers, batch_first=True,
                        dropout=args.dropout)
    head = torch.nn.Linear(args.hidden, vocab)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3)
    B, T = args.batch, args.seq
    gen = torch.Generator().manual_seed(0)

    def step():
        starts = torch.randint(0, len(ids) - T - 1, (B,), generator=gen)
        x = torch.stack([ids[s: s + T] for s in starts])
        y = torch.stack([ids[s + 1: s + T + 1] for s in starts])
        out, _ = rnn(emb(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    return args.steps * B * T / (time.perf_counter() - t0)


def pipeline(path: Path, args, workdir: Path, name: str) -> float:
    """Tokens/s of creative-rnn's own trainer, read from its metrics.jsonl (first logged
    step to last, so start-up is excluded but logging, clipping and checkpoints count)."""
    out = workdir / name
    cr.train(corpus=[str(path)], out=out, preset="small", cell="lstm", num_layers=args.layers,
             hidden_size=args.hidden, embedding_size=args.embedding, dropout=args.dropout,
             batch_size=args.batch, seq_len=args.seq, max_steps=args.steps + 10, log_every=10,
             eval_every=10**6, checkpoint_every=args.steps,  # one save, as a real run has
             eval_max_tokens=1, progress_bar=False, precision=args.precision)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "train_loss" in r]
    first, last = rows[0], rows[-1]
    return (last["tokens"] - first["tokens"]) / (last["elapsed_s"] - first["elapsed_s"])


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
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args()
    path = corpus_path()
    text = path.read_text(encoding="utf-8")
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text[:200_000]])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"shape: {args.layers}x{args.hidden} LSTM, batch {args.batch} x {args.seq}, "
          f"vocabulary {len(chars)}, {args.steps} steps each, pipeline {args.precision}")
    bare, piped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(2):  # alternate so drift in the machine hits both alike
            bare.append(bare_loop(ids, len(chars), args))
            piped.append(pipeline(path, args, Path(tmp), f"run{i}"))
            print(f"round {i + 1}: bare {bare[-1]:,.0f} tok/s   pipeline {piped[-1]:,.0f} tok/s")
    b, q = max(bare), max(piped)
    print(f"best of 2: bare nn.LSTM+AdamW {b:,.0f} tok/s   creative-rnn train {q:,.0f} tok/s   "
          f"ratio {q / b:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"bare_tok_s": b, "pipeline_tok_s": q,
                                               "ratio": q / b, "args": vars(args)}, indent=2))


if __name__ == "__main__":
    main()
