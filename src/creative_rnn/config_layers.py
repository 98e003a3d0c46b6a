"""A run's configuration as layers, and the one resolver of them.

A run's configuration is made of layers (``Layer``), each a set of values and where they came
from, and ``resolve_layers`` alone turns them into configs. Precedence, lowest first:
dataclass defaults < preset < the codec < file (``--config``, TOML or JSON) < values fitted
(to the machine, the corpus, a fine-tune's parent and budget) < the user's ``--set`` and flags
< limits no value may pass (a corpus too small for the batch). Every key's source is kept, so
``creative-rnn config RUN`` can say where each value came from. Unknown keys and wrong types
are errors, so a typo never trains silently with a default.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .config import PRESETS, ModelConfig, TrainConfig, coerce, field_types
from .errors import ConfigError

_MODEL_KEYS = {f.name for f in fields(ModelConfig)} - {"vocab_size", "output_size"}
_TRAIN_KEYS = {f.name for f in fields(TrainConfig)}


def parse_set(pairs: list[str], flag: str = "--set", example: str = "hidden_size=256"
              ) -> dict[str, str]:
    """Parse ``key=value`` strings from ``--set`` (or another ``flag`` of such pairs)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {pair!r} is not key=value (e.g. {flag} {example})")
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
    except ValueError as e:  # bad syntax, bad UTF-8, or an integer beyond int()'s digit limit
        raise ConfigError(f"config file {p} is not valid {p.suffix or 'JSON'}: "
                          f"{str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a table of keys")
    flat: dict[str, Any] = {}
    for k, v in data.items():
        if k in ("model", "train") and isinstance(v, dict):
            flat.update(v)
        else:
            flat[k] = v
    return flat


# Where a value may come from, lowest precedence first. Values fitted by the toolkit never
# take a key the user set (each fitter is told the user's keys, ``Resolved.pinned``), so
# "fitted" below "user" only says who wins should they meet; a "limit" is a bound the run
# cannot pass, the user's value included (a corpus too small for the batch; the minutes that
# fitting took out of the user's budget).
RANKS = ("default", "preset", "codec", "file", "fitted", "user", "limit")


@dataclass(frozen=True)
class Layer:
    """Config values from one source: ``source`` names it ("preset tiny", "--set", "fitted to
    the machine"), ``why`` may give a reason per key, ``rank`` is its precedence (RANKS)."""

    source: str
    values: dict[str, Any]
    rank: str = "fitted"
    why: dict[str, str] = field(default_factory=dict)

    def says(self, key: str) -> str:
        """Where ``key``'s value came from, with its reason where there is one."""
        return f"{self.source}: {self.why[key]}" if key in self.why else self.source


@dataclass(frozen=True)
class Resolved:
    """A run's configs, where each key's value came from (``sources``), and the layers they
    were resolved from (``then`` adds more and resolves again)."""

    model: ModelConfig
    train: TrainConfig
    sources: dict[str, str]
    layers: tuple[Layer, ...]

    def then(self, *layers: Layer) -> Resolved:
        return resolve_layers(*self.layers, *layers)

    @property
    def pinned(self) -> set[str]:
        """The keys the user chose (a config file, ``--set``, flags): fitting leaves them."""
        return {k for layer in self.layers if layer.rank in ("file", "user")
                for k in layer.values}


def resolve_layers(*layers: Layer) -> Resolved:
    """The one resolver: ``layers`` applied by rank (RANKS; in the order given within a rank)
    over the dataclass defaults, checked (unknown keys, types, ranges), with each key's
    source."""
    values: dict[str, Any] = {}
    sources = dict.fromkeys(sorted(_MODEL_KEYS | _TRAIN_KEYS), "default")
    for layer in sorted(layers, key=lambda layer: RANKS.index(layer.rank)):  # stable
        unknown = sorted(set(layer.values) - _MODEL_KEYS - _TRAIN_KEYS)
        if unknown:
            known = ", ".join(sorted(_MODEL_KEYS | _TRAIN_KEYS))
            raise ConfigError(f"unknown config key(s) {', '.join(unknown)} ({layer.source}); "
                              f"known keys: {known}")
        values.update(layer.values)
        sources.update({k: layer.says(k) for k in layer.values})
    mtypes, ttypes = field_types(ModelConfig), field_types(TrainConfig)
    m = {k: coerce(k, v, mtypes[k]) for k, v in values.items() if k in _MODEL_KEYS}
    t = {k: coerce(k, v, ttypes[k]) for k, v in values.items() if k in _TRAIN_KEYS}
    model, train = ModelConfig(**m), TrainConfig(**t)
    model.validate()
    train.validate()
    return Resolved(model, train, sources, tuple(layers))


def given_layers(preset: str | None = None, file: str | Path | None = None,
                 overrides: dict[str, Any] | None = None,
                 override_sources: dict[str, str] | None = None) -> list[Layer]:
    """The layers a user gives: a preset, a config file, and overrides, each override's
    source from ``override_sources`` ("--set", "flag --max-steps"; "--set" where not
    given)."""
    layers = []
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        layers.append(Layer(f"preset {preset}", PRESETS[preset], "preset"))
    if file is not None:
        layers.append(Layer(f"config file {file}", read_config_file(file), "file"))
    by_source: dict[str, dict[str, Any]] = {}
    for k, v in (overrides or {}).items():
        by_source.setdefault((override_sources or {}).get(k, "--set"), {})[k] = v
    layers += [Layer(source, values, "user") for source, values in by_source.items()]
    return layers


def resolve(
    preset: str | None = None,
    file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[ModelConfig, TrainConfig]:
    """(ModelConfig, TrainConfig) from defaults < preset < file < overrides, nothing fitted
    (``resolve_layers`` with ``given_layers``)."""
    resolved = resolve_layers(*given_layers(preset, file, overrides))
    return resolved.model, resolved.train
