"""Evaluation of a run: validation loss on its own corpus and a table about its samples."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from . import corpora
from .config import TrainConfig, from_dict
from .data import eval_batches, retarget
from .errors import CheckpointError
from .sampling import load
from .train import prepare


def validation_loss(run_dir: str | Path, last: bool = False, gen=None) -> float:
    """Cross-entropy (nats/token) of the run's weights on its validation split.
    ``gen``: an already loaded Generator of that run (saves loading it again)."""
    gen = gen or load(run_dir, last=last, device="cpu")
    cfg = gen.config
    train_cfg = from_dict(TrainConfig, cfg["train"])
    store = prepare(cfg["corpus"], gen.codec, fit=False)
    _, val = store.split(train_cfg.val_fraction, train_cfg.doc_max_len)
    table = gen.codec.target_table()  # ensemble codecs: output classes, not next ids
    table = None if table is None else torch.as_tensor(table)
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for b in eval_batches(val, train_cfg.batch_size, train_cfg.seq_len,
                              train_cfg.eval_max_tokens):
            logits, state = gen.model(b.x, None if b.reset else state)
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.size(-1)), retarget(b.y, table).reshape(-1),
                ignore_index=-100, reduction="sum").item()
            count += b.tokens
    return total / max(count, 1)


def sample_table(run_dir: str | Path, num: int = 20, length: int = 500, seed: int = 1,
                 last: bool = False, gen=None) -> dict[str, Any]:
    """Statistics of ``num`` samples: mean length in tokens, share that ended by themselves
    (documents mode) and share of distinct token bigrams (low means repetitive loops)."""
    gen = gen or load(run_dir, last=last, device="cpu")
    eos = gen.codec.vocab.eos
    seqs: list[list[int]] = [[] for _ in range(num)]
    for step in gen.generate_ids(length=length, num=num, seed=seed, temperature=1.0):
        for i, t in step:
            seqs[i].append(t)
    ended = sum(1 for s in seqs if s and s[-1] == eos)
    bigrams = [tuple(s[j: j + 2]) for s in seqs for j in range(len(s) - 1)]
    return {
        "samples": num,
        "mean_length": sum(len(s) for s in seqs) / num,
        "ended_by_themselves": ended / num if gen.documents else None,
        "distinct_bigrams": len(set(bigrams)) / max(len(bigrams), 1),
    }


def quality_rows(run_dir: str | Path, num: int = 20, length: int = 500, seed: int = 1,
                 last: bool = False, constraints: dict[str, Any] | None = None,
                 gen=None) -> dict[str, dict[str, float]]:
    """The codec's domain figures for ``num`` samples, and for the training corpus itself
    as the reference row. Empty for codecs without domain figures (plain text).
    ``constraints`` go to the codec's sampling constraints (ABC: ``complete_bars``)."""
    gen = gen or load(run_dir, last=last, device="cpu")
    samples = gen.generate(length=length, num=num, seed=seed, temperature=1.0,
                           constraints=constraints)
    corpus = corpora.load(gen.config["corpus"]["sources"], gen.codec,
                          documents=gen.config["corpus"]["documents"],
                          unit=gen.config["corpus"]["unit"],
                          **gen.config["corpus"].get("named_options", {})).items
    generated = gen.codec.quality(samples, reference=corpus)
    if not generated:
        return {}
    return {"generated": generated, "corpus": gen.codec.quality(corpus, reference=corpus)}


def evaluate(run_dir: str | Path, num: int = 20, last: bool = False,
             constraints: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validation loss per token, a table about samples, and the codec's quality rows."""
    if not Path(run_dir, "config.json").exists():
        raise CheckpointError(f"{run_dir} is not a run directory (no config.json)")
    gen = load(run_dir, last=last, device="cpu")  # once, for all three parts
    loss = validation_loss(run_dir, gen=gen)
    row = {"val_loss": loss, "perplexity": math.exp(loss), "bits_per_token": loss / math.log(2)}
    if gen.codec.output_size != gen.codec.vocab_size:  # ensemble: answers need a lead (perform)
        row["quality"] = {}
        return row
    row.update(sample_table(run_dir, num=num, gen=gen))
    row["quality"] = quality_rows(run_dir, num=num, constraints=constraints, gen=gen)
    return row


__all__ = ["evaluate", "validation_loss", "sample_table"]
