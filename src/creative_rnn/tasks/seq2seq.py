"""The seq2seq task: phrase -> answering phrase with an encoder–decoder.

Pairs come from a JSONL of ``{"call": ITEM, "response": ITEM}`` lines, or from any corpus
the codec reads: consecutive documents (``--unit line``: consecutive lines; ``--unit
paragraph``: one Shakespeare speech and the reply to it) or, with ``--set phrase_len=N``,
consecutive N-token phrases of each item (16 steps = one bar of sixteenth notes).

``Responder`` answers a call with the generator's strategies (temperature, top-k, top-p,
greedy, all from ``sampling.py``) or with beam search.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import corpora, sampling
from ..config import SampleConfig
from ..data import IGNORE
from ..errors import CorpusError, SamplingError
from ..models.seq2seq import Seq2Seq
from ..train import RunResult
from .common import (
    TaskOptions,
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

Pair = tuple[list[int], list[int]]


def make_pairs(sources: Sequence[str], codec, opts: TaskOptions, unit: str = "line",
               named_options: dict | None = None) -> list[Pair]:
    """Fit ``codec`` and return (call ids, response ids) pairs from ``sources``."""
    if sources and all(_is_pairs_file(s) for s in sources):
        rows = read_jsonl(sources, ("call",))
        if any("response" not in r for r in rows):
            raise CorpusError("every JSONL example needs \"call\" and \"response\"")
        codec.fit([r[k] for r in rows for k in ("call", "response")])
        return [(codec.encode(r["call"]), codec.encode(r["response"])) for r in rows]
    corpus = corpora.load(sources, codec, documents=True, unit=unit, **(named_options or {}))
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


def train_seq2seq(corpus: Sequence[str] | None = None, out: str | Path | None = None,
                  codec: Any = "char", preset: str | None = None,
                  config: str | Path | None = None, unit: str = "line",
                  encoding: str = "utf-8", max_vocab: int | None = None,
                  named_options: dict | None = None, progress_bar: bool = True,
                  pairs: Sequence[Pair] | None = None, **overrides: Any) -> RunResult:
    """Train an encoder–decoder into ``out`` from ``corpus`` (or ready ``pairs`` of ids for a
    fitted ``codec``, as the tests' toy tasks do)."""
    model_cfg, train_cfg, opts = resolve_configs(preset, config, overrides)
    seed_run(train_cfg)
    codec = make_codec(codec, encoding, max_vocab)
    if pairs is None:
        pairs = make_pairs([str(s) for s in corpus], codec, opts, unit, named_options)
    L = train_cfg.doc_max_len
    pairs = [(a[:L], b[:L]) for a, b in pairs]
    train, val = split_examples(list(pairs), train_cfg.val_fraction)
    model_cfg = dataclasses.replace(model_cfg, vocab_size=codec.vocab_size,
                                    output_size=codec.vocab_size)
    run = start_run(out, "seq2seq", model_cfg, train_cfg, opts, codec,
                    {"corpus": {"sources": [str(s) for s in corpus or []], "unit": unit},
                     "pairs": len(pairs)})
    model = Seq2Seq(model_cfg, opts.bidirectional)
    bos, eos = codec.vocab.bos, codec.vocab.eos

    def tensors(chunk: Sequence[Pair]):
        x, lengths = pad([a for a, _ in chunk])
        y_prev, _ = pad([[bos] + b for _, b in chunk])  # teacher forcing: shifted right
        y, _ = pad([b + [eos] for _, b in chunk], IGNORE)
        return x, lengths, y_prev, y

    def batch(rng: np.random.Generator):
        return tensors([train[i] for i in rng.integers(0, len(train), train_cfg.batch_size)])

    def loss(m, b):
        x, lengths, y_prev, y = (t.to(next(m.parameters()).device) for t in b)
        logits = m(x, lengths, y_prev)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                               ignore_index=IGNORE), int((y != IGNORE).sum())

    def evaluate(m) -> dict[str, float]:
        def pairs():
            for i in range(0, len(val), train_cfg.batch_size):
                x, lengths, y_prev, y = (t.to(next(m.parameters()).device)
                                         for t in tensors(val[i: i + train_cfg.batch_size]))
                yield m(x, lengths, y_prev).reshape(-1, model_cfg.vocab_size), y.reshape(-1)
        return masked_scores(pairs())

    return fit(run, model, train_cfg, batch, loss, evaluate, progress_bar)


class Responder:
    """A trained seq2seq run: ``respond(call)`` answers with items of the codec."""

    def __init__(self, run_dir: str | Path, device: str = "cpu"):
        self.config, self.codec, model_cfg, opts, weights = read_run(run_dir, "seq2seq")
        self.device = torch.device(device)
        self.model = load_weights(Seq2Seq(model_cfg, opts.bidirectional), weights)
        self.model.to(self.device)
        v = self.codec.vocab
        self.bos, self.eos, self.never = v.bos, v.eos, [v.pad, v.bos, v.unk]

    def _encode(self, call: Any, unknown: str, rows: int):
        ids = self.codec.encode(call, unknown=unknown) if call else []
        if not ids:
            raise SamplingError("the call has no token the model knows; give another --call")
        x, lengths = pad([ids] * rows)
        return self.model.encode(x.to(self.device), lengths)

    @torch.no_grad()
    def respond_ids(self, call: Any, length: int = 100, num: int = 1, beam: int = 0,
                    unknown: str = "error", constraints: dict[str, Any] | None = None,
                    **options: Any) -> list[list[int]]:
        """Token ids of ``num`` answers: sampled (``temperature``, ``top_k``, ``top_p``,
        ``greedy``, ``seed``) or, with ``beam`` > 0, the ``num`` best of a beam search.
        The codec's own constraints (a melody's pitch range, ...) apply to both."""
        domain = self.codec.logits_processors(**(constraints or {}))
        if beam:
            if num > beam:
                raise SamplingError(f"num ({num}) cannot exceed the beam width ({beam})")
            return self._beam(call, length, num, beam, unknown, domain)
        sc = SampleConfig(length=length, num=num, **options)
        sc.validate()
        procs = [sampling.forbid(self.never), *domain]
        if not sc.greedy:
            procs += [sampling.temperature(sc.temperature), sampling.top_k(sc.top_k),
                      sampling.top_p(sc.top_p)]
        seed = sc.seed if sc.seed is not None else int.from_bytes(os.urandom(4), "little")
        gen = torch.Generator(device=self.device).manual_seed(seed)
        state, C = self._encode(call, unknown, num)
        prev = torch.full((num,), self.bos, device=self.device)
        out: list[list[int]] = [[] for _ in range(num)]
        done = torch.zeros(num, dtype=torch.bool, device=self.device)
        for _ in range(length):
            logits, state = self.model.decode(prev.unsqueeze(1), state, C)
            z = logits[:, -1].float()
            for proc in procs:
                z = proc(z, out)
            prev = sampling.choose(z, sc.greedy, gen)
            for i, t in enumerate(prev.tolist()):
                if not done[i] and t != self.eos:
                    out[i].append(t)
            done |= prev == self.eos
            if done.all():
                break
        return out

    def _beam(self, call: Any, length: int, num: int, width: int, unknown: str,
              procs: Sequence = ()) -> list[list[int]]:
        """Beam search: keep the ``width`` most likely partial answers; a finished answer's
        score is its log-probability divided by its length, so short is not favoured."""
        state, C = self._encode(call, unknown, 1)
        beams: list[tuple[float, list[int]]] = [(0.0, [])]
        finished: list[tuple[float, list[int]]] = []
        prev = torch.tensor([self.bos], device=self.device)
        for _ in range(length):
            logits, state = self.model.decode(prev.unsqueeze(1), state, C.expand(len(beams), -1))
            z = logits[:, -1].float()
            for proc in procs:
                z = proc(z, [seq for _, seq in beams])
            logp = z.log_softmax(-1)
            logp[:, self.never] = float("-inf")
            scores = torch.tensor([s for s, _ in beams], device=self.device).unsqueeze(1) + logp
            top = scores.view(-1).topk(min(width, scores.numel()))
            V = logp.size(1)
            keep_rows, nxt, new = [], [], []
            for value, flat in zip(top.values.tolist(), top.indices.tolist()):
                row, tok = divmod(flat, V)
                seq = beams[row][1]
                if tok == self.eos:
                    finished.append((value / (len(seq) + 1), seq))
                else:
                    keep_rows.append(row)
                    nxt.append(tok)
                    new.append((value, seq + [tok]))
            beams = new
            if not new or len(finished) >= width:
                break
            state = self.model.select(state, torch.tensor(keep_rows, device=self.device))
            prev = torch.tensor(nxt, device=self.device)
        finished += [(s / (len(seq) + 1), seq) for s, seq in beams]
        finished.sort(key=lambda p: -p[0])
        return [seq for _, seq in finished[:num]]

    def respond(self, call: Any, **options: Any) -> list[Any]:
        """``num`` answers to ``call`` as codec items (e.g. strings)."""
        return [self.codec.decode(ids) for ids in self.respond_ids(call, **options)]
