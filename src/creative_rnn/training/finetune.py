"""Fine-tuning: a new run that starts from a trained run (a starter by name, or any run).

``train(corpus, out=..., init_from=NAME_OR_RUN)`` (``--from`` on the command line) takes
from the parent:

- its model config (cell, layers, widths): a key the user sets that contradicts it is
  refused, since the weights could not be loaded into another shape;
- its codec, options and vocabulary. Where the new corpus has symbols the parent never saw
  (the char, word and abc codecs fit their vocabulary to a corpus), the vocabulary grows:
  new ids come after the parent's, so every old token keeps its id and its rows, and the
  embedding and the head get one new row each (``grown_weights``). Fixed-vocabulary codecs
  (melody, performance, ensemble) fit to the same symbols: nothing grows, and a symbol
  outside them is the codec's usual error;
- its best weights (``rundir.weights_path``);
- the training keys that describe how its batches were made (batch, window, documents,
  regularisation, precision).

The learning rate, warm-up, step budget and early stopping are fitted to fine-tuning where
the user sets none of them (``fit_budget``), and said in the run's first lines. What the
parent gives and what is fitted reach the run's config as layers of the one resolver
(``config_layers.resolve_layers``), so each value's source is recorded with it. The new run
records its parent in config.json under ``"parent"`` (``Parent.record``); otherwise it is an
ordinary run directory: resume, evaluate, sample, the studio and perform read it as any run.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import codecs, rundir, starters
from ..codecs import NUM_SPECIAL
from ..config import ModelConfig, TrainConfig
from ..config_layers import Layer, Resolved
from ..core.tensors import load_tensors
from ..data.cache import prepare as prepare_store
from ..errors import CheckpointError, ConfigError, UserError
from .tasks import configs

# the model keys a parent fixes: its weights have these shapes (and forget_bias only sets an
# initialisation the parent's weights replace); dropout and weight_drop may change
FIXED_BY_PARENT = ("cell", "num_layers", "hidden_size", "embedding_size", "forget_bias")
# training keys that say how the parent's batches were made: the fine-tune keeps them unless
# set (a small corpus still shrinks the batch, lm.fit_shapes)
INHERITED = ("batch_size", "seq_len", "documents", "doc_max_len", "weight_decay", "grad_clip",
             "ema", "min_lr_ratio", "precision")
# fine-tuning moves trained weights a little: a fifth of the parent's peak learning rate
# (ULMFiT and the BERT recipes fine-tune at a few times below pre-training's rate)
LR_SCALE = 0.2
PASSES = 4  # passes over the new corpus the step budget aims at ...
MIN_STEPS, MAX_STEPS = 100, 3000  # ... never fewer (a poem is one batch) nor more steps
EVALS = 20  # evaluations over the budget: early stopping needs a fine grain ...
MIN_EVERY = 5  # ... but not every step of a short run (each reads the validation split)
PATIENCE = 4  # evaluations without improvement before stopping: fine-tunes overfit fast
MAX_WARMUP = 50  # a short warm-up: AdamW's moments start at zero even from trained weights


@dataclass
class Parent:
    """A trained language-model run to start from, checked and read."""

    given: str  # as the user gave it (a starter's name, or a path)
    name: str | None  # the starter's name, or None for a run folder
    run: Path
    config: dict[str, Any]
    codec: codecs.Codec
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    weights: dict[str, torch.Tensor]
    step: int | None
    sha256: str

    def record(self) -> dict[str, Any]:
        """What the new run's config.json keeps under ``"parent"`` (read by the copy meter
        against the parent and the library)."""
        # a run folder by its absolute path: a relative one would not be found from elsewhere
        path = self.given if self.name else str(self.run.resolve())
        return {"name": self.name, "path": path, "weights_sha256": self.sha256,
                "step": self.step, "codec": self.codec.name,
                "corpus": self.config.get("corpus")}

    def describe(self) -> str:
        return f"the starter {self.name}" if self.name else str(self.run)


def open_parent(given: str | Path, task: str = "lm") -> Parent:
    """The run ``given`` names (a starter's name or a run folder), checked before any work:
    it exists, is a language model, and its config fits its weights."""
    if task != "lm":
        raise UserError(f"--from fine-tunes language models only, not a {task} run; drop "
                        "--from or --task")
    run = rundir.locate(given)
    if not run.is_dir():
        known = ", ".join(starters.names()) or "none installed"
        raise CheckpointError(f"--from {given}: no run folder or starter model of that name; "
                              f"give a run directory or a starter ({known})")
    config = rundir.read_config(run)
    kind = rundir.task_of(config)
    if kind != "lm":
        raise UserError(f"--from {given} is a {kind} run; fine-tuning starts from a "
                        "language-model run (a starter, or a run trained with --task lm)")
    _, codec, model_cfg, _, path = rundir.read_run(run, "lm")
    if not path.is_file():
        raise CheckpointError(f"--from {given}: {run} has no weights yet (it stopped before "
                              "its first checkpoint); train it first or choose another run")
    rundir.check_fits(rundir.model_builder(config, model_cfg, rundir.task_options(run, config)),
                      model_cfg, path)
    weights, meta = load_tensors(path)
    rundir.check_finite(weights, path)
    _, train_cfg, _ = configs(run, config)
    name = run.name if starters.is_starter(run) else None
    step = meta.get("step") if isinstance(meta.get("step"), int) else None
    return Parent(str(given), name, run, config, codec, model_cfg, train_cfg, weights, step,
                  hashlib.sha256(path.read_bytes()).hexdigest())


def check_codec(parent: Parent, codec: str | codecs.Codec | None) -> None:
    """A ``--codec`` the user gave must be the parent's (and its options, where given)."""
    if codec is None:
        return
    name = codec if isinstance(codec, str) else codec.name
    if name != parent.codec.name:
        raise UserError(f"--from {parent.given} was trained with the {parent.codec.name} codec, "
                        f"not {name}; drop --codec (a fine-tune keeps its parent's codec)")
    if not isinstance(codec, str):
        differ = sorted(k for k, v in codec.options.items()
                        if k not in codec.file_options and parent.codec.options.get(k) != v)
        if differ:
            shown = ", ".join(f"{k}={parent.codec.options.get(k)!r}" for k in differ)
            raise UserError(f"--from {parent.given} reads its corpus with {shown}; a fine-tune "
                            "keeps its parent's codec options: drop --codec-opt")


def parent_codec(parent: Parent, encoding: str, max_vocab: int | None) -> codecs.Codec:
    """A copy of the parent's codec, reading the new corpus with the user's file options."""
    codec = codecs.from_json(parent.codec.to_json())
    for key, value in (("encoding", encoding), ("max_vocab", max_vocab)):
        if key in codec.file_options and value is not None:
            codec.options[key] = value
    return codec


def inherited(parent: Parent, resolved: Resolved) -> Layer:
    """What the fine-tune takes from its parent, where the user set none of it: the model
    config (a shape key the user set to another value is refused) and the way of batching
    (``INHERITED``)."""
    pinned = resolved.pinned
    for key in FIXED_BY_PARENT:
        mine, theirs = getattr(resolved.model, key), getattr(parent.model_cfg, key)
        if key in pinned and mine != theirs:
            raise ConfigError(f"{key}={mine!r} contradicts --from {parent.given} ({key}="
                              f"{theirs!r}): a fine-tune keeps its parent's shape; drop "
                              f"--set {key}")
    model_keys = [f.name for f in dataclasses.fields(ModelConfig)
                  if f.name not in ("vocab_size", "output_size")]  # those are the codec's
    values = {k: getattr(parent.model_cfg, k) for k in model_keys if k not in pinned}
    values.update({k: getattr(parent.train_cfg, k) for k in INHERITED if k not in pinned})
    why = {k: "its shape" if k in FIXED_BY_PARENT else
           "its batches" if k in ("batch_size", "seq_len", "documents", "doc_max_len") else
           "how it was trained" for k in values}
    return Layer(f"fine-tuning from {parent.describe()}", values, "fitted", why)


def grow(codec: codecs.Codec, spec: dict[str, Any]) -> list[str]:
    """Grow ``codec``'s vocabulary by the symbols of the corpus ``spec`` it lacks (appended
    after its own, in the order a fresh fit gives them); return them. The corpus is fitted by
    a fresh copy of the codec, so each codec's own rule decides what is a symbol (the word
    codec keeps its ``max_vocab`` most frequent words, as a run from scratch would)."""
    fresh = codecs.get(codec.name, **codec.options)
    prepare_store(spec, fresh, fit=True)
    return codec.grow(fresh)


def grown_weights(weights: dict[str, torch.Tensor], vocab_size: int, output_size: int
                  ) -> dict[str, torch.Tensor]:
    """The parent's weights with rows for the ids ``vocab_size`` (and ``output_size``) add.

    Old ids keep their rows exactly. A new symbol's embedding is the mean of the parent's
    real tokens' embeddings (an input like an average token, not noise the recurrent layers
    never saw); its head row is the mean head row, and its bias the parent's lowest, so it
    starts as rare as the rarest symbol the parent knows and learns from there."""
    out = dict(weights)
    emb = weights["embedding.weight"]
    out["embedding.weight"] = _append_rows(emb, vocab_size, lambda real: real.mean(0))
    w, b = weights["head.weight"], weights["head.bias"]
    out["head.weight"] = _append_rows(w, output_size, lambda real: real.mean(0))
    out["head.bias"] = _append_rows(b, output_size, lambda real: real.min())
    return out


def _append_rows(t: torch.Tensor, size: int, row: Callable[[torch.Tensor], torch.Tensor]
                 ) -> torch.Tensor:
    extra = size - t.size(0)
    if extra <= 0:
        return t
    real = t[NUM_SPECIAL:] if t.size(0) > NUM_SPECIAL else t
    new = row(real).to(t.dtype).expand(extra, *t.shape[1:])
    return torch.cat([t, new])


def load_parent(model: torch.nn.Module, parent: Parent) -> None:
    """Load the parent's weights into the fine-tune's ``model`` (grown where its vocabulary
    grew)."""
    cfg = model.config
    model.load_state_dict(grown_weights(parent.weights, cfg.vocab_size,
                                        cfg.output_size or cfg.vocab_size))


def fit_budget(parent: Parent, train_cfg: TrainConfig, pinned: set[str], units: int,
               per_step: int, unit: str) -> Layer:
    """Learning rate, warm-up, steps, evaluation and early stopping fitted to fine-tuning on
    ``units`` training tokens (or documents) read ``per_step`` a step; only keys not in
    ``pinned``. Returns them as a layer for the resolver, each with why."""
    per_pass = max(1, units // max(1, per_step))
    steps = min(MAX_STEPS, max(MIN_STEPS, PASSES * per_pass))
    if "max_steps" in pinned:  # the user's budget (or a time budget) decides the end
        steps = min(train_cfg.max_steps, steps)
    every = max(MIN_EVERY, steps // EVALS)
    fitted = {"lr": parent.train_cfg.lr * LR_SCALE,
              "warmup_steps": max(1, min(MAX_WARMUP, steps // 20)),
              "max_steps": steps, "eval_every": every, "patience": PATIENCE,
              "checkpoint_every": every * 5, "log_every": max(1, min(10, every))}
    warmup = fitted["warmup_steps"]
    why = {
        "lr": f"lr {fitted['lr']:.3g}: {LR_SCALE:g} x the parent's {parent.train_cfg.lr:.3g}, "
              "small steps keep what it learned",
        "warmup_steps": f"warm-up {warmup} step{'s' if warmup != 1 else ''}",
        "max_steps": f"{steps} steps: about {PASSES} passes over {units:,} training "
                     f"{unit} at {per_step:,} a step (at least {MIN_STEPS}, at most "
                     f"{MAX_STEPS})",
        "eval_every": f"validation every {every} steps",
        "patience": f"stop early after {PATIENCE} evaluations without improvement",
        "checkpoint_every": f"a checkpoint every 5 validations ({every * 5} steps)",
        "log_every": "a log line every validation, at most every 10 steps",
    }
    fitted = {k: v for k, v in fitted.items() if k not in pinned}
    return Layer("fitted to fine-tuning", fitted, "fitted", {k: why[k] for k in fitted})


def budget_units(task: Any, train_cfg: TrainConfig) -> tuple[int, int, str]:
    """(training units, units a step, their name) of a language-model task: tokens of a
    stream, or documents."""
    split = task.train_split
    if split.stream is not None:
        return len(split.stream), train_cfg.batch_size * train_cfg.seq_len, "tokens"
    return len(split.docs), train_cfg.batch_size, "documents"


def begin(parent: Parent, task: Any, resolved: Resolved, added: list[str],
          log: Callable[[str], None]) -> Layer:
    """Start the fine-tune ``task`` (its corpus encoded with the grown vocabulary): fit the
    budget, say what was fitted, load the parent's weights into the task's model. Returns the
    budget as a layer for the resolver."""
    log(summary(parent, added, task.codec.vocab_size))
    units, per_step, unit = budget_units(task, resolved.train)
    budget = fit_budget(parent, resolved.train, resolved.pinned, units, per_step, unit)
    # the lines that say what matters (the checkpoint and log intervals follow from them)
    said = [budget.why[k] for k in ("lr", "warmup_steps", "max_steps", "eval_every", "patience")
            if k in budget.values]
    if said:
        log("fitted to fine-tuning: " + "; ".join(said))
    load_parent(task.model, parent)
    return budget


def summary(parent: Parent, added: list[str], vocab_size: int) -> str:
    """The first line of a fine-tune: where it starts, and the vocabulary's growth."""
    step = f", step {parent.step}" if parent.step is not None else ""
    line = f"fine-tuning from {parent.describe()} ({parent.codec.name} codec{step})"
    if added:
        shown = " ".join(repr(t) for t in added[:10]) + (" ..." if len(added) > 10 else "")
        line += (f"; vocabulary grown by {len(added)} new symbol(s) to {vocabulary(vocab_size)}"
                 f": {shown}")
    return line


def vocabulary(size: int) -> str:
    return f"{size - NUM_SPECIAL} (+{NUM_SPECIAL} special)"
