"""Codecs by name. A domain is one module here plus a ``register`` line."""

from __future__ import annotations

from typing import Any

from ..errors import CheckpointError, UserError
from .base import Codec
from .text import CharCodec, WordCodec
from .vocab import Vocabulary

_REGISTRY: dict[str, type[Codec]] = {}


def register(cls: type[Codec]) -> type[Codec]:
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (CharCodec, WordCodec):
    register(_cls)

from .ensemble import EnsembleCodec  # noqa: E402

register(EnsembleCodec)

from .melody import MelodyCodec  # noqa: E402
from .performance import PerformanceCodec  # noqa: E402

register(MelodyCodec)
register(PerformanceCodec)

from .abc import AbcCodec  # noqa: E402

register(AbcCodec)


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


def from_json(data: dict[str, Any]) -> Codec:
    """Rebuild a fitted codec from a run directory's ``codec.json``."""
    try:
        codec = get(data["name"], **data.get("options", {}))
        codec.load_state(data)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"codec.json is not a valid codec description ({e})") from None
    return codec


__all__ = ["Codec", "Vocabulary", "CharCodec", "WordCodec", "get", "from_json", "register", "names"]
