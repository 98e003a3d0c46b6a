"""Training tokens/s: the full `creative-rnn train` pipeline beside a bare loop, same run.

The bare loop is what a plain PyTorch script does: nn.Embedding -> nn.LSTM (with its own
dropout between layers) -> dropout -> nn.Linear (the same network), cross-entropy, backward,
AdamW, on random windows, in the same precision. The pipeline adds everything the tool
does: lanes with the state carried, clipping, the LR schedule, metrics logging and a
checkpoint. Both are measured alternately so drift in the machine hits both alike; the best
of the rounds is compared."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..codecs import get
from ..training.run import train
from .common import Timer, logged_tokens_per_second


@dataclass(frozen=True)
class Shape:
    layers: int = 2
    hidden: int = 256
    embedding: int = 64
    batch: int = 32
    seq: int = 100
    dropout: float = 0.2
    cell: str = "lstm"  # the pipeline's cell; the bare loop is always torch's nn.LSTM


def bare_loop(ids: torch.Tensor, vocab: int, shape: Shape, steps: int, device: torch.device,
              precision: str) -> float:
    """Tokens/s of a plain nn.LSTM + AdamW loop (no clipping, no logging, no checkpoints)."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(vocab, shape.embedding).to(device)
    rnn = torch.nn.LSTM(shape.embedding, shape.hidden, shape.layers, batch_first=True,
                        dropout=shape.dropout if shape.layers > 1 else 0.0).to(device)
    head = torch.nn.Linear(shape.hidden, vocab).to(device)
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3, fused=True)
    B, T = shape.batch, shape.seq
    gen = torch.Generator().manual_seed(0)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step():
        starts = torch.randint(0, len(ids) - T - 1, (B,), generator=gen)
        x = torch.stack([ids[s: s + T] for s in starts]).to(device)
        y = torch.stack([ids[s + 1: s + T + 1] for s in starts]).to(device)
        with amp:
            out, _ = rnn(emb(x))
            logits = head(torch.nn.functional.dropout(out, shape.dropout, training=True))
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(5):
        step()
    with Timer(device) as t:
        for _ in range(steps):
            loss = step()
        loss.item()
    return steps * B * T / t.seconds


def pipeline(corpus: Path, shape: Shape, steps: int, device: torch.device, precision: str,
             workdir: Path) -> float:
    """Tokens/s of creative-rnn's own trainer, read from its metrics.jsonl (first logged
    step to last, so start-up is excluded but logging, clipping and a checkpoint count)."""
    train(corpus=[str(corpus)], out=workdir, preset="small", cell=shape.cell,
          num_layers=shape.layers, hidden_size=shape.hidden, embedding_size=shape.embedding,
          dropout=shape.dropout, weight_drop=0.0, ema=0.0,  # as the bare loop: none
          batch_size=shape.batch, seq_len=shape.seq, max_steps=steps + 10, log_every=10,
          eval_every=10**6,
          checkpoint_every=max(steps // 2, 1),  # a save inside the measured span
          eval_max_tokens=1, progress_bar=False, precision=precision, device=device.type)
    return logged_tokens_per_second(workdir)


def compare(corpus: Path, shape: Shape, steps: int, device: torch.device, precision: str,
            rounds: int = 2, log=print) -> dict:
    """Pipeline and bare loop alternately ``rounds`` times; returns the best of each."""
    text = corpus.read_text(encoding="utf-8")[:400_000]
    codec = get("char")
    codec.fit([text])
    ids = torch.tensor(codec.encode(text))
    bare, piped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            bare.append(bare_loop(ids, codec.vocab_size, shape, steps, device, precision))
            piped.append(pipeline(corpus, shape, steps, device, precision, Path(tmp) / f"r{i}"))
            log(f"  round {i + 1}: bare {bare[-1]:,.0f} tok/s   pipeline {piped[-1]:,.0f} tok/s")
    b, q = max(bare), max(piped)
    return {"shape": asdict(shape), "precision": precision, "steps": steps,
            "bare_tok_s": b, "pipeline_tok_s": q, "ratio": q / b}
