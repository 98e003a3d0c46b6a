"""What the classify and seq2seq tasks share: options, examples, batches, the fit loop and
the run directory.

The language-model trainer (``train.py``) streams one corpus with a carried state and
resumes exactly; these tasks learn from independent (input, output) examples, so their loop
is the plain one: sample a batch, step AdamW on the shared schedule, evaluate, keep the best
weights. The run directory has the usual files (``config.json`` with ``"task"``,
``codec.json``, ``model.safetensors``, ``best/``, ``metrics.jsonl``, ``loss.png``); a task run
is not resumable (``--resume`` says so).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import checkpoint as ckpt
from .. import codecs
from ..config import ModelConfig, TrainConfig, _coerce, from_dict, resolve, to_dict
from ..data import IGNORE, SPLIT_SEED
from ..errors import CheckpointError, ConfigError, CorpusError, UserError
from ..progress import Progress
from ..schedule import learning_rate, progress
from ..train import RunResult, pick_device, seed_everything

TASKS = ("classify", "seq2seq")


@dataclass(frozen=True)
class TaskOptions:
    """Keys only the classify/seq2seq tasks know; set them with ``--set`` like any other."""

    bidirectional: bool = True  # encoders read both ways: the whole input is available
    phrase_len: int = 0  # seq2seq: cut each item into phrases of N tokens (16 = a 4/4 bar of
    #                      sixteenths); 0 = consecutive items are call and response

    def validate(self) -> None:
        if self.phrase_len < 0:
            raise ConfigError(f"phrase_len must be 0 or more, got {self.phrase_len}")


def split_options(overrides: dict[str, Any]) -> tuple[dict[str, Any], TaskOptions]:
    """Take the task keys out of ``--set``/keyword overrides (the rest go to ``resolve``)."""
    types = {f.name: f.type for f in fields(TaskOptions)}
    mine = {k: _coerce(k, overrides.pop(k), types[k]) for k in list(overrides) if k in types}
    opts = TaskOptions(**mine)
    opts.validate()
    return overrides, opts


def make_codec(codec: str | codecs.Codec, encoding: str, max_vocab: int | None) -> codecs.Codec:
    if not isinstance(codec, str):
        return codec
    opts: dict[str, Any] = {}
    if codec in ("char", "word"):
        opts["encoding"] = encoding
        if max_vocab is not None:
            opts["max_vocab"] = max_vocab
    return codecs.get(codec, **opts)


def read_jsonl(paths: Sequence[str | Path], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Objects of JSONL files that have at least one of ``keys``; a bad line is an error
    naming the file and line."""
    rows = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise CorpusError(f"{p} does not exist; give a JSONL file of examples")
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise CorpusError(f"{p} line {n} is not JSON ({e.msg})") from None
            if not isinstance(obj, dict) or not any(k in obj for k in keys):
                raise CorpusError(f"{p} line {n} needs a key {' or '.join(keys)}")
            rows.append(obj)
    if not rows:
        raise CorpusError(f"no examples in {', '.join(map(str, paths))}")
    return rows


def split_examples(examples: list, val_fraction: float) -> tuple[list, list]:
    """A fixed random share for validation (same seed as the token store's)."""
    if len(examples) < 2:
        raise CorpusError(f"{len(examples)} example(s): need at least 2 (train and validate)")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(examples))
    n_val = max(1, int(round(len(examples) * val_fraction)))
    return ([examples[i] for i in sorted(order[n_val:])],
            [examples[i] for i in sorted(order[:n_val])])


def pad(seqs: Sequence[Sequence[int]], value: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences -> (B, T) padded tensor and (B,) lengths."""
    T = max(1, max(len(s) for s in seqs))
    out = torch.full((len(seqs), T), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return out, torch.tensor([len(s) for s in seqs])


def resolve_configs(preset: str | None, config: str | Path | None, overrides: dict[str, Any]
                    ) -> tuple[ModelConfig, TrainConfig, TaskOptions]:
    overrides, opts = split_options(dict(overrides))
    model_cfg, train_cfg = resolve(preset, config, overrides)
    return model_cfg, train_cfg, opts


def start_run(out: str | Path, task: str, model_cfg: ModelConfig, train_cfg: TrainConfig,
              opts: TaskOptions, codec: codecs.Codec, extra: dict[str, Any]) -> Path:
    """Create the run directory and write its self-description."""
    out = Path(out)
    if (out / "config.json").exists():
        raise UserError(f"{out} already holds a run; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    ckpt.atomic_write_json(out / "codec.json", codec.to_json())
    ckpt.atomic_write_json(out / "config.json", {
        "format": ckpt.FORMAT, "task": task, "model": to_dict(model_cfg),
        "train": to_dict(train_cfg), "task_options": dataclasses.asdict(opts), **extra})
    (out / "metrics.jsonl").write_text("")
    return out


def read_run(run_dir: str | Path, task: str
             ) -> tuple[dict[str, Any], codecs.Codec, ModelConfig, TaskOptions, Path]:
    """A task run's config, codec, model config, options and best (or only) weights path."""
    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"run directory {run} does not exist; train one first")
    cfg = ckpt.read_json(run / "config.json")
    if cfg.get("task", "lm") != task:
        raise CheckpointError(f"{run} is a {cfg.get('task', 'lm')} run, not a {task} run")
    codec = codecs.from_json(ckpt.read_json(run / "codec.json"))
    try:
        model_cfg = from_dict(ModelConfig, cfg["model"])
        opts = TaskOptions(**cfg.get("task_options", {}))
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{run}/config.json is incomplete ({e})") from None
    best = run / "best" / "model.safetensors"
    return cfg, codec, model_cfg, opts, best if best.exists() else run / "model.safetensors"


def load_weights(model: torch.nn.Module, path: Path) -> torch.nn.Module:
    tensors, _ = ckpt.load_tensors(path)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit its config.json ({e})") from None
    return model.eval()


Batch = Any  # whatever the task's batch function returns; the loss function understands it


def masked_scores(pairs) -> dict[str, float]:
    """Validation loss and accuracy over ``(logits (n, classes), targets (n,))`` pairs,
    targets equal to IGNORE left out: the one evaluation both conditional tasks share."""
    total, right, count = 0.0, 0, 0
    for logits, y in pairs:
        total += torch.nn.functional.cross_entropy(logits, y, ignore_index=IGNORE,
                                                   reduction="sum").item()
        keep = y != IGNORE
        right += int((logits.argmax(-1)[keep] == y[keep]).sum())
        count += int(keep.sum())
    return {"val_loss": total / count, "val_accuracy": right / count}


def fit(run: Path, model: torch.nn.Module, cfg: TrainConfig,
        batch: Callable[[np.random.Generator], Batch],
        loss: Callable[[torch.nn.Module, Batch], tuple[torch.Tensor, int]],
        evaluate: Callable[[torch.nn.Module], dict[str, float]],
        progress_bar: bool = True) -> RunResult:
    """The task loop: AdamW on the shared warm-up + cosine schedule, gradient clipping,
    evaluation every ``eval_every`` steps (``evaluate`` returns at least ``val_loss``), the
    best weights kept in ``best/``, Ctrl-C ends the run saved."""
    device = pick_device(cfg.device)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed)  # one stream of batches from the run's seed
    max_seconds = cfg.max_minutes * 60
    bar = Progress(cfg.max_steps, max_seconds, 0, 0.0, enabled=progress_bar)
    best, last_train, last_val, stopped = math.inf, None, None, "max_steps"
    loss_sum, loss_n, tokens, step, start = 0.0, 0, 0, 0, time.perf_counter()
    metrics = open(run / "metrics.jsonl", "a", encoding="utf-8")
    evaluated = -1

    def validate() -> dict[str, float]:
        nonlocal best, last_val, evaluated
        model.eval()
        with torch.no_grad():
            figures = evaluate(model)
        model.train()
        last_val, evaluated = figures["val_loss"], step
        if last_val < best:
            best = last_val
            ckpt.save_tensors(run / "best" / "model.safetensors", model.state_dict(),
                              {"step": step, "val_loss": last_val})
        return {k: round(v, 5) for k, v in figures.items()}

    def log(row: dict[str, Any]) -> None:
        row = {"step": step, "elapsed_s": round(time.perf_counter() - start, 3),
               "tokens": tokens, **row}
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()

    try:
        model.train()
        while step < cfg.max_steps:
            elapsed = time.perf_counter() - start
            if max_seconds and elapsed >= max_seconds:
                stopped = "max_minutes"
                break
            frac = progress(step, cfg.max_steps, elapsed, max_seconds)
            for g in opt.param_groups:
                g["lr"] = learning_rate(step, cfg.lr, cfg.warmup_steps, cfg.min_lr_ratio, frac)
            value, n = loss(model, batch(rng))
            opt.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            step, tokens = step + 1, tokens + n
            loss_sum, loss_n = loss_sum + value.item(), loss_n + 1
            row: dict[str, Any] = {}
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                last_train, loss_sum, loss_n = loss_sum / loss_n, 0.0, 0
                row["train_loss"] = round(last_train, 5)
            if step % cfg.eval_every == 0 or step == cfg.max_steps:
                row.update(validate())
            if row:
                log(row)
            bar.update(step, time.perf_counter() - start, tokens, last_train, last_val)
        if step and evaluated != step:  # a time budget ends between evaluations
            log(validate())
    except KeyboardInterrupt:
        stopped = "interrupted"
        print("\ninterrupted: saving the weights so far", file=sys.stderr)
    finally:
        metrics.close()
        bar.close()
    model.eval()
    ckpt.save_tensors(run / "model.safetensors", model.state_dict(), {"step": step})
    try:
        from ..viz.curves import plot_runs

        plot_runs([run], run / "loss.png")
    except Exception as e:  # a plot must never cost a finished run
        print(f"note: could not draw loss.png ({e})", file=sys.stderr)
    return RunResult(run, step, last_train, last_val, None if math.isinf(best) else best,
                     stopped)


def seed_run(cfg: TrainConfig) -> None:
    seed_everything(cfg.seed)
