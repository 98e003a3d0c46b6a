"""Time to quality on tiny-shakespeare: `creative-rnn train shakespeare --preset P
--max-minutes M` beside a plain PyTorch script given the same wall-clock budget, same run.

The plain script is the issue's reference recipe: on the CPU a 2x256 LSTM (dropout 0.2, batch
32 x 100, AdamW 2e-3), on a GPU a 3x512 LSTM (dropout 0.5, batch 128 x 256, AdamW 2e-3, bf16);
cosine over the time budget, random windows. Both report validation loss (nats/char) on the
last 10 % of the text (111,540 characters), state carried, against wall-clock time; the plain
script is not charged for its evaluations, creative-rnn is."""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import torch

from .. import rundir
from ..training.run import train
from .common import sync

PLAIN = {  # (layers, hidden, dropout, batch, seq, bf16)
    "cpu": (2, 256, 0.2, 32, 100, False),
    "cuda": (3, 512, 0.5, 128, 256, True),
}


def plain_script(text: str, minutes: float, device: torch.device, evals: int = 10
                 ) -> list[tuple[float, float]]:
    """The reference recipe; returns (seconds, val_loss) points."""
    torch.manual_seed(0)
    L, H, p, B, T, bf16 = PLAIN[device.type]
    chars = sorted(set(text))
    data = torch.tensor([chars.index(c) for c in text])
    n = int(len(data) * 0.9)
    train, val = data[:n], data[n:]
    V = len(chars)
    emb = torch.nn.Embedding(V, 64).to(device)
    rnn = torch.nn.LSTM(64, H, L, batch_first=True, dropout=p).to(device)
    drop, head = torch.nn.Dropout(p), torch.nn.Linear(H, V).to(device)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    @torch.no_grad()
    def evaluate() -> float:
        rnn.eval()
        lanes = val[: len(val) // 16 * 16].view(16, -1).to(device)
        state, total, count = None, 0.0, 0
        for i in range(0, lanes.shape[1] - 1, 500):
            x, y = lanes[:, i: i + 500], lanes[:, i + 1: i + 501]
            x = x[:, : y.shape[1]]
            with amp:
                out, state = rnn(emb(x), state)
                logits = head(out)
            total += torch.nn.functional.cross_entropy(
                logits.float().reshape(-1, V), y.reshape(-1), reduction="sum").item()
            count += y.numel()
        rnn.train()
        return total / count

    budget, points, spent = minutes * 60, [], 0.0
    next_eval = budget / evals
    sync(device)
    t0 = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - t0 - spent  # evaluation time is not charged
        if elapsed >= budget:
            break
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        s = torch.randint(0, len(train) - T - 1, (B,))
        x = torch.stack([train[i: i + T] for i in s]).to(device)
        y = torch.stack([train[i + 1: i + T + 1] for i in s]).to(device)
        with amp:
            out, _ = rnn(emb(x))
            logits = head(drop(out))
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if elapsed >= next_eval:
            sync(device)
            e0 = time.perf_counter()
            points.append((elapsed, evaluate()))
            spent += time.perf_counter() - e0
            next_eval += budget / evals
    points.append((budget, evaluate()))
    return points


def ours(path: Path, minutes: float, preset: str, device: torch.device,
         overrides: dict | None = None) -> list[tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        train(corpus=[str(path)], out=out, preset=preset, max_minutes=minutes,
              progress_bar=False, eval_max_tokens=200_000, device=device.type,
              **(overrides or {}))
        rows = rundir.read_metrics(out)
        model = rundir.read_config(out)["model"]
    steps = max((r.get("step", 0) for r in rows), default=0)
    # the shape it trained (a fitted preset chooses its width here) and the steps it made
    print(f"trained {model['cell']} {model['num_layers']}x{model['hidden_size']}: "
          f"{steps:,} steps", flush=True)
    return [(r["elapsed_s"], r["val_loss"]) for r in rows if "val_loss" in r]


def curves_table(mine: list, base: list) -> str:
    lines = [f"{'seconds':>8} {'creative-rnn':>13}    {'seconds':>8} {'plain script':>13}"]
    for i in range(max(len(mine), len(base))):
        a = f"{mine[i][0]:8.0f} {mine[i][1]:13.4f}" if i < len(mine) else " " * 22
        b = f"{base[i][0]:8.0f} {base[i][1]:13.4f}" if i < len(base) else ""
        lines.append(f"{a}    {b}")
    return "\n".join(lines)
