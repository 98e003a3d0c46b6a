"""Training entry point: corpus -> task -> Trainer -> run directory, for every task.

``train`` starts a run or resumes one (any task: language model, classify, seq2seq). The
loop itself is in ``loop.py``; the tasks are ``lm.py``, ``classify.py``, ``seq2seq.py``.

A new run's config is resolved by ``config_layers.resolve_layers`` alone: what the user gives
(preset, file, ``--set`` and flags), what the codec declares, and what is fitted (to the
machine, fit.py; to the corpus, lm.fit_shapes; to the parent and the budget of a fine-tune,
finetune.py) are layers of it, and the run records every key's source (``creative-rnn config
RUN``).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from pathlib import Path
from typing import Any

from .. import codecs, rundir, starters
from ..config import TaskOptions, split_task_options, to_dict
from ..config_layers import Layer, Resolved, given_layers, resolve_layers
from ..core.device import resolve_device
from ..errors import CheckpointError, UserError
from . import distributed, finetune
from .fit import fit
from .lm import corpus_spec
from .loop import RunResult, Trainer
from .rng import seed_everything
from .tasks import configs, new_task, task_from_run
from .verdict import small_corpus_note

UNLIMITED_STEPS = 10**9
RESUMABLE = ("max_minutes", "max_steps")  # what a resume may change: the budget


def train(corpus: str | list[str] | None = None, out: str | Path | None = None,
          codec: str | codecs.Codec | None = None, preset: str | None = None,
          config: str | Path | None = None, resume: str | Path | None = None,
          documents: bool | None = None, unit: str = "line", encoding: str = "utf-8",
          max_vocab: int | None = None, named_options: dict | None = None,
          progress_bar: bool = True, stop: threading.Event | None = None, task: str = "lm",
          pairs: list | None = None, init_from: str | Path | None = None,
          override_sources: dict[str, str] | None = None, **overrides: Any) -> RunResult:
    """Train a new run of ``task`` into ``out``, or continue ``resume`` in place.

    ``overrides`` are config keys (``hidden_size=128``, ``max_steps=500``, ...): they win over
    the file and the preset. On resume only ``max_steps``/``max_minutes`` may change.
    Setting ``stop`` (from another thread) ends the run after the current step, saved.
    ``pairs``: ready (call ids, response ids) for seq2seq with a fitted ``codec``.
    ``codec``: a name or a codec; None is char, or the parent's codec when fine-tuning.
    ``init_from``: a starter's name or a run directory to fine-tune (finetune.py): the new
    run starts from its best weights, codec (vocabulary grown by the corpus's new symbols)
    and model config, with a learning rate and budget fitted to fine-tuning.
    ``override_sources``: where each override (and ``documents``) came from, as the run's
    recorded provenance says it ("--set", "flag --max-steps"); by default "train(KEY=...)".
    """
    if resume is not None:
        if init_from is not None:
            raise UserError("--from starts a new run and --resume continues one (a resumed "
                            "fine-tune keeps its parent); give only one of them")
        return _resume(Path(resume), progress_bar, stop, override_sources or {}, **overrides)
    if (corpus is None and pairs is None) or out is None:
        raise UserError("train needs a corpus and --out RUN (or --resume RUN)")
    out = Path(out)
    if distributed.is_main():  # before any work; the other ranks would see rank 0's files
        rundir.check_new(out)
    parent = None
    if init_from is not None:  # every refusal before any work (nothing written)
        parent = finetune.open_parent(init_from, task)
        finetune.check_codec(parent, codec)
        if preset is not None:
            raise UserError(f"--from {init_from} gives the model its size; drop --preset "
                            "(training keys go in --set)")
        codec = finetune.parent_codec(parent, encoding, max_vocab)
    said = {k: f"train({k}=...)" for k in [*overrides, "documents"]} | (override_sources or {})
    task_said = {k: said[k] for k in dataclasses.asdict(TaskOptions()) if k in overrides}
    overrides, options = split_task_options(task, overrides)
    if codec is None or isinstance(codec, str):
        codec = codecs.for_files(codec or "char", encoding=encoding, max_vocab=max_vocab)
    if task == "lm" and documents is not None:
        overrides["documents"] = documents
    layers = given_layers(preset, config, overrides, said)
    if task == "lm" and codec.documents:  # the codec's items are whole (ABC tunes)
        layers.append(Layer(f"the {codec.name} codec: its items are whole pieces",
                            {"documents": True}, "codec"))
    resolved = resolve_layers(*layers)
    pinned = resolved.pinned
    if resolved.train.max_minutes and "max_minutes" in pinned and "max_steps" not in pinned:
        resolved = resolved.then(Layer(f"{resolved.sources['max_minutes']}, alone: time "
                                       "decides the end", {"max_steps": UNLIMITED_STEPS}, "user"))
    if parent is not None:  # the parent's shape and way of batching, where not set
        resolved = resolved.then(finetune.inherited(parent, resolved))
    elif task == "lm" and not codec.is_music and distributed.world().size == 1:
        # with --max-minutes on the CPU, the text preset `small` takes a width and batch this
        # machine fits (fit.py); not under torchrun, where every process would measure the same
        resolved = resolved.then(*fit(preset, resolved.model, resolved.train,
                                      resolve_device(resolved.train.device), resolved.pinned,
                                      log=print if progress_bar else lambda line: None))
    model_cfg, train_cfg = resolved.model, resolved.train
    seed_everything(train_cfg.seed)
    sources = [corpus] if isinstance(corpus, (str, Path)) else list(corpus or [])
    added: list[str] = []
    if parent is not None:  # new symbols get ids after the parent's (finetune.grow)
        added = finetune.grow(codec, corpus_spec(sources, train_cfg.documents, unit,
                                                 named_options))
    the_task, fitted = new_task(task, sources, codec, model_cfg, train_cfg, options,
                                unit=unit, named_options=named_options, pairs=pairs,
                                fit=parent is None)
    resolved = resolved.then(*fitted)  # a small corpus: a smaller batch or window
    described = the_task.describe()
    if parent is not None:
        log = print if distributed.is_main() else lambda line: None
        resolved = resolved.then(finetune.begin(parent, the_task, resolved, added, log))
        described["parent"] = parent.record()
    train_cfg = the_task.cfg = resolved.train  # the task reads its batches' shape from it
    distributed.check_batch(train_cfg.batch_size, distributed.world())  # before any write
    # from scratch on a small corpus: said once the run is accepted (a refused one says only
    # its error)
    if task == "lm" and parent is None and distributed.is_main():
        note = small_corpus_note(_corpus_tokens(the_task), codec.name, preset)
        if note:
            print(note, file=sys.stderr)
    if distributed.is_main():  # with many processes (torchrun) rank 0 alone writes the run
        rundir.create(out, {"task": task, "model": to_dict(the_task.model_cfg),
                            "train": to_dict(train_cfg),
                            "task_options": dataclasses.asdict(options),
                            **described, rundir.SOURCES: _sources(resolved, codec, task_said)},
                      codec)
    return Trainer(out, the_task, train_cfg, stop).run(progress_bar)


def _sources(resolved: Resolved, codec: codecs.Codec, task_said: dict[str, str]
             ) -> dict[str, str]:
    """Where each recorded key's value came from: the resolver's sources, the sizes filled in
    from the codec, and the task options (``task_said`` for those the user set)."""
    sizes = dict.fromkeys(("vocab_size", "output_size"), f"filled in from the {codec.name} codec")
    task_keys = {k: task_said.get(k, "default") for k in dataclasses.asdict(TaskOptions())}
    return {**resolved.sources, **sizes, **task_keys}


def _corpus_tokens(task) -> int:
    """A language model's corpus in tokens, both splits (as `creative-rnn corpus` counts)."""
    return sum(len(s.stream) if s.stream is not None else sum(len(d) for d in s.docs)
               for s in (task.train_split, task.val_split))


def _resume(run: Path, progress_bar: bool, stop: threading.Event | None,
            said: dict[str, str], **overrides: Any) -> RunResult:
    shipped = rundir.locate(str(run))  # a starter's name or its folder: never written to
    if starters.is_starter(shipped):
        raise UserError(f"{run} is the shipped starter model {shipped.name!r}, which is never "
                        f"written to; to train it further, fine-tune a copy: --from "
                        f"{shipped.name} --out NEW_RUN")
    if not run.is_dir():
        raise CheckpointError(f"run directory {run} does not exist; check the --resume path")
    config = rundir.read_config(run)
    if set(overrides) - set(RESUMABLE):
        raise UserError(f"on --resume only {', '.join(RESUMABLE)} can change "
                        f"(got {', '.join(sorted(set(overrides) - set(RESUMABLE)))})")
    if not rundir.can_resume(run):
        if rundir.exists(run):  # weights but no resume state: written before tasks resumed
            raise CheckpointError(f"{run} has no {rundir.RESUME} (a {rundir.task_of(config)} "
                                  "run from before resumable tasks); it still loads and "
                                  "answers, but to train more start a new run")
        raise CheckpointError(f"{run} stopped before its first checkpoint: nothing to resume; "
                              f"train it again with --out {run}")
    _, train_cfg, _ = configs(run, config)
    train_cfg = dataclasses.replace(train_cfg, **overrides)
    train_cfg.validate()
    task = task_from_run(run, config, train_cfg)
    if task.digest != config.get("corpus_digest"):
        raise CheckpointError(f"the corpus {config['corpus'].get('sources')} changed since "
                              f"{run} was trained; resume needs the same data (or start a new "
                              "run)")
    if overrides and distributed.is_main():
        rundir.record_resume(run, overrides, {
            k: f"{said.get(k, f'train({k}=...)')}, on --resume" for k in overrides})
    trainer = Trainer(run, task, train_cfg, stop)
    trainer.restore()
    return trainer.run(progress_bar)
