"""Language modelling: predict the next token of a corpus (streams or documents).

Streams are read as ``batch_size`` contiguous lanes with the hidden state carried between
batches (truncated BPTT); documents are whole items, padded and masked. Ensemble codecs
predict other classes than they read: their targets go through ``codec.target_table()``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from typing import Any

import torch

from ..codecs import Codec
from ..config import ModelConfig, TaskOptions, TrainConfig
from ..config_layers import Layer
from ..data.batches import DocumentBatches, StreamBatches, eval_batches, fit_stream_shape, retarget
from ..data.cache import prepare as prepare_store
from ..data.store import Split, TokenStore
from ..models import SequenceModel
from .distributed import is_main
from .task import Task


class LanguageModelTask(Task):
    name = "lm"

    def __init__(self, codec: Codec, splits: tuple[Split, Split], digest: str,
                 spec: dict[str, Any], model_cfg: ModelConfig, train_cfg: TrainConfig):
        self.codec, self.spec, self.cfg, self.digest = codec, spec, train_cfg, digest
        self.train_split, self.val_split = splits
        self.carries_state = self.train_split.stream is not None
        self.model_cfg = dataclasses.replace(model_cfg, vocab_size=codec.vocab_size,
                                             output_size=codec.output_size)
        self.model = SequenceModel(self.model_cfg)
        # ensemble codecs: targets are output classes derived from the next input id
        table = codec.target_table()
        self.table = None if table is None else torch.as_tensor(table)

    def batches(self, rank: int, ranks: int):
        cfg = self.cfg
        if self.carries_state:
            return StreamBatches(self.train_split.stream, cfg.batch_size, cfg.seq_len, rank,
                                 ranks)
        return DocumentBatches(self.train_split.docs, cfg.batch_size, cfg.seed, rank, ranks)

    def forward(self, net, batch, state):
        device = next(net.parameters()).device
        x = batch.x.to(device, non_blocking=True)
        y = batch.y.to(device, non_blocking=True)
        if self.table is not None:
            if self.table.device != device:  # once: the trainer moves the model after this
                self.table = self.table.to(device)
            y = retarget(y, self.table)
        logits, state = net(x, None if batch.reset else state)
        return logits.reshape(-1, logits.size(-1)), y.reshape(-1), state

    def val_batches(self):
        cfg = self.cfg
        return eval_batches(self.val_split, cfg.batch_size, cfg.seq_len, cfg.eval_max_tokens)

    def describe(self) -> dict[str, Any]:
        return {"corpus": self.spec, "corpus_digest": self.digest}

    def train_targets(self):
        split = self.train_split
        # every token of a stream is a target; a document's first (<s>) never is
        pieces = [split.stream] if split.stream is not None else [d[1:] for d in split.docs]
        return pieces, None if self.table is None else self.table.cpu().numpy()


def ids_digest(store: TokenStore) -> str:
    if store.digest is not None:  # the token cache hashed the ids once, when it wrote them
        return store.digest
    return hashlib.sha256(store.ids.tobytes() + store.offsets.tobytes()).hexdigest()[:16]


def fit_shapes(train_cfg: TrainConfig, train_split: Split) -> list[Layer]:
    """The batch and window a small corpus holds, where smaller than asked, and say so: a
    limit layer for the resolver (no batch can be larger than the corpus, whoever set it)."""
    if train_split.stream is not None:
        B, T = fit_stream_shape(len(train_split.stream), train_cfg.batch_size, train_cfg.seq_len)
        held = f"{len(train_split.stream):,} training tokens"
    else:
        B, T = min(train_cfg.batch_size, len(train_split.docs)), train_cfg.seq_len
        held = f"{len(train_split.docs):,} training documents"
    asked = {"batch_size": train_cfg.batch_size, "seq_len": train_cfg.seq_len}
    fitted = {k: v for k, v in (("batch_size", B), ("seq_len", T)) if v != asked[k]}
    if not fitted:
        return []
    if is_main():
        print(f"note: the corpus is small; using batch_size={B}, seq_len={T} "
              f"(asked for {train_cfg.batch_size}, {train_cfg.seq_len})", file=sys.stderr)
    return [Layer("fitted to the corpus", fitted, "limit",
                  {k: f"{held} hold no more (asked for {asked[k]})" for k in fitted})]


def corpus_spec(sources: list[str], documents: bool, unit: str = "line",
                named_options: dict | None = None) -> dict[str, Any]:
    """The corpus description a run records (config.json "corpus") and the cache reads."""
    return {"sources": [str(s) for s in sources], "documents": documents, "unit": unit,
            "named_options": named_options or {}}


def new_task(sources: list[str], codec: Codec, model_cfg: ModelConfig, train_cfg: TrainConfig,
             options: TaskOptions, unit: str = "line", named_options: dict | None = None,
             fit: bool = True, **_: Any) -> tuple[LanguageModelTask, list[Layer]]:
    """Load and encode the corpus (fitting the codec unless ``fit`` is False: a fine-tune
    keeps its parent's vocabulary, grown); the layer that shrinks the shapes for a small
    corpus (``fit_shapes``). A language model has no task options (``resolve`` refuses their
    keys)."""
    spec = corpus_spec(sources, train_cfg.documents, unit, named_options)
    store = prepare_store(spec, codec, fit=fit)
    splits = store.split(train_cfg.val_fraction, train_cfg.doc_max_len)
    task = LanguageModelTask(codec, splits, ids_digest(store), spec, model_cfg, train_cfg)
    return task, fit_shapes(train_cfg, splits[0])


def task_from_run(config: dict[str, Any], codec: Codec, model_cfg: ModelConfig,
                  train_cfg: TrainConfig, options: TaskOptions) -> LanguageModelTask:
    """The task of a saved run, its corpus encoded again (or read from the token cache)."""
    spec = config["corpus"]
    store = prepare_store(spec, codec, fit=False)
    return LanguageModelTask(codec, store.split(train_cfg.val_fraction, train_cfg.doc_max_len),
                             ids_digest(store), spec, model_cfg, train_cfg)
