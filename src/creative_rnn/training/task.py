"""What a task is to the trainer: a model, batches with a cursor, a loss and validation.

The loop (``loop.py``) knows nothing of language modelling, classification or seq2seq;
each task (``lm.py``, ``classify.py``, ``seq2seq.py``) is a small object with:

- ``model``: the network to train (built from the run's configs);
- ``batches(rank, ranks)``: the training batches, an object with ``next()``, ``cursor()``
  and ``restore(cursor)`` so a resumed run reads what the uninterrupted one would have;
- ``forward(net, batch, state)``: ``(logits (n, classes), targets (n,), new state)``; the
  loss is the mean cross-entropy over the targets that are not ``IGNORE``;
- ``val_batches()``: the validation batches, read in order by the one evaluator;
- ``describe()``: what ``config.json`` records beyond the model and training keys;
- ``digest``: a hash of the training data, checked when a run resumes;
- ``train_targets()``: the training targets, for the unigram baseline a run is judged by
  (``verdict.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from ..config import TrainConfig
from ..data.batches import ExampleBatches


class Task:
    name = ""  # as in config.TASKS
    carries_state = False  # streams carry the hidden state from one batch to the next
    reports_accuracy = False  # validation also reports the share of targets argmax gets
    model: torch.nn.Module
    digest: str

    def batches(self, rank: int, ranks: int):
        raise NotImplementedError

    def forward(self, net: torch.nn.Module, batch: Any, state: Any
                ) -> tuple[torch.Tensor, torch.Tensor, Any]:
        raise NotImplementedError

    def val_batches(self) -> Iterable[Any]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {}

    def train_targets(self) -> tuple[list[np.ndarray], np.ndarray | None]:
        """Arrays of the training targets' ids and a table from ids to target classes (or
        None); no arrays means no baseline."""
        return [], None


class ExampleTask(Task):
    """A task of independent examples (classify, seq2seq): shuffled batches each epoch,
    validation in order. Subclasses give ``collate`` (examples -> tensors) and ``sizes``
    (targets per example)."""

    reports_accuracy = True
    cfg: TrainConfig
    train: list
    val: list

    def collate(self, chunk: list) -> tuple:
        raise NotImplementedError

    def sizes(self, examples: list) -> list[int]:
        raise NotImplementedError

    def targets(self, example: Any) -> list[int]:
        """The target classes of one example."""
        raise NotImplementedError

    def train_targets(self) -> tuple[list[np.ndarray], np.ndarray | None]:
        return [np.asarray(self.targets(e), dtype=np.int64) for e in self.train], None

    def batches(self, rank: int, ranks: int) -> ExampleBatches:
        return ExampleBatches(self.train, self.sizes(self.train), self.cfg.batch_size,
                              self.cfg.seed, self.collate, rank, ranks)

    def val_batches(self):
        B = self.cfg.batch_size
        for i in range(0, len(self.val), B):
            chunk = self.val[i: i + B]
            yield ExampleBatches.batch_of(self.collate(chunk), sum(self.sizes(chunk)))


def digest_of(obj: Any) -> str:
    """A short hash of JSON-able training data (examples, pairs)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def on_device(tensors: tuple, net: torch.nn.Module) -> tuple:
    device = next(net.parameters()).device
    return tuple(t.to(device, non_blocking=True) for t in tensors)
