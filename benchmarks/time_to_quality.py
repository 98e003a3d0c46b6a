"""Time to quality on tiny-shakespeare: `creative-rnn train shakespeare --preset small
--max-minutes M` beside a plain PyTorch script given the same wall-clock budget, same run.

The plain script is the issue's reference recipe: a 2x256 LSTM, AdamW (lr 2e-3), cosine over
the time budget, dropout 0.2, batch 32 x 100, random windows. Both report validation loss
(nats/char) on the last 10 % of the text (111,540 characters) against wall-clock time.

    python benchmarks/time_to_quality.py --minutes 10 [--preset small] [--skip-baseline]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import torch

import creative_rnn as cr
from creative_rnn import corpora

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "text"


def plain_script(text: str, minutes: float, evals: int = 10) -> list[tuple[float, float]]:
    """The reference recipe; returns (seconds, val_loss) points."""
    torch.manual_seed(0)
    chars = sorted(set(text))
    data = torch.tensor([chars.index(c) for c in text])
    n = int(len(data) * 0.9)
    train, val = data[:n], data[n:]
    V, B, T = len(chars), 32, 100
    emb = torch.nn.Embedding(V, 64)
    rnn = torch.nn.LSTM(64, 256, 2, batch_first=True, dropout=0.2)
    drop, head = torch.nn.Dropout(0.2), torch.nn.Linear(256, V)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3)

    @torch.no_grad()
    def evaluate() -> float:
        rnn.eval()
        lanes = val[: len(val) // 16 * 16].view(16, -1)
        state, total, count = None, 0.0, 0
        for i in range(0, lanes.shape[1] - 1, 500):
            x, y = lanes[:, i: i + 500], lanes[:, i + 1: i + 501]
            x = x[:, : y.shape[1]]
            out, state = rnn(emb(x), state)
            total += torch.nn.functional.cross_entropy(
                head(out).reshape(-1, V), y.reshape(-1), reduction="sum").item()
            count += y.numel()
        rnn.train()
        return total / count

    budget, points, spent = minutes * 60, [], 0.0
    next_eval = budget / evals
    t0 = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - t0 - spent  # evaluation time is not charged
        if elapsed >= budget:
            break
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        s = torch.randint(0, len(train) - T - 1, (B,))
        x = torch.stack([train[i: i + T] for i in s])
        y = torch.stack([train[i + 1: i + T + 1] for i in s])
        out, _ = rnn(emb(x))
        loss = torch.nn.functional.cross_entropy(head(drop(out)).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if elapsed >= next_eval:
            e0 = time.perf_counter()
            points.append((elapsed, evaluate()))
            spent += time.perf_counter() - e0
            next_eval += budget / evals
    points.append((budget, evaluate()))
    return points


def ours(path: Path, minutes: float, preset: str, workdir: Path, sets: list[str]):
    out = workdir / "ours"
    overrides = dict(s.split("=", 1) for s in sets)
    cr.train(corpus=["shakespeare"], out=out, preset=preset, max_minutes=minutes,
             named_options={"shakespeare": {"local": str(path)}}, progress_bar=False,
             eval_max_tokens=200_000, **overrides)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return [(r["elapsed_s"], r["val_loss"]) for r in rows if "val_loss" in r]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--preset", default="small")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--json")
    args = p.parse_args()
    local = SHARED / "tiny-shakespeare.txt"
    path = local if local.is_file() else corpora.shakespeare_file()
    text = path.read_text(encoding="utf-8")
    print(f"{os.cpu_count()} cpus, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"budget {args.minutes:g} min each")
    with tempfile.TemporaryDirectory() as tmp:
        mine = ours(path, args.minutes, args.preset, Path(tmp), args.set)
    base = [] if args.skip_baseline else plain_script(text, args.minutes)
    print(f"\n{'seconds':>8} {'creative-rnn':>13}    {'seconds':>8} {'plain script':>13}")
    for i in range(max(len(mine), len(base))):
        a = f"{mine[i][0]:8.0f} {mine[i][1]:13.4f}" if i < len(mine) else " " * 22
        b = f"{base[i][0]:8.0f} {base[i][1]:13.4f}" if i < len(base) else ""
        print(f"{a}    {b}")
    final = mine[-1][1]
    line = f"\nfinal validation loss: creative-rnn --preset {args.preset} {final:.4f}"
    if base:
        line += f"   plain script {base[-1][1]:.4f}   difference {final - base[-1][1]:+.4f}"
    print(line + " nats/char")
    if args.json:
        Path(args.json).write_text(json.dumps({"ours": mine, "baseline": base}, indent=2))


if __name__ == "__main__":
    main()
