"""The classify task: one label per sequence, or one tag per step (sequence labelling),
read by a bidirectional encoder.

Examples are JSONL lines: ``{"input": ITEM, "label": "6/8"}`` to label whole sequences (a
tune's meter or mode), or ``{"input": ITEM, "tags": ["1", "2", ...]}`` with one tag per
token of the codec (a note's position in the bar). ITEM is what the codec tokenizes: a
string for the text codecs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..data import IGNORE
from ..errors import CorpusError, UserError
from ..models.seq2seq import Tagger
from ..train import RunResult
from .common import (
    fit,
    load_weights,
    make_codec,
    masked_scores,
    pad,
    read_jsonl,
    read_run,
    resolve_configs,
    seed_run,
    split_examples,
    start_run,
)


def examples_from_rows(rows: list[dict[str, Any]], codec, fit_codec: bool
                       ) -> tuple[list[tuple[list[int], Any]], bool]:
    """(ids, label or tags) per row, and whether the task tags every step."""
    per_step = "tags" in rows[0]
    key = "tags" if per_step else "label"
    if any(key not in r or "input" not in r for r in rows):
        raise CorpusError(f"every example needs \"input\" and \"{key}\" (as the first one "
                          "has); do not mix labels and tags in one corpus")
    if fit_codec:
        codec.fit([r["input"] for r in rows])
    out = []
    for n, r in enumerate(rows, 1):
        ids = codec.encode(r["input"], unknown="skip" if not fit_codec else "error")
        if per_step and len(r["tags"]) != len(ids):
            raise CorpusError(f"example {n} has {len(r['tags'])} tags for {len(ids)} tokens; "
                              "give one tag per token")
        if not ids:
            raise CorpusError(f"example {n} has an empty input")
        out.append((ids, [str(t) for t in r["tags"]] if per_step else str(r["label"])))
    return out, per_step


def train_classify(corpus: Sequence[str], out: str | Path, codec: Any = "char",
                   preset: str | None = None, config: str | Path | None = None,
                   encoding: str = "utf-8", max_vocab: int | None = None,
                   progress_bar: bool = True, **overrides: Any) -> RunResult:
    """Train a tagger/classifier on JSONL examples into the run directory ``out``."""
    model_cfg, train_cfg, opts = resolve_configs(preset, config, overrides)
    seed_run(train_cfg)
    codec = make_codec(codec, encoding, max_vocab)
    examples, per_step = examples_from_rows(read_jsonl(corpus, ("input",)), codec, True)
    labels = sorted({t for _, y in examples for t in (y if per_step else [y])})
    if len(labels) < 2:
        raise CorpusError(f"the examples have {len(labels)} distinct label(s); need 2 or more")
    index = {t: i for i, t in enumerate(labels)}
    train, val = split_examples(examples, train_cfg.val_fraction)
    model_cfg = dataclasses.replace(model_cfg, vocab_size=codec.vocab_size,
                                    output_size=len(labels))
    run = start_run(out, "classify", model_cfg, train_cfg, opts, codec,
                    {"labels": labels, "per_step": per_step,
                     "corpus": {"sources": [str(s) for s in corpus]}})
    model = Tagger(model_cfg, len(labels), opts.bidirectional, per_step)

    def tensors(chunk):
        x, lengths = pad([ids[: train_cfg.doc_max_len] for ids, _ in chunk])
        if per_step:
            y, _ = pad([[index[t] for t in tags[: train_cfg.doc_max_len]] for _, tags in chunk],
                       IGNORE)
        else:
            y = torch.tensor([index[label] for _, label in chunk])
        return x, lengths, y

    def batch(rng: np.random.Generator):
        return tensors([train[i] for i in rng.integers(0, len(train), train_cfg.batch_size)])

    def loss(m, b):
        dev = next(m.parameters()).device
        x, lengths, y = (t.to(dev) for t in b)
        logits = m(x, lengths)
        return F.cross_entropy(logits.reshape(-1, len(labels)), y.reshape(-1),
                               ignore_index=IGNORE), int(lengths.sum())  # tokens read

    def evaluate(m) -> dict[str, float]:
        def pairs():
            for i in range(0, len(val), train_cfg.batch_size):
                x, lengths, y = (t.to(next(m.parameters()).device)
                                 for t in tensors(val[i: i + train_cfg.batch_size]))
                yield m(x, lengths).reshape(-1, len(labels)), y.reshape(-1)
        return masked_scores(pairs())

    return fit(run, model, train_cfg, batch, loss, evaluate, progress_bar)


class Classifier:
    """A trained classify run: ``predict(item)`` gives the label, or one tag per token."""

    def __init__(self, run_dir: str | Path):
        cfg, self.codec, model_cfg, opts, weights = read_run(run_dir, "classify")
        self.labels, self.per_step = cfg["labels"], cfg["per_step"]
        self.model = load_weights(Tagger(model_cfg, len(self.labels), opts.bidirectional,
                                         self.per_step), weights)

    @torch.no_grad()
    def predict(self, item: Any) -> str | list[tuple[str, str]]:
        ids = self.codec.encode(item, unknown="skip")
        if not ids:
            raise UserError("the input has no token the model knows")
        x, lengths = pad([ids])
        logits = self.model(x, lengths)[0]
        if not self.per_step:
            return self.labels[int(logits.argmax())]
        return [(self.codec.token_text(i), self.labels[int(j)])
                for i, j in zip(ids, logits.argmax(-1).tolist())]
