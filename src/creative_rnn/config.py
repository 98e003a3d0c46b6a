"""Frozen configuration dataclasses and how they are resolved.

Precedence, lowest first: dataclass defaults < preset < file (``--config``, TOML or JSON)
< ``--set key=value`` flags. Unknown keys and wrong types are errors, so a typo never
trains silently with a default.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError, SamplingError

CELLS = ("rnn", "gru", "lstm")


@dataclass(frozen=True)
class ModelConfig:
    cell: str = "lstm"  # rnn | gru | lstm; lstm is the safe default for long dependencies
    num_layers: int = 2  # Graves et al. 2013: stacking helps; 2-3 is typical
    hidden_size: int = 256
    embedding_size: int = 64  # a small dense embedding beats one-hot for chars and is cheaper
    dropout: float = 0.2  # between layers and before the head; 0 for tiny data or tiny models
    weight_drop: float = 0.0  # DropConnect on the recurrent weights V in training (Merity et
    # al. 2018, AWD-LSTM): one mask per step, shared by every time step and lane
    forget_bias: float = 1.0  # LSTM forget-gate bias at init: 1 remembers by default (long
    # dependencies); 0 learned faster on tiny-shakespeare's short contexts (see presets)
    vocab_size: int = 0  # filled in from the codec, never set by hand
    output_size: int = 0  # 0 = same as vocab_size; differs for ensemble models

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"cell={self.cell!r} is not one of {', '.join(CELLS)}")
        for name in ("num_layers", "hidden_size", "embedding_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("dropout", "weight_drop"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 32  # lanes of the stream (streams) or documents per batch
    seq_len: int = 100  # truncated-BPTT length in tokens
    lr: float = 3e-3  # peak AdamW learning rate after warm-up
    min_lr_ratio: float = 0.05  # cosine decays to lr * this, not to zero
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0  # max global gradient norm; RNN gradients can explode
    ema: float = 0.0  # weight averaging: decay of the parameters' moving average per step,
    # e.g. 0.99; evaluation, best/ and readers get the average (averaging.py); 0 = off
    max_steps: int = 2000  # optimizer steps counted from the start of the run
    max_minutes: float = 0.0  # 0 = no time limit; else the schedule follows wall-clock time
    eval_every: int = 200
    eval_max_tokens: int = 250_000  # caps evaluation cost on big corpora
    checkpoint_every: int = 500
    log_every: int = 10
    patience: int = 0  # evaluations without improvement before stopping; 0 = never stop early
    val_fraction: float = 0.1  # the last part of the stream (or of the documents) for validation
    documents: bool = False  # whole items framed by <s> … </s> instead of one stream
    doc_max_len: int = 1024  # longer documents are split into pieces of this many tokens
    seed: int = 1
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto: bf16 on CUDA and on CPUs with native bf16 | fp32 | bf16

    def validate(self) -> None:
        positive = ("batch_size", "seq_len", "max_steps", "eval_every", "checkpoint_every",
                    "log_every", "doc_max_len", "eval_max_tokens")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if not 0.0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"ema must be in [0, 1) (0 = off, e.g. 0.99), got {self.ema}")
        if self.max_minutes < 0 or self.patience < 0 or self.warmup_steps < 0:
            raise ConfigError("max_minutes, patience and warmup_steps cannot be negative")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device={self.device!r} is not one of auto, cpu, cuda")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision={self.precision!r} is not one of auto, fp32, bf16")


@dataclass(frozen=True)
class SampleConfig:
    length: int = 200  # new tokens per sample (documents stop earlier at </s>)
    num: int = 1  # samples generated together as one batch
    temperature: float = 0.8  # below 1 is safer, above 1 is wilder
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1 = off
    greedy: bool = False
    seed: int | None = None

    def validate(self) -> None:
        if self.length < 0:
            raise SamplingError(f"length must be 0 or more, got {self.length}")
        if self.num < 1:
            raise SamplingError(f"num must be at least 1, got {self.num}")
        if not self.greedy and self.temperature <= 0:
            raise SamplingError(
                f"temperature must be > 0 (got {self.temperature}); use --greedy for argmax"
            )
        if self.top_k < 0:
            raise SamplingError(f"top_k must be 0 (off) or positive, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise SamplingError(f"top_p must be in (0, 1], got {self.top_p}")


TASKS = ("lm", "classify", "seq2seq")


@dataclass(frozen=True)
class TaskOptions:
    """Keys only the classify/seq2seq tasks know; set them with ``--set`` like any other."""

    bidirectional: bool = True  # encoders read both ways: the whole input is available
    phrase_len: int = 0  # seq2seq: cut each item into phrases of N tokens (16 = a 4/4 bar of
    #                      sixteenths); 0 = consecutive items are call and response

    def validate(self) -> None:
        if self.phrase_len < 0:
            raise ConfigError(f"phrase_len must be 0 or more, got {self.phrase_len}")


def split_task_options(task: str, overrides: dict[str, Any]) -> tuple[dict[str, Any],
                                                                      TaskOptions]:
    """Take the task keys out of ``--set``/keyword overrides (the rest go to ``resolve``).
    A language model has no task keys: they stay in and ``resolve`` refuses them."""
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    rest = dict(overrides)
    if task == "lm":
        return rest, TaskOptions()
    types = _types(TaskOptions)
    mine = {k: _coerce(k, rest.pop(k), types[k]) for k in list(rest) if k in types}
    opts = TaskOptions(**mine)
    opts.validate()
    return rest, opts


# Presets: a user picks a size, not hyper-parameters. Values chosen by measurement
# (benchmarks/time_to_quality.py): `small` is the 2-core CPU recipe for tiny-shakespeare.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(  # seconds on a laptop: tests, smoke runs, Star Trek titles
        cell="lstm", num_layers=1, hidden_size=64, embedding_size=32, dropout=0.0,
        batch_size=16, seq_len=64, lr=5e-3, warmup_steps=20, max_steps=300,
        eval_every=50, checkpoint_every=100,
        precision="fp32",  # bf16 buys nothing at this size; fp32 keeps small runs exact
    ),
    "small": dict(  # minutes on a laptop CPU; 2x384 beat 2x256 (dropout 0.1-0.35) in 10 min,
        # and weight drop 0.2 with lr 4e-3 beat dropout alone (README, Benchmarks)
        cell="lstm", num_layers=2, hidden_size=384, embedding_size=64, dropout=0.2,
        weight_drop=0.2, forget_bias=0.0, batch_size=32, seq_len=100, lr=4e-3,
        ema=0.99,  # the averaged weights ended 0.0016 nats below the raw ones in 10 minutes
        warmup_steps=100, max_steps=5000,
        eval_every=500, checkpoint_every=500,
    ),
    "medium": dict(  # a GPU, or a long night on a CPU
        cell="lstm", num_layers=3, hidden_size=512, embedding_size=128, dropout=0.3,
        batch_size=128, seq_len=128, lr=2e-3, warmup_steps=200, max_steps=10000,
        eval_every=500, checkpoint_every=1000,
    ),
    "large": dict(  # a GPU: large corpora
        cell="lstm", num_layers=3, hidden_size=1024, embedding_size=256, dropout=0.4,
        batch_size=256, seq_len=256, lr=1.5e-3, warmup_steps=400, max_steps=20000,
        eval_every=1000, checkpoint_every=1000,
    ),
}

_MODEL_KEYS = {f.name for f in fields(ModelConfig)} - {"vocab_size", "output_size"}
_TRAIN_KEYS = {f.name for f in fields(TrainConfig)}


def _coerce(name: str, value: Any, typ: Any) -> Any:
    """Convert a parsed value (or a --set string) to the field's type, or raise ConfigError."""
    typ = typ if isinstance(typ, str) else typ.__name__
    typ = typ.replace(" | None", "")
    try:
        if typ == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                return value.lower() in ("true", "1", "yes")
            raise ValueError
        if typ == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if typ == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if typ == "str":
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        pass
    raise ConfigError(f"config key {name!r} expects {typ}, got {value!r}")


def _types(cls: type) -> dict[str, Any]:
    return {f.name: f.type for f in fields(cls)}


def parse_set(pairs: list[str]) -> dict[str, str]:
    """Parse ``key=value`` strings from ``--set``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r} is not key=value (e.g. --set hidden_size=256)")
        out[key.strip()] = value.strip()
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML or JSON file of config keys (flat, or with [model]/[train] tables)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist; check the --config path")
    try:
        if p.suffix == ".toml":
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        else:
            data = json.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {p} is not valid {p.suffix or 'JSON'}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a table of keys")
    flat: dict[str, Any] = {}
    for k, v in data.items():
        if k in ("model", "train") and isinstance(v, dict):
            flat.update(v)
        else:
            flat[k] = v
    return flat


def resolve(
    preset: str | None = None,
    file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[ModelConfig, TrainConfig]:
    """Build (ModelConfig, TrainConfig) from defaults < preset < file < overrides."""
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        values.update(PRESETS[preset])
    if file is not None:
        values.update(read_config_file(file))
    values.update(overrides or {})
    unknown = sorted(set(values) - _MODEL_KEYS - _TRAIN_KEYS)
    if unknown:
        known = ", ".join(sorted(_MODEL_KEYS | _TRAIN_KEYS))
        raise ConfigError(f"unknown config key(s) {', '.join(unknown)}; known keys: {known}")
    mtypes, ttypes = _types(ModelConfig), _types(TrainConfig)
    m = {k: _coerce(k, v, mtypes[k]) for k, v in values.items() if k in _MODEL_KEYS}
    t = {k: _coerce(k, v, ttypes[k]) for k, v in values.items() if k in _TRAIN_KEYS}
    model, train = ModelConfig(**m), TrainConfig(**t)
    model.validate()
    train.validate()
    return model, train


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a config from a run directory's JSON, checking keys and types."""
    types = _types(cls)
    unknown = set(data) - set(types)
    if unknown:
        raise ConfigError(f"{cls.__name__} has no key(s) {', '.join(sorted(unknown))}")
    return cls(**{k: _coerce(k, v, types[k]) if v is not None else v for k, v in data.items()})
