"""A trained classify run: labels for sequences, or a tag for every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..data.batches import pad_sequences
from ..errors import UserError
from ..rundir import read_model
from .generator import encode_bounded


class Classifier:
    """``predict(item)`` gives the label, or one tag per token."""

    def __init__(self, run_dir: str | Path, last: bool = False):
        cfg, self.codec, self.model, _ = read_model(run_dir, "classify", last)
        self.labels, self.per_step = cfg["labels"], cfg["per_step"]

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
