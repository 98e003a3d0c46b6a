"""Codecs by name. A domain is one module (or package) here plus its entry in the
``register`` loop: text.py, ensemble.py, abc/, midi/ (melody, performance)."""

from __future__ import annotations

from typing import Any

from ..errors import CheckpointError, UserError
from .abc import AbcCodec
from .base import Codec
from .ensemble import EnsembleCodec
from .midi import MelodyCodec, PerformanceCodec
from .text import CharCodec, WordCodec
from .vocab import Vocabulary

_REGISTRY: dict[str, type[Codec]] = {}


def register(cls: type[Codec]) -> type[Codec]:
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (CharCodec, WordCodec, EnsembleCodec, MelodyCodec, PerformanceCodec, AbcCodec):
    register(_cls)


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str, **options: Any) -> Codec:
    """A new, unfitted codec by name, e.g. ``get("char")`` or ``get("word", max_vocab=5000)``."""
    if name not in _REGISTRY:
        raise UserError(f"unknown codec {name!r}; choose one of {', '.join(names())}")
    try:
        return _REGISTRY[name](**options)
    except TypeError as e:
        raise UserError(f"bad option for codec {name!r}: {e}") from None


def for_files(name: str, **file_options: Any) -> Codec:
    """A new codec by name with those of ``file_options`` (encoding, max_vocab) it takes;
    None values are left to the codec's defaults."""
    cls = _REGISTRY.get(name)
    wanted = cls.file_options if cls is not None else ()
    return get(name, **{k: v for k, v in file_options.items() if k in wanted and v is not None})


def from_json(data: dict[str, Any]) -> Codec:
    """Rebuild a fitted codec from a run directory's ``codec.json``."""
    try:
        codec = get(data["name"], **data.get("options", {}))
        codec.load_state(data)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"codec.json is not a valid codec description ({e})") from None
    return codec


__all__ = ["Codec", "Vocabulary", "CharCodec", "WordCodec", "get", "for_files", "from_json",
           "register", "names"]
