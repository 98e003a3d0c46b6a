"""Frozen configuration dataclasses: what a model, a training run and sampling take, each
checked (``validate``), the presets, and the conversion of a value to a field's type.

How a run's values are gathered from their sources (defaults, preset, codec, file, fitted,
the user's flags) and resolved into these is config_layers.py.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError, SamplingError

CELLS = ("rnn", "gru", "lstm", "mingru", "minlstm")
# the cell a model gets unless told otherwise (the dataclass default and every preset): the
# safe choice for long dependencies; its one home
DEFAULT_CELL = "lstm"

# Upper bounds of the numbers a config may hold. Far beyond any sensible run; they are here so
# that a typo (hidden_size=10**9, lr=1e30) is one clear line and not an out-of-memory crash or
# a run that diverges, and so that NaN and infinity never enter (NaN compares false with every
# bound, so a plain "x < 0" check lets it through).
MAX_LAYERS, MAX_WIDTH = 64, 65_536  # num_layers; hidden_size and embedding_size
MAX_BIAS = 100.0  # forget_bias: sigmoid(100) is already exactly 1 in float32
MAX_TOKENS_PER_ROW = 10_000_000  # batch_size, seq_len, doc_max_len, phrase_len
MAX_COUNT = 10**12  # step counts and intervals (train() uses 10**9 for "no step limit")
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit seed
MAX_MINUTES = 60 * 24 * 365.0  # a year
MAX_TOP_K = 10**9


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _not_int(x: Any) -> bool:
    return isinstance(x, bool) or not isinstance(x, int)


def _whole(cfg: Any, name: str, low: int, high: int) -> None:
    """Refuse a count outside [low, high], naming the key."""
    v = getattr(cfg, name)
    if _not_int(v) or v < low:
        raise ConfigError(f"{name} must be at least {low}, got {v!r}")
    if v > high:
        raise ConfigError(f"{name} must be at most {high:,}, got {v:,}")


def _real(cfg: Any, name: str, low: float, high: float, low_open: bool = False,
          high_open: bool = False, note: str = "") -> None:
    """Refuse NaN, infinity and a value outside the interval, naming the key and the range."""
    v = getattr(cfg, name)
    ok = _finite(v) and (low < v if low_open else low <= v) and (v < high if high_open
                                                                  else v <= high)
    if ok:
        return
    if math.isinf(high):
        raise ConfigError(f"{name} must be a finite number {'>' if low_open else '>='} "
                          f"{low:g}{note}, got {v!r}")
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    raise ConfigError(f"{name} must be in {interval}{note}, got {v!r}")


def _one_of(cfg: Any, name: str, choices: tuple[str, ...]) -> None:
    """Refuse a value that is not one of ``choices``, naming the key and the choices."""
    v = getattr(cfg, name)
    if v not in choices:
        raise ConfigError(f"{name}={v!r} is not one of {', '.join(choices)}")


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape. Each field's docstring is its meaning in the docs' reference."""

    # (the docstrings under the fields are read by docs/hooks/reference.py and mkdocstrings)
    cell: str = DEFAULT_CELL
    """The recurrent cell: rnn, gru, lstm, mingru, minlstm, or a cell you registered; lstm is
    the safe default for long dependencies."""
    num_layers: int = 2
    """Stacked recurrent layers (Graves et al. 2013: stacking helps; 2-3 is typical)."""
    hidden_size: int = 256
    """Width of each recurrent layer's hidden state."""
    embedding_size: int = 64
    """Width of the token embedding: a small dense embedding beats one-hot for chars and is
    cheaper."""
    dropout: float = 0.2
    """Dropout between layers and before the head; 0 for tiny data or tiny models."""
    weight_drop: float = 0.0
    """DropConnect on the recurrent weights V in training (Merity et al. 2018, AWD-LSTM): one
    mask per step, shared by every time step and lane; 0 = off."""
    forget_bias: float = 1.0
    """LSTM forget-gate bias at initialisation: 1 remembers by default (long dependencies); 0
    learned faster on tiny-shakespeare's short contexts (see the presets)."""
    vocab_size: int = 0
    """Filled in from the codec, never set by hand."""
    output_size: int = 0
    """0 = the same as vocab_size; differs for ensemble models. Filled in from the codec."""

    def validate(self) -> None:
        _one_of(self, "cell", CELLS)
        _whole(self, "num_layers", 1, MAX_LAYERS)
        _whole(self, "hidden_size", 1, MAX_WIDTH)
        _whole(self, "embedding_size", 1, MAX_WIDTH)
        for name in ("dropout", "weight_drop"):
            _real(self, name, 0.0, 1.0, high_open=True)
        _real(self, "forget_bias", -MAX_BIAS, MAX_BIAS)


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained. Each field's docstring is its meaning in the docs' reference."""

    batch_size: int = 32
    """Lanes of the stream (streams) or documents per batch."""
    seq_len: int = 100
    """Truncated-BPTT length in tokens."""
    lr: float = 3e-3
    """Peak AdamW learning rate after warm-up."""
    min_lr_ratio: float = 0.05
    """The cosine schedule decays to lr * this, not to zero."""
    warmup_steps: int = 100
    """Steps of linear warm-up to the peak learning rate."""
    weight_decay: float = 0.01
    """AdamW's decoupled weight decay."""
    grad_clip: float = 1.0
    """Largest global gradient norm (RNN gradients can explode); 0 = no clipping."""
    ema: float = 0.0
    """Weight averaging: decay per step of the parameters' moving average, e.g. 0.99;
    evaluation, best/ and readers get the average (training/averaging.py); 0 = off."""
    max_steps: int = 2000
    """Optimizer steps, counted from the start of the run."""
    max_minutes: float = 0.0
    """0 = no time limit; else training stops after this many minutes and the learning-rate
    schedule follows wall-clock time."""
    eval_every: int = 200
    """Steps between validation runs (and best/ updates)."""
    eval_max_tokens: int = 250_000
    """Most validation tokens one evaluation reads: caps its cost on big corpora."""
    checkpoint_every: int = 500
    """Steps between checkpoints (model.safetensors, optimizer.safetensors)."""
    log_every: int = 10
    """Steps between lines of metrics.jsonl and progress updates."""
    patience: int = 0
    """Evaluations without improvement before stopping early; 0 = never stop early."""
    val_fraction: float = 0.1
    """The last part of the stream (or of the documents) held out for validation."""
    documents: bool = False
    """Whole items framed by <s> … </s> instead of one stream."""
    doc_max_len: int = 1024
    """Longer documents are split into pieces of this many tokens."""
    seed: int = 1
    """The one seed of all randomness (initialisation, batches, dropout)."""
    device: str = "auto"
    """auto (a GPU where there is one), cpu or cuda."""
    precision: str = "auto"
    """auto: bf16 autocast on CUDA and on CPUs that compute bf16 in hardware (AVX512-BF16,
    AMX), else fp32; or fp32, or bf16."""

    def validate(self) -> None:
        for name in ("batch_size", "seq_len", "doc_max_len"):
            _whole(self, name, 1, MAX_TOKENS_PER_ROW)
        for name in ("max_steps", "eval_every", "checkpoint_every", "log_every",
                     "eval_max_tokens"):
            _whole(self, name, 1, MAX_COUNT)
        for name in ("warmup_steps", "patience"):
            _whole(self, name, 0, MAX_COUNT)
        _whole(self, "seed", 0, MAX_SEED)
        # no upper bound on lr: a run that diverges is stopped by the trainer, and says so
        _real(self, "lr", 0.0, math.inf, low_open=True)
        _real(self, "min_lr_ratio", 0.0, 1.0)
        _real(self, "weight_decay", 0.0, math.inf)
        _real(self, "grad_clip", 0.0, math.inf, note=" (0 = no clipping)")
        _real(self, "ema", 0.0, 1.0, high_open=True, note=" (0 = off, e.g. 0.99)")
        _real(self, "max_minutes", 0.0, MAX_MINUTES, note=" (0 = no time limit)")
        _real(self, "val_fraction", 0.0, 0.5, low_open=True, high_open=True)
        _one_of(self, "device", ("auto", "cpu", "cuda"))
        _one_of(self, "precision", ("auto", "fp32", "bf16"))


# What one sampling request may ask for: a request is answered in memory (every id of every
# sample), so num x length is capped too; more is several requests
MAX_LENGTH, MAX_NUM, MAX_TOKENS = 100_000, 1_000, 2_000_000
# below 0.01 the scaled logits overflow float32 to inf (and the draw to NaN); above 100 every
# token is equally likely; --greedy is the limit of a small temperature
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0


@dataclass(frozen=True)
class SampleConfig:
    """One sampling request. Each field's docstring is its meaning in the docs' reference."""

    length: int = 200
    """New tokens per sample (documents stop earlier at </s>); 0 to MAX_LENGTH."""
    num: int = 1
    """Samples generated together as one batch; 1 to MAX_NUM, and num x length at most
    MAX_TOKENS."""
    temperature: float = 0.8
    """Below 1 is safer, above 1 is wilder; MIN_TEMPERATURE to MAX_TEMPERATURE."""
    top_k: int = 0
    """Keep only the k likeliest tokens at each step; 0 = off."""
    top_p: float = 1.0
    """Keep the likeliest tokens whose probabilities add up to p (nucleus); in (0, 1],
    1 = off."""
    greedy: bool = False
    """Always take the likeliest token (argmax) instead of drawing."""
    seed: int | None = None
    """Seed of the draws for a repeatable sample; None = a fresh one each time."""

    def validate(self) -> None:
        if _not_int(self.length) or self.length < 0:
            raise SamplingError(f"length must be 0 or more, got {self.length!r}")
        if self.length > MAX_LENGTH:
            raise SamplingError(f"length={self.length:,} is more than {MAX_LENGTH:,} new "
                                "tokens a sample; ask for fewer")
        if _not_int(self.num) or self.num < 1:
            raise SamplingError(f"num must be at least 1, got {self.num!r}")
        if self.num > MAX_NUM:
            raise SamplingError(f"num={self.num:,} is more than {MAX_NUM:,} samples at once; "
                                "ask for fewer (or sample several times)")
        if self.num * self.length > MAX_TOKENS:
            raise SamplingError(f"num x length = {self.num * self.length:,} tokens is more than "
                                f"{MAX_TOKENS:,} in one request; lower num or length")
        t = self.temperature
        if not _finite(t) or (not self.greedy and t <= 0):
            raise SamplingError(f"temperature must be > 0 and finite (got {t!r}); "
                                "use --greedy for argmax")
        if not self.greedy and not MIN_TEMPERATURE <= t <= MAX_TEMPERATURE:
            raise SamplingError(f"temperature must be in [{MIN_TEMPERATURE:g}, "
                                f"{MAX_TEMPERATURE:g}] (got {t!r}); use --greedy for argmax")
        if _not_int(self.top_k) or not 0 <= self.top_k <= MAX_TOP_K:
            raise SamplingError(f"top_k must be 0 (off) or a count up to {MAX_TOP_K:,}, "
                                f"got {self.top_k!r}")
        if not _finite(self.top_p) or not 0.0 < self.top_p <= 1.0:
            raise SamplingError(f"top_p must be in (0, 1] (1 = off), got {self.top_p!r}")
        if self.seed is not None and (_not_int(self.seed) or not 0 <= self.seed <= MAX_SEED):
            raise SamplingError(f"seed must be a whole number in 0..{MAX_SEED}, "
                                f"got {self.seed!r}")


TASKS = ("lm", "classify", "seq2seq")


@dataclass(frozen=True)
class TaskOptions:
    """Keys only the classify/seq2seq tasks know; set them with ``--set`` like any other."""

    bidirectional: bool = True
    """Encoders read both ways: the whole input is available."""
    phrase_len: int = 0
    """seq2seq: cut each item into phrases of N tokens (16 = a 4/4 bar of sixteenths);
    0 = consecutive items are call and response."""

    def validate(self) -> None:
        _whole(self, "phrase_len", 0, MAX_TOKENS_PER_ROW)


def split_task_options(task: str, overrides: dict[str, Any]) -> tuple[dict[str, Any],
                                                                      TaskOptions]:
    """Take the task keys out of ``--set``/keyword overrides (the rest go to ``resolve``).
    A language model has no task keys: they stay in and ``resolve`` refuses them."""
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    rest = dict(overrides)
    if task == "lm":
        return rest, TaskOptions()
    types = field_types(TaskOptions)
    mine = {k: coerce(k, rest.pop(k), types[k]) for k in list(rest) if k in types}
    opts = TaskOptions(**mine)
    opts.validate()
    return rest, opts


# Presets: a user picks a size, not hyper-parameters. Values chosen by measurement
# (benchmarks/time_to_quality.py): `small` is the 2-core CPU recipe for tiny-shakespeare.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(  # seconds on a laptop: tests, smoke runs, Star Trek titles
        cell=DEFAULT_CELL, num_layers=1, hidden_size=64, embedding_size=32, dropout=0.0,
        batch_size=16, seq_len=64, lr=5e-3, warmup_steps=20, max_steps=300,
        eval_every=50, checkpoint_every=100,
        precision="fp32",  # bf16 buys nothing at this size; fp32 keeps small runs exact
    ),
    "small": dict(  # minutes on a laptop CPU; 2x384 beat 2x256 (dropout 0.1-0.35) in 10 min,
        # and weight drop 0.2 with lr 4e-3 beat dropout alone (README, Benchmarks)
        cell=DEFAULT_CELL, num_layers=2, hidden_size=384, embedding_size=64, dropout=0.2,
        weight_drop=0.2, forget_bias=0.0, batch_size=32, seq_len=100, lr=4e-3,
        ema=0.99,  # the averaged weights ended 0.0016 nats below the raw ones in 10 minutes
        warmup_steps=100, max_steps=5000,
        eval_every=500, checkpoint_every=500,
    ),
    "medium": dict(  # a GPU, or a long night on a CPU
        cell=DEFAULT_CELL, num_layers=3, hidden_size=512, embedding_size=128, dropout=0.3,
        batch_size=128, seq_len=128, lr=2e-3, warmup_steps=200, max_steps=10000,
        eval_every=500, checkpoint_every=1000,
    ),
    "large": dict(  # a GPU: large corpora
        cell=DEFAULT_CELL, num_layers=3, hidden_size=1024, embedding_size=256, dropout=0.4,
        batch_size=256, seq_len=256, lr=1.5e-3, warmup_steps=400, max_steps=20000,
        eval_every=1000, checkpoint_every=1000,
    ),
}

def coerce(name: str, value: Any, typ: Any) -> Any:
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


def field_types(cls: type) -> dict[str, Any]:
    return {f.name: f.type for f in fields(cls)}


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a config from a run directory's JSON, checking keys and types."""
    types = field_types(cls)
    unknown = set(data) - set(types)
    if unknown:
        raise ConfigError(f"{cls.__name__} has no key(s) {', '.join(sorted(unknown))}")
    return cls(**{k: coerce(k, v, types[k]) if v is not None else v for k, v in data.items()})
