"""The classify task: one label per sequence, or one tag per step (sequence labelling),
read by a bidirectional encoder.

Examples are JSONL lines: ``{"input": ITEM, "label": "6/8"}`` to label whole sequences (a
tune's meter or mode), or ``{"input": ITEM, "tags": ["1", "2", ...]}`` with one tag per
token of the codec (a note's position in the bar). ITEM is what the codec tokenizes: a
string for the text codecs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ..codecs import Codec
from ..config import ModelConfig, TaskOptions, TrainConfig
from ..data.batches import pad_sequences
from ..data.store import IGNORE
from ..errors import CorpusError
from ..models.seq2seq import Tagger
from .examples import read_jsonl, split_examples
from .task import ExampleTask, digest_of, on_device

Example = tuple[list[int], Any]  # (ids, label) or (ids, [tag per id])


def examples_from_rows(rows: list[dict[str, Any]], codec: Codec, fit_codec: bool
                       ) -> tuple[list[Example], bool]:
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


class ClassifyTask(ExampleTask):
    name = "classify"

    def __init__(self, examples: list[Example], per_step: bool, labels: list[str],
                 sources: list[str], model_cfg: ModelConfig, train_cfg: TrainConfig,
                 options: TaskOptions):
        self.cfg, self.per_step, self.labels = train_cfg, per_step, labels
        self.sources = sources
        self.index = {t: i for i, t in enumerate(labels)}
        L = train_cfg.doc_max_len
        examples = [(ids[:L], y[:L] if per_step else y) for ids, y in examples]
        self.digest = digest_of(examples)
        self.train, self.val = split_examples(examples, train_cfg.val_fraction)
        self.model_cfg = dataclasses.replace(model_cfg, output_size=len(labels))
        self.model = Tagger(self.model_cfg, len(labels), options.bidirectional, per_step)

    def collate(self, chunk: list[Example]) -> tuple[torch.Tensor, ...]:
        x, lengths = pad_sequences([ids for ids, _ in chunk])
        if self.per_step:
            y, _ = pad_sequences([[self.index[t] for t in tags] for _, tags in chunk], IGNORE)
        else:
            y = torch.tensor([self.index[label] for _, label in chunk])
        return x, lengths, y

    def sizes(self, examples: list[Example]) -> list[int]:
        return [len(y) if self.per_step else 1 for _, y in examples]

    def targets(self, example: Example) -> list[int]:
        _, y = example
        return [self.index[t] for t in (y if self.per_step else [y])]

    def forward(self, net, batch, state):
        x, lengths, y = on_device(batch.tensors, net)
        logits = net(x, lengths)
        return logits.reshape(-1, len(self.labels)), y.reshape(-1), None

    def describe(self) -> dict[str, Any]:
        return {"labels": self.labels, "per_step": self.per_step,
                "corpus": {"sources": self.sources}, "corpus_digest": self.digest}


def _task(rows, codec, fit, sources, model_cfg, train_cfg, options, labels=None):
    examples, per_step = examples_from_rows(rows, codec, fit)
    if labels is None:
        labels = sorted({t for _, y in examples for t in (y if per_step else [y])})
    if len(labels) < 2:
        raise CorpusError(f"the examples have {len(labels)} distinct label(s); need 2 or more")
    if fit:
        model_cfg = dataclasses.replace(model_cfg, vocab_size=codec.vocab_size)
    return ClassifyTask(examples, per_step, labels, sources, model_cfg, train_cfg, options)


def new_task(sources: list[str], codec: Codec, model_cfg: ModelConfig, train_cfg: TrainConfig,
             options: TaskOptions, **_: Any) -> tuple[ClassifyTask, list]:
    sources = [str(s) for s in sources]
    rows = read_jsonl(sources, ("input",))
    return _task(rows, codec, True, sources, model_cfg, train_cfg, options), []  # nothing fitted


def task_from_run(config: dict[str, Any], codec: Codec, model_cfg: ModelConfig,
                  train_cfg: TrainConfig, options: TaskOptions) -> ClassifyTask:
    sources = config["corpus"]["sources"]
    rows = read_jsonl(sources, ("input",))
    return _task(rows, codec, False, sources, model_cfg, train_cfg, options,
                 labels=config["labels"])
