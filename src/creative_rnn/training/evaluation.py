"""The one evaluator: validation loss (and accuracy) of a task's model, used by the trainer
at every evaluation and by ``creative-rnn evaluate``, so both print the same number for the
same weights. Also the sample table and the codec's quality rows of a language model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import corpora, rundir
from ..core.device import autocast_for, resolve_device
from ..data.store import IGNORE
from ..errors import CheckpointError
from ..sampling.generator import Generator, load
from .task import Task
from .tasks import configs, task_from_run


@torch.no_grad()
def validate(task: Task, model: torch.nn.Module, autocast) -> dict[str, float]:
    """Mean cross-entropy (nats per target) over the task's validation batches, the hidden
    state carried through streams; and the argmax accuracy where the task reports it."""
    was_training = model.training
    model.eval()
    total, right, count, state = 0.0, 0, 0, None
    for batch in task.val_batches():
        with autocast:
            logits, y, state = task.forward(model, batch, state)
        logits = logits.float()
        total += F.cross_entropy(logits, y, ignore_index=IGNORE, reduction="sum").item()
        keep = y != IGNORE
        count += int(keep.sum())
        if task.reports_accuracy:
            right += int((logits.argmax(-1)[keep] == y[keep]).sum())
    model.train(was_training)
    figures = {"val_loss": total / max(count, 1)}
    if task.reports_accuracy:
        figures["val_accuracy"] = right / max(count, 1)
    return figures


def validation_figures(run_dir: str | Path, last: bool = False, device: str = "cpu"
                       ) -> tuple[dict[str, float], Task, dict[str, Any]]:
    """The evaluator on a saved run's weights (best unless ``last``), in the precision the
    run trained in; also the task and config, for callers that go on to sample."""
    run = Path(run_dir)
    if not (run / rundir.CONFIG).exists():
        raise CheckpointError(f"{run_dir} is not a run directory (no {rundir.CONFIG})")
    config = rundir.read_config(run)
    _, train_cfg, _ = configs(run, config)
    task = task_from_run(run, config)
    weights = rundir.weights_path(run, last)
    config["weights"] = {"path": str(weights), **rundir.load_weights(task.model, weights)}
    dev = resolve_device(device)
    task.model.to(dev)
    return validate(task, task.model, autocast_for(dev, train_cfg.precision)), task, config


def validation_loss(run_dir: str | Path, last: bool = False) -> float:
    """Cross-entropy (nats/token) of the run's weights on its validation split."""
    return validation_figures(run_dir, last)[0]["val_loss"]


def sample_table(gen: Generator, num: int = 20, length: int = 500, seed: int = 1
                 ) -> dict[str, Any]:
    """Statistics of ``num`` samples: mean length in tokens, share that ended by themselves
    (documents mode) and share of distinct token bigrams (low means repetitive loops)."""
    eos = gen.codec.vocab.eos
    seqs: list[list[int]] = [[] for _ in range(num)]
    for step in gen.generate_ids(length=length, num=num, seed=seed, temperature=1.0):
        for i, t in step:
            seqs[i].append(t)
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
    generated = gen.codec.quality(samples, reference=corpus)
    if not generated:
        return {}
    return {"generated": generated, "corpus": gen.codec.quality(corpus, reference=corpus)}


def evaluate(run_dir: str | Path, num: int = 20, last: bool = False,
             constraints: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validation loss per token (the number the training log printed for these weights);
    for language models also a table about samples and the codec's quality rows."""
    figures, task, config = validation_figures(run_dir, last)
    loss = figures.pop("val_loss")
    row: dict[str, Any] = {"val_loss": loss, "perplexity": math.exp(loss),
                           "bits_per_token": loss / math.log(2), **figures}
    if task.name != "lm" or task.codec.output_size != task.codec.vocab_size:
        row["quality"] = {}  # answers need a call (respond) or a lead (perform)
        return row
    gen = Generator(task.model.eval(), task.codec, config, "cpu")
    row.update(sample_table(gen, num=num))
    row["quality"] = quality_rows(gen, num=num, constraints=constraints)
    return row


__all__ = ["validate", "evaluate", "validation_loss", "validation_figures", "sample_table",
           "quality_rows"]
