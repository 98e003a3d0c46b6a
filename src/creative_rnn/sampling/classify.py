"""A trained classify run: labels for sequences, or a tag for every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..data.batches import pad_sequences
from ..errors import UserError
from ..models.seq2seq import Tagger
from ..rundir import load_weights, read_run
from .generator import encode_bounded


class Classifier:
    """``predict(item)`` gives the label, or one tag per token."""

    def __init__(self, run_dir: str | Path, last: bool = False):
        cfg, self.codec, model_cfg, opts, weights = read_run(run_dir, "classify", last)
        self.labels, self.per_step = cfg["labels"], cfg["per_step"]
        self.model = Tagger(model_cfg, len(self.labels), opts.bidirectional, self.per_step)
        load_weights(self.model, weights)
        self.model.eval()

    @torch.no_grad()
    def predict(self, item: Any) -> str | list[tuple[str, str]]:
        ids = encode_bounded(self.codec, item, "skip", "input")
        if not ids:
            raise UserError("the input has no token the model knows")
        x, lengths = pad_sequences([ids])
        logits = self.model(x, lengths)[0]
        if not self.per_step:
            return self.labels[int(logits.argmax())]
        return [(self.codec.token_text(i), self.labels[int(j)])
                for i, j in zip(ids, logits.argmax(-1).tolist())]
