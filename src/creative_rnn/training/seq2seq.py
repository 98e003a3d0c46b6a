"""The seq2seq task: phrase -> answering phrase with an encoder–decoder.

Pairs come from a JSONL of ``{"call": ITEM, "response": ITEM}`` lines, or from any corpus
the codec reads: consecutive documents (``--unit line``: consecutive lines; ``--unit
paragraph``: one Shakespeare speech and the reply to it) or, with ``--set phrase_len=N``,
consecutive N-token phrases of each item (16 steps = one bar of sixteenth notes). Ready
pairs of ids for a fitted codec (the tests' toy tasks) are kept in ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import corpora
from ..codecs import Codec
from ..config import ModelConfig, TaskOptions, TrainConfig
from ..data.batches import pad_sequences
from ..data.store import IGNORE
from ..errors import CorpusError
from ..models.seq2seq import Seq2Seq
from .examples import read_jsonl, split_examples
from .task import ExampleTask, digest_of, on_device

Pair = tuple[list[int], list[int]]


def make_pairs(sources: Sequence[str], codec: Codec, opts: TaskOptions, unit: str = "line",
               named_options: dict | None = None, fit: bool = True) -> list[Pair]:
    """(call ids, response ids) pairs from ``sources``, fitting ``codec`` first if ``fit``."""
    if sources and all(_is_pairs_file(s) for s in sources):
        rows = read_jsonl(sources, ("call",))
        if any("response" not in r for r in rows):
            raise CorpusError("every JSONL example needs \"call\" and \"response\"")
        if fit:
            codec.fit([r[k] for r in rows for k in ("call", "response")])
        return [(codec.encode(r["call"]), codec.encode(r["response"])) for r in rows]
    corpus = corpora.load(sources, codec, documents=True, unit=unit, **(named_options or {}))
    if fit:
        codec.fit(corpus.items)
    encoded = [codec.encode(item) for item in corpus.items]
    if opts.phrase_len:
        n = opts.phrase_len
        pairs = [(ids[i: i + n], ids[i + n: i + 2 * n]) for ids in encoded
                 for i in range(0, len(ids) - 2 * n + 1, n)]
    else:
        pairs = list(zip(encoded, encoded[1:]))
    pairs = [(a, b) for a, b in pairs if a and b]
    if len(pairs) < 2:
        raise CorpusError(f"the corpus gives {len(pairs)} call/response pair(s); need more "
                          "documents (or a smaller phrase_len)")
    return pairs


def _is_pairs_file(path: str) -> bool:
    """A JSONL whose first line has a "call" (other JSONL, e.g. melodies, is a corpus)."""
    p = Path(path)
    if p.suffix != ".jsonl" or not p.is_file():
        return False
    with p.open(encoding="utf-8", errors="replace") as f:
        first = next((line for line in f if line.strip()), "")
    try:
        return isinstance(obj := json.loads(first), dict) and "call" in obj
    except json.JSONDecodeError:
        return False


class Seq2SeqTask(ExampleTask):
    name = "seq2seq"

    def __init__(self, pairs: Sequence[Pair], codec: Codec, corpus: dict[str, Any],
                 model_cfg: ModelConfig, train_cfg: TrainConfig, options: TaskOptions):
        self.cfg, self.corpus = train_cfg, corpus
        L = train_cfg.doc_max_len
        pairs = [(list(a)[:L], list(b)[:L]) for a, b in pairs]
        self.n_pairs, self.digest = len(pairs), digest_of(pairs)
        self.train, self.val = split_examples(pairs, train_cfg.val_fraction)
        self.model_cfg = dataclasses.replace(model_cfg, vocab_size=codec.vocab_size,
                                             output_size=codec.vocab_size)
        self.model = Seq2Seq(self.model_cfg, options.bidirectional)
        self.bos, self.eos = codec.vocab.bos, codec.vocab.eos

    def collate(self, chunk: Sequence[Pair]):
        x, lengths = pad_sequences([a for a, _ in chunk])
        y_prev, _ = pad_sequences([[self.bos] + b for _, b in chunk])  # teacher forcing
        y, _ = pad_sequences([b + [self.eos] for _, b in chunk], IGNORE)
        return x, lengths, y_prev, y

    @staticmethod
    def sizes(pairs: Sequence[Pair]) -> list[int]:
        return [len(b) + 1 for _, b in pairs]  # the response and its end token

    def targets(self, pair: Pair) -> list[int]:
        return [*pair[1], self.eos]

    def forward(self, net, batch, state):
        x, lengths, y_prev, y = on_device(batch.tensors, net)
        logits = net(x, lengths, y_prev)
        return logits.reshape(-1, logits.size(-1)), y.reshape(-1), None

    def describe(self) -> dict[str, Any]:
        return {"corpus": self.corpus, "pairs": self.n_pairs, "corpus_digest": self.digest}


def new_task(sources: list[str], codec: Codec, model_cfg: ModelConfig, train_cfg: TrainConfig,
             options: TaskOptions, unit: str = "line", named_options: dict | None = None,
             pairs: Sequence[Pair] | None = None, **_: Any
             ) -> tuple[Seq2SeqTask, list]:
    if pairs is None:
        sources = [str(s) for s in sources or []]
        pairs = make_pairs(sources, codec, options, unit, named_options)
        corpus = {"sources": sources, "unit": unit, "named_options": named_options or {}}
    else:  # ready ids for a fitted codec: kept with the run so it can resume
        corpus = {"sources": [], "unit": unit, "ids": [[list(a), list(b)] for a, b in pairs]}
    return Seq2SeqTask(pairs, codec, corpus, model_cfg, train_cfg, options), []  # nothing fitted


def task_from_run(config: dict[str, Any], codec: Codec, model_cfg: ModelConfig,
                  train_cfg: TrainConfig, options: TaskOptions) -> Seq2SeqTask:
    corpus = config["corpus"]
    if "ids" in corpus:
        pairs = [(a, b) for a, b in corpus["ids"]]
    else:
        pairs = make_pairs(corpus["sources"], codec, options, corpus.get("unit", "line"),
                           corpus.get("named_options"), fit=False)
    return Seq2SeqTask(pairs, codec, corpus, model_cfg, train_cfg, options)
