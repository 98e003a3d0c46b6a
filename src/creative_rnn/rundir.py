"""The run directory: the only artifact of training. This module alone reads and writes it.

    RUN/config.json            task, resolved ModelConfig + TrainConfig, corpus description,
                               where each value came from ("sources")
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
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from . import codecs, starters
from .config import ModelConfig, TaskOptions, from_dict
from .core.files import atomic_write_json, atomic_write_text, read_json
from .core.tensors import load_tensors, save_tensors, tensor_shapes
from .errors import CheckpointError, ConfigError, UserError
from .models import SequenceModel
from .models.seq2seq import Seq2Seq, Tagger

CONFIG = "config.json"
CODEC = "codec.json"
METRICS = "metrics.jsonl"
WEIGHTS = "model.safetensors"
RESUME = "optimizer.safetensors"
STATE = "state.json"
BEST = "best"
PLOT = "loss.png"
FORMAT = "creative-rnn/1"  # the layout above; config.json carries it
# config.json's map of each config key to where its value came from (config_layers.resolve_layers);
# runs written before it have none, and still load
SOURCES = "sources"
BEFORE_PROVENANCE = "recorded before provenance"
# What each file of a run holds, in the order a reader meets them: the docs' reference page
# (docs/hooks/reference.py) is made from this, so a new file here is documented there.
LAYOUT: dict[str, str] = {
    CONFIG: f"the format tag ({FORMAT}), the task, the resolved model and training config, "
            "where each of their values came from (`creative-rnn config RUN`), and a "
            "description of the corpus it was trained on",
    CODEC: "the codec's name, options and vocabulary",
    WEIGHTS: "the latest weights (the averaged ones when ema is set): what readers load "
             "with --last",
    f"{BEST}/{WEIGHTS}": "the best weights by validation loss: what sample and evaluate "
                         "load unless --last",
    RESUME: "everything a resume needs, as one file: the weights (and their average with "
            "ema), the AdamW moments, the carried hidden state, and the trainer state (step, "
            "RNG states, data cursor, best loss) as JSON metadata",
    STATE: "a readable copy of that trainer state",
    METRICS: "one JSON object per logged step: step, elapsed_s, tokens, train_loss, lr, "
             "grad_norm, and val_loss where validation ran (nats per token)",
    PLOT: "the training and validation loss curves",
}
NO_RUN = ("run directory {run} does not exist; train one first, or give a starter model's "
          "name (`creative-rnn models` lists them)")
# how a user reads a run of each task, for the error when a reader gets the wrong kind
READERS = {"lm": "creative-rnn sample", "classify": "creative-rnn classify",
           "seq2seq": "creative-rnn respond"}


def locate(run: str | Path) -> Path:
    """The folder a reader opens for ``run``: a path as given, or, where no such path exists
    and ``run`` is a plain name, the shipped starter of that name (``folk``, ...)."""
    p = Path(run)
    if p.exists() or isinstance(run, Path) or "/" in str(run) or str(run) not in starters.names():
        return p
    return starters.path(str(run))


# --- self-description ----------------------------------------------------------------------
def check_new(out: str | Path) -> None:
    """Refuse ``out`` for a new run before any work: a run with weights (resume it), a file,
    or a folder of someone else's files (a new run would replace their config.json)."""
    out = Path(out)
    if starters.is_starter(out):
        raise UserError(f"{out} is the shipped starter model {out.name!r}, which is never "
                        f"written to; fine-tune a copy with --from {out.name} and a new --out")
    if exists(out):
        raise UserError(f"{out} already holds a run; continue it with --resume {out} "
                        "or choose another --out")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder; choose another --out")
    if out.is_dir() and not _ours(out) and any(out.iterdir()):
        raise UserError(f"{out} is a folder of other files, not a creative-rnn run; choose a "
                        "new or empty --out folder")


def _ours(run: Path) -> bool:
    """Whether ``run`` has a config.json we wrote (a run stopped before its first checkpoint
    has one and no weights)."""
    try:
        config = json.loads((run / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(config, dict) and str(config.get("format", "")).startswith("creative-rnn/")


def create(out: str | Path, config: dict[str, Any], codec: codecs.Codec) -> Path:
    """Write a new run's codec.json, config.json (with the format tag) and empty metrics."""
    out = Path(out)
    check_new(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the run folder {out} ({e.strerror}); choose another "
                        "--out") from None
    # a run stopped before its first checkpoint may have kept a best/ of another config
    (out / BEST / WEIGHTS).unlink(missing_ok=True)
    atomic_write_json(out / CODEC, codec.to_json())
    atomic_write_json(out / CONFIG, {"format": FORMAT, **config})
    atomic_write_text(out / METRICS, "")
    return out


def record_resume(run: Path, values: dict[str, Any], sources: dict[str, str]) -> None:
    """A resume's new budget (``max_steps``, ``max_minutes``) written into the run's
    config.json with where each value came from, so the record says what it trains to now
    (and a later resume without flags keeps it). A run from before provenance records no
    sources, and gets none: one would make every other key "not recorded"."""
    config = read_json(run / CONFIG)
    config["train"] = {**config["train"], **values}
    if config.get(SOURCES):
        config[SOURCES] = {**config[SOURCES], **sources}
    atomic_write_json(run / CONFIG, config)


def exists(run: str | Path) -> bool:
    """Whether ``run`` holds trained weights (a new run must not overwrite them). A run
    stopped before its first checkpoint holds none, and may be started again."""
    return (Path(run) / RESUME).exists() or (Path(run) / WEIGHTS).exists()


def read_config(run: str | Path) -> dict[str, Any]:
    run = locate(run)
    if not run.is_dir():
        raise CheckpointError(NO_RUN.format(run=run))
    if starters.is_starter(run):
        starters.verify(run.name)
    config = read_json(run / CONFIG)
    if not isinstance(config, dict):
        raise CheckpointError(f"{run / CONFIG} is not a JSON object; restore it or train again")
    bad = [k for k, ok in _CONFIG_SECTIONS.items() if k in config and not ok(config[k])]
    if bad:
        raise CheckpointError(f"{run / CONFIG} has a damaged {', '.join(bad)} section; restore "
                              "it or train again")
    return config


def _sources(corpus: Any) -> bool:
    sources = corpus.get("sources") if isinstance(corpus, dict) else None
    return isinstance(sources, list) and all(isinstance(s, str) for s in sources)


# the shape of what readers take from config.json (values are checked where they are used)
_CONFIG_SECTIONS: dict[str, Callable[[Any], bool]] = {
    "task": lambda v: isinstance(v, str), "model": lambda v: isinstance(v, dict),
    "train": lambda v: isinstance(v, dict), "task_options": lambda v: isinstance(v, dict),
    "corpus": _sources,
    SOURCES: lambda v: isinstance(v, dict) and all(isinstance(s, str) for s in v.values()),
}


def provenance(run: str | Path) -> list[tuple[str, str, Any, str]]:
    """Each config key ``run`` (a path, or a starter's name) recorded, as (section, key,
    value, where the value came from); a run written before sources were recorded says
    ``BEFORE_PROVENANCE`` for each. Read by ``creative-rnn config RUN``."""
    config = read_config(run)
    sources = config.get(SOURCES) or {}
    rows = []
    # a language model has no task options (its config.json holds their defaults)
    sections = ("model", "train") if task_of(config) == "lm" else ("model", "train",
                                                                    "task_options")
    for section in sections:
        for key, value in (config.get(section) or {}).items():
            rows.append((section, key, value,
                         sources.get(key, "not recorded") if sources else BEFORE_PROVENANCE))
    return rows


def task_of(config: dict[str, Any]) -> str:
    """The run's task; runs from before tasks existed are language models."""
    return config.get("task", "lm")


def read_codec(run: str | Path) -> codecs.Codec:
    run = locate(run)
    data = read_json(run / CODEC)
    if not isinstance(data, dict):
        raise CheckpointError(f"{run / CODEC} is not a JSON object; restore it or train "
                              "again")
    return codecs.from_json(data)


def model_config(run: str | Path, config: dict[str, Any]) -> ModelConfig:
    try:
        cfg = from_dict(ModelConfig, config["model"])
        cfg.validate()
    except (KeyError, TypeError, ValueError, ConfigError) as e:
        raise CheckpointError(f"{run}/{CONFIG} has no valid model section ({e})") from None
    return cfg


def task_options(run: str | Path, config: dict[str, Any]) -> TaskOptions:
    try:
        return TaskOptions(**config.get("task_options", {}))
    except TypeError as e:
        raise CheckpointError(f"{run}/{CONFIG} has bad task options ({e})") from None


def read_run(run_dir: str | Path, task: str, last: bool = False
             ) -> tuple[dict[str, Any], codecs.Codec, ModelConfig, TaskOptions, Path]:
    """A run of ``task``: its config, codec, model config, task options and the path of its
    best (or ``last``) weights. A run of another task is refused, naming its reader."""
    run = locate(run_dir)
    config = read_config(run)
    actual = task_of(config)
    if actual != task:
        raise CheckpointError(f"{run} is a {actual} run, not a {task} run; read it with "
                              f"{READERS.get(actual, 'its own command')}")
    codec, model_cfg = read_codec(run), model_config(run, config)
    if model_cfg.vocab_size != codec.vocab_size:
        raise CheckpointError(f"{run}/{CODEC} has {codec.vocab_size} tokens but the model was "
                              f"trained on {model_cfg.vocab_size}; restore the run's own "
                              f"{CODEC}")
    return config, codec, model_cfg, task_options(run, config), weights_path(run, last)


# --- weights -------------------------------------------------------------------------------
def weights_path(run: str | Path, last: bool = False) -> Path:
    """The best weights unless ``last`` (or unless no evaluation has kept any yet)."""
    run = locate(run)
    best = run / BEST / WEIGHTS
    return run / WEIGHTS if last or not best.exists() else best


def save_weights(run: str | Path, state_dict: dict[str, torch.Tensor], meta: dict[str, Any],
                 best: bool = False) -> None:
    save_tensors(Path(run) / (f"{BEST}/{WEIGHTS}" if best else WEIGHTS), state_dict, meta)


def model_builder(config: dict[str, Any], model_cfg: ModelConfig, options: TaskOptions
                  ) -> Callable[[], torch.nn.Module]:
    """How to build the network of a run of any task from its saved configs (the vocabulary
    and output sizes are in the saved model section)."""
    task = task_of(config)
    if task == "classify":
        labels, per_step = config.get("labels"), config.get("per_step")
        if not (isinstance(labels, list) and labels and isinstance(per_step, bool)):
            raise CheckpointError(f"{CONFIG} of a classify run has no valid labels/per_step; "
                                  "restore it or train again")
        return lambda: Tagger(model_cfg, len(labels), options.bidirectional, per_step)
    if task == "seq2seq":
        return lambda: Seq2Seq(model_cfg, options.bidirectional)
    return lambda: SequenceModel(model_cfg)


class _NoInitialValues(TorchFunctionMode):
    """Skips the in-place initialisers while a probe is built on the meta device: there they
    give no values anyway, and their meta kernels (PyTorch's Python references) import
    torch._dynamo, about a second of every command that loads a run."""

    SKIPPED = frozenset({"normal_", "uniform_", "kaiming_uniform_", "kaiming_normal_",
                         "xavier_uniform_", "xavier_normal_", "orthogonal_", "trunc_normal_"})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in self.SKIPPED:
            # the tensor, as the in-place initialiser returns it (nn.init passes it by name)
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def check_fits(build: Callable[[], torch.nn.Module], model_cfg: ModelConfig, path: Path) -> None:
    """Refuse a config that does not describe the weights at ``path``, from the weights'
    header alone: a config edited to ``hidden_size=12000`` or ``num_layers=10**6`` would
    otherwise allocate gigabytes (or hang) before the mismatch shows. The probe is built on
    PyTorch's meta device, which allocates nothing."""
    shapes = tensor_shapes(path)
    config = path.parent / CONFIG if path.parent.name != BEST else path.parent.parent / CONFIG
    if model_cfg.num_layers > len(shapes):  # every layer has weights: bounds the probe below
        raise CheckpointError(f"{config} says num_layers={model_cfg.num_layers} but {path} "
                              f"holds {len(shapes)} tensors; restore the run's config.json")
    try:
        with torch.device("meta"), _NoInitialValues():
            probe = build()
    except (RuntimeError, ValueError, TypeError, OverflowError) as e:
        raise CheckpointError(f"{config} describes no model that can be built ({e}); restore "
                              "it or train again") from None
    expected = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    if expected != shapes:
        diff = sorted(set(expected) ^ set(shapes)) or sorted(
            k for k in expected if expected[k] != shapes[k])
        k = diff[0]
        raise CheckpointError(f"{path} does not fit {config}: {k} is "
                              f"{shapes.get(k, 'missing')} in the weights and "
                              f"{expected.get(k, 'missing')} in the config; restore the run's "
                              "config.json")


def read_model(run_dir: str | Path, task: str, last: bool = False
               ) -> tuple[dict[str, Any], codecs.Codec, torch.nn.Module, TaskOptions]:
    """A run of ``task`` with its network built and loaded (best weights unless ``last``), in
    eval mode: (config, codec, model, task options). ``config["weights"]`` says which."""
    config, codec, model_cfg, options, weights = read_run(run_dir, task, last)
    build = model_builder(config, model_cfg, options)
    check_fits(build, model_cfg, weights)
    model = build()
    config["weights"] = {"path": str(weights), **load_weights(model, weights)}
    model.eval()
    return config, codec, model, options


def load_weights(model: torch.nn.Module, path: Path) -> dict[str, Any]:
    """Load ``path`` into ``model``; a file that does not fit the config names both, and
    weights that are not all finite numbers are refused (see ``check_finite``)."""
    tensors, meta = load_tensors(path)
    check_finite(tensors, path)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit {path.parent}/{CONFIG} ({e})") from None
    return meta


def check_finite(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse NaN or infinite weights. Training never saves them (loop.py stops first), but a
    file written elsewhere passes its checksum all the same, and every reader (sample, serve,
    perform, evaluate) would otherwise fail deep inside sampling with a torch traceback."""
    bad = [k for k, t in tensors.items()
           if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise CheckpointError(f"{path} holds NaN or infinite weights (in {sorted(bad)[0]}"
                              f"{more}): the model is unusable; train again, or restore an "
                              "earlier copy of the run")


# --- resume state --------------------------------------------------------------------------
def can_resume(run: str | Path) -> bool:
    return (Path(run) / RESUME).is_file()


def save_state(run: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    save_tensors(Path(run) / RESUME, tensors, meta)
    atomic_write_json(Path(run) / STATE, meta)


def load_state(run: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The resume state, its checksum verified and its trainer state checked field by field
    (files of the first format had no checksum over it)."""
    path = Path(run) / RESUME
    tensors, meta = load_tensors(path)
    bad = [k for k, ok in _STATE_FIELDS.items() if k not in meta or not ok(meta[k])]
    if bad:
        raise CheckpointError(f"{path} has a damaged trainer state ({', '.join(bad)}); "
                              "restore it or train again")
    return tensors, meta


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _loss(v: Any) -> bool:
    return v is None or (_number(v) and v >= 0)


# what a resume trusts in the trainer state (training/loop.py writes it), and its shape
_STATE_FIELDS: dict[str, Callable[[Any], bool]] = {
    "step": _count, "tokens": _count, "elapsed_s": lambda v: _number(v) and v >= 0,
    "best_val_loss": _loss, "last_val_loss": _loss, "bad_evals": _count,
    "loss_sum": _number, "loss_count": _count, "has_state": lambda v: isinstance(v, bool),
    "cursor": lambda v: isinstance(v, dict), "rng": lambda v: isinstance(v, dict),
    "param_groups": lambda v: isinstance(v, list) and all(isinstance(g, dict) for g in v),
}


# --- metrics -------------------------------------------------------------------------------
def read_metrics(run: str | Path, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The logged rows; a line cut by a kill mid-write is skipped."""
    run = locate(run)
    path = run / METRICS
    if not path.is_file():
        if missing_ok:
            return []
        if not run.is_dir():
            raise CheckpointError(NO_RUN.format(run=run))
        raise CheckpointError(f"{path} is missing; is {run} a run directory?")
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
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
    cfg, codec, model, _ = read_model(run_dir, "lm", last)
    if device is not None:
        model.to(device)
    return model, codec, cfg
