"""The ``evaluate`` report of a language-model run: the validation loss (training's own
evaluator, so the number is the one the training log printed), then tables about samples
beside the same measures on held-out material: the sample table, the codec's quality rows,
the copy meter's rows (novelty/), and for music the field's measures (music_metrics.py).

It reads a run with sampling/ and measures copies with novelty/, so it sits above training/
(layer 6): training never imports sampling or novelty."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import corpora
from ..errors import UserError
from ..novelty import check_max_copy, novelty_rows
from ..sampling.generator import Generator, load
from ..training.evaluation import validation_figures
from ..training.task import Task
from . import music_metrics

# Pieces of the training corpus the reference row of the quality table reads (a seeded
# sample): its figures are an estimate, and a whole corpus made evaluate slow (the 3,041
# Irish tunes were tokenised three times over: 30 of an `evaluate --num 2`'s 37 s)
REFERENCE_MAX = 500


def sample_ids(gen: Generator, num: int = 20, length: int = 500, seed: int = 1,
               **options: Any) -> list[list[int]]:
    """The new ids of ``num`` samples at temperature 1 (the model's own distribution)."""
    seqs: list[list[int]] = [[] for _ in range(num)]
    for step in gen.generate_ids(length=length, num=num, seed=seed, temperature=1.0,
                                 **options):
        for i, t in step:
            seqs[i].append(t)
    return seqs


def sample_table(gen: Generator, num: int = 20, length: int = 500, seed: int = 1,
                 seqs: list[list[int]] | None = None) -> dict[str, Any]:
    """Statistics of ``num`` samples: mean length in tokens, share that ended by themselves
    (documents mode) and share of distinct token bigrams (low means repetitive loops).
    ``seqs``: samples already drawn (``sample_ids``)."""
    eos = gen.codec.vocab.eos
    if seqs is None:
        seqs = sample_ids(gen, num, length, seed)
    num = len(seqs)
    ended = sum(1 for s in seqs if s and s[-1] == eos)
    bigrams = [tuple(s[j: j + 2]) for s in seqs for j in range(len(s) - 1)]
    return {
        "samples": num,
        "mean_length": sum(len(s) for s in seqs) / num,
        "ended_by_themselves": ended / num if gen.documents else None,
        "distinct_bigrams": len(set(bigrams)) / max(len(bigrams), 1),
    }


def quality_rows(gen: Generator | str | Path, num: int = 20, length: int = 500, seed: int = 1,
                 constraints: dict[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """The codec's domain figures for ``num`` samples, and for the training corpus itself
    as the reference row. Empty for codecs without domain figures (plain text).
    ``gen``: a Generator or a run directory (its best weights).
    ``constraints`` go to the codec's sampling constraints (ABC: ``complete_bars``)."""
    if not isinstance(gen, Generator):
        gen = load(gen, device="cpu")
    samples = gen.generate(length=length, num=num, seed=seed, temperature=1.0,
                           constraints=constraints)
    spec = gen.config["corpus"]
    corpus = corpora.load(spec["sources"], gen.codec, documents=spec["documents"],
                          unit=spec["unit"], **spec.get("named_options", {})).items
    if len(corpus) > REFERENCE_MAX:  # the same pieces every time
        corpus = random.Random(0).sample(list(corpus), REFERENCE_MAX)
    generated = gen.codec.quality(samples, reference=corpus)
    if not generated:
        return {}
    return {"generated": generated, "corpus": gen.codec.quality(corpus, reference=corpus)}


def validation_pieces(task: Task, num: int, length: int) -> list[list[int]]:
    """Up to ``num`` pieces of the held-out validation split, shaped like samples: streams
    cut into ``length``-token pieces, documents without their start token."""
    split = task.val_split
    if split.stream is not None:
        stream = split.stream
        return [stream[i: i + length].tolist() for i in range(0, len(stream), length)][:num]
    return [d[1:].tolist() for d in split.docs[:num]]


@torch.no_grad()
def sample_loss(gen: Generator, seqs: list[list[int]]) -> float:
    """Mean cross-entropy (nats per token) the model gives the tokens of ``seqs``, each fed
    after the generator's empty prime: how likely the model finds what was sampled."""
    total, count = 0.0, 0
    for seq in seqs:
        if not seq:
            continue
        ids = torch.tensor([gen.prime_ids("") + list(seq)])
        logits, _ = gen.model(ids[:, :-1], None)
        target = ids[:, 1:]
        keep = len(seq)  # the prime's own tokens are not scored
        total += F.cross_entropy(logits[0, -keep:].float(), target[0, -keep:],
                                 reduction="sum").item()
        count += keep
    return total / max(count, 1)


def novelty_table(gen: Generator, task: Task, free: list[list[int]], num: int, length: int,
                  max_copy: int | None = None, seed: int = 1) -> dict[str, dict[str, float]]:
    """The copy meter's rows: free samples, samples under ``max_copy`` (when given), and
    the held-out validation text as the reference (what real unseen material scores). Each
    row also has the model's loss on its tokens, so what the constraint costs is beside it."""
    length = max(1, length)
    # "sampled", not "generated": the quality table above already has a "generated" row
    rows = {"sampled": {**novelty_rows(gen, free), "model_loss": sample_loss(gen, free)}}
    if max_copy is not None:
        held = sample_ids(gen, num, length, seed, max_copy=max_copy)
        rows[f"max_copy={max_copy}"] = {**novelty_rows(gen, held),
                                        "model_loss": sample_loss(gen, held)}
    val = validation_pieces(task, num, length)
    rows["validation"] = {**novelty_rows(gen, val), "model_loss": sample_loss(gen, val)}
    return rows


def parent_novelty_table(gen: Generator, task: Task, free: list[list[int]], num: int,
                         length: int) -> dict[str, dict[str, float]]:
    """The copy meter against the parent's training corpus, for a fine-tuned run: the free
    samples, and the new corpus's held-out text as the reference (what new material shares
    with the parent's corpus by itself)."""
    val = validation_pieces(task, num, max(1, length))
    return {"sampled": novelty_rows(gen, free, against="parent"),
            "validation": novelty_rows(gen, val, against="parent")}


def music_table(gen: Generator, task: Task, free: list[list[int]], num: int, length: int
                ) -> dict[str, Any]:
    """MusPy's measures of the samples and of the held-out validation material (the
    reference row), and mgeval's relative comparison of the two (music_metrics.py)."""
    codec = gen.codec
    if not codec.is_music:
        return {}
    beat_s = 60.0 / float(codec.options.get("bpm", 120))  # codecs without a tempo: 120 bpm

    def notes(ids: list[int]) -> list:
        try:
            return codec.notes(codec.decode(ids)) or []
        except UserError:  # a sample music21 cannot read (ABC): no notes; parse_share counts it
            return []

    def pieces(seqs: list[list[int]]) -> list:
        return [music_metrics.to_grid(notes(s), beat_s) for s in seqs]
    generated, reference = pieces(free), pieces(validation_pieces(task, num, length))
    return {"measures": {"sampled": music_metrics.mean_measures(generated),
                         "validation": music_metrics.mean_measures(reference)},
            "relative": music_metrics.relative(generated, reference)}


def evaluate(run_dir: str | Path, num: int = 20, last: bool = False,
             constraints: dict[str, Any] | None = None, max_copy: int | None = None,
             length: int = 500, parent_copies: bool = True) -> dict[str, Any]:
    """Validation loss per token (the number the training log printed for these weights);
    for language models also a table about samples, the codec's quality rows, the copy
    meter's rows (``novelty``), for a fine-tuned run the meter against its parent's corpus
    (``parent_novelty``, unless ``parent_copies`` is False) and, for music, the field's
    measures (``music``)."""
    if max_copy is not None:
        check_max_copy(max_copy)
    figures, task, config = validation_figures(run_dir, last)
    loss = figures.pop("val_loss")
    row: dict[str, Any] = {"val_loss": loss, "perplexity": math.exp(loss),
                           "bits_per_token": loss / math.log(2), **figures}
    if task.name != "lm" or task.codec.output_size != task.codec.vocab_size:
        row["quality"], row["novelty"], row["music"] = {}, {}, {}  # answers need a call
        row["parent_novelty"] = {}
        return row  # (respond) or a lead (perform)
    gen = Generator(task.model.eval(), task.codec, config, "cpu")
    free = sample_ids(gen, num, length)
    row.update(sample_table(gen, seqs=free))
    row["quality"] = quality_rows(gen, num=num, constraints=constraints)
    try:
        row["novelty"] = novelty_table(gen, task, free, num, length, max_copy)
    except UserError as e:  # the loss above stands; the meter says why it cannot compare
        if max_copy is not None:
            raise
        row["novelty"] = {"not measured": {"reason": str(e)}}
    row["parent_novelty"] = {}
    if parent_copies and isinstance(config.get("parent"), dict):  # fine-tuned (train --from)
        try:
            row["parent_novelty"] = parent_novelty_table(gen, task, free, num, length)
        except UserError as e:  # the parent's corpus is gone: said, the rest stands
            row["parent_novelty"] = {"not measured": {"reason": str(e)}}
    row["music"] = music_table(gen, task, free, num, length)
    return row


__all__ = ["evaluate", "sample_table", "sample_ids", "quality_rows", "novelty_table",
           "parent_novelty_table", "music_table", "sample_loss", "validation_pieces"]
