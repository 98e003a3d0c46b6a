"""Tasks beyond language modelling: ``classify`` (a bidirectional tagger/classifier) and
``seq2seq`` (an encoder–decoder that answers a call). ``creative-rnn train --task …``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..train import RunResult
from .classify import Classifier, train_classify
from .common import TASKS, TaskOptions
from .seq2seq import Responder, train_seq2seq


def train_task(task: str, corpus: list[str], out: str | Path, **kwargs: Any) -> RunResult:
    """Train ``task`` ("classify" or "seq2seq") on ``corpus`` into ``out``."""
    if task == "classify":
        for unused in ("unit", "named_options", "documents"):
            kwargs.pop(unused, None)
        return train_classify(corpus, out, **kwargs)
    if task == "seq2seq":
        kwargs.pop("documents", None)  # pairs are always whole documents
        return train_seq2seq(corpus, out, **kwargs)
    raise UserError(f"unknown task {task!r}; choose lm, {', '.join(TASKS)}")


__all__ = ["train_task", "train_classify", "train_seq2seq", "Classifier", "Responder",
           "TaskOptions", "TASKS"]
