"""The run directory: the only artifact of training. This module alone reads and writes it.

    RUN/config.json            task, resolved ModelConfig + TrainConfig, corpus description
    RUN/codec.json             codec name, options and vocabulary
    RUN/model.safetensors      latest weights (what readers load with --last)
    RUN/optimizer.safetensors  everything a resume needs, as ONE file: weights, AdamW
                               moments, the carried hidden state, and the trainer state
                               (step, RNG states, data cursor, best loss) as JSON metadata
    RUN/state.json             a readable copy of that trainer state
    RUN/best/model.safetensors best weights by validation loss (what readers load by default)
    RUN/metrics.jsonl          one JSON object per logged step
    RUN/loss.png               loss curves

Why resume state is one file: a process can be killed between any two renames. With the
weights, moments and cursor in one atomically replaced file, the resume state is always
from a single step; the other files are each valid on their own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from . import codecs
from .config import ModelConfig, TaskOptions, from_dict
from .core.files import atomic_write_json, atomic_write_text, read_json
from .core.tensors import FORMAT, load_tensors, save_tensors
from .errors import CheckpointError
from .models import SequenceModel

CONFIG = "config.json"
CODEC = "codec.json"
METRICS = "metrics.jsonl"
WEIGHTS = "model.safetensors"
RESUME = "optimizer.safetensors"
STATE = "state.json"
BEST = "best"
PLOT = "loss.png"
# how a user reads a run of each task, for the error when a reader gets the wrong kind
READERS = {"lm": "creative-rnn sample", "classify": "creative-rnn classify",
           "seq2seq": "creative-rnn respond"}


# --- self-description ----------------------------------------------------------------------
def create(out: str | Path, config: dict[str, Any], codec: codecs.Codec) -> Path:
    """Write a new run's codec.json, config.json (with the format tag) and empty metrics."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # a run stopped before its first checkpoint may have kept a best/ of another config
    (out / BEST / WEIGHTS).unlink(missing_ok=True)
    atomic_write_json(out / CODEC, codec.to_json())
    atomic_write_json(out / CONFIG, {"format": FORMAT, **config})
    atomic_write_text(out / METRICS, "")
    return out


def exists(run: str | Path) -> bool:
    """Whether ``run`` holds trained weights (a new run must not overwrite them). A run
    stopped before its first checkpoint holds none, and may be started again."""
    return (Path(run) / RESUME).exists() or (Path(run) / WEIGHTS).exists()


def read_config(run: str | Path) -> dict[str, Any]:
    run = Path(run)
    if not run.is_dir():
        raise CheckpointError(f"run directory {run} does not exist; train one first")
    return read_json(run / CONFIG)


def task_of(config: dict[str, Any]) -> str:
    """The run's task; runs from before tasks existed are language models."""
    return config.get("task", "lm")


def read_codec(run: str | Path) -> codecs.Codec:
    return codecs.from_json(read_json(Path(run) / CODEC))


def model_config(run: str | Path, config: dict[str, Any]) -> ModelConfig:
    try:
        return from_dict(ModelConfig, config["model"])
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{run}/{CONFIG} has no valid model section ({e})") from None


def task_options(run: str | Path, config: dict[str, Any]) -> TaskOptions:
    try:
        return TaskOptions(**config.get("task_options", {}))
    except TypeError as e:
        raise CheckpointError(f"{run}/{CONFIG} has bad task options ({e})") from None


def read_run(run_dir: str | Path, task: str, last: bool = False
             ) -> tuple[dict[str, Any], codecs.Codec, ModelConfig, TaskOptions, Path]:
    """A run of ``task``: its config, codec, model config, task options and the path of its
    best (or ``last``) weights. A run of another task is refused, naming its reader."""
    run = Path(run_dir)
    config = read_config(run)
    actual = task_of(config)
    if actual != task:
        raise CheckpointError(f"{run} is a {actual} run, not a {task} run; read it with "
                              f"{READERS.get(actual, 'its own command')}")
    return (config, read_codec(run), model_config(run, config), task_options(run, config),
            weights_path(run, last))


# --- weights -------------------------------------------------------------------------------
def weights_path(run: str | Path, last: bool = False) -> Path:
    """The best weights unless ``last`` (or unless no evaluation has kept any yet)."""
    best = Path(run) / BEST / WEIGHTS
    return Path(run) / WEIGHTS if last or not best.exists() else best


def save_weights(run: str | Path, state_dict: dict[str, torch.Tensor], meta: dict[str, Any],
                 best: bool = False) -> None:
    save_tensors(Path(run) / (f"{BEST}/{WEIGHTS}" if best else WEIGHTS), state_dict, meta)


def load_weights(model: torch.nn.Module, path: Path) -> dict[str, Any]:
    """Load ``path`` into ``model``; a file that does not fit the config names both."""
    tensors, meta = load_tensors(path)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit {path.parent}/{CONFIG} ({e})") from None
    return meta


# --- resume state --------------------------------------------------------------------------
def can_resume(run: str | Path) -> bool:
    return (Path(run) / RESUME).is_file()


def save_state(run: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    save_tensors(Path(run) / RESUME, tensors, meta)
    atomic_write_json(Path(run) / STATE, meta)


def load_state(run: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    return load_tensors(Path(run) / RESUME)


# --- metrics -------------------------------------------------------------------------------
def read_metrics(run: str | Path, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The logged rows; a line cut by a kill mid-write is skipped."""
    path = Path(run) / METRICS
    if not path.is_file():
        if missing_ok:
            return []
        raise CheckpointError(f"{path} is missing; is {run} a run directory?")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int):
            rows.append(row)
    return rows


def keep_metrics_until(run: str | Path, step: int) -> None:
    """Drop rows after ``step``: a killed process logged them after its last checkpoint,
    and the resumed run logs them again."""
    rows = [r for r in read_metrics(run, missing_ok=True) if r["step"] <= step]
    atomic_write_text(Path(run) / METRICS, "".join(json.dumps(r) + "\n" for r in rows))


class MetricsLog:
    """Appends one JSON row per call, flushed at once (a reader follows the file live)."""

    def __init__(self, run: str | Path | None):
        self._f = open(Path(run) / METRICS, "a", encoding="utf-8") if run is not None else None

    def write(self, row: dict[str, Any]) -> None:
        if self._f is not None:
            self._f.write(json.dumps(row) + "\n")
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


# --- reading a language-model run ----------------------------------------------------------
def load_run(run_dir: str | Path, last: bool = False, device: str | torch.device | None = "cpu"):
    """(model, codec, config) from a language-model run: the best weights unless ``last``.

    The run directory is self-describing: codec, vocabulary and model shape all come from it.
    """
    cfg, codec, model_cfg, _, weights = read_run(run_dir, "lm", last)
    model = SequenceModel(model_cfg)
    meta = load_weights(model, weights)
    model.eval()
    if device is not None:
        model.to(device)
    cfg["weights"] = {"path": str(weights), **meta}
    return model, codec, cfg
