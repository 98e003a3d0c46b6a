"""Codecs by name. A domain is one module (or package) here plus its entry in the
``register`` loop: text.py, ensemble.py, abc/, midi/ (melody, performance); or a codec in
another package, found through the ``creative_rnn.codecs`` entry-point group (plugins.py)
the first time a codec is looked up, and wrapped by guard.py."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from ..errors import CheckpointError, PluginError, UserError
from .abc import AbcCodec
from .base import Codec
from .capabilities import PitchReading, StreamEncoder
from .ensemble import EnsembleCodec
from .guard import guarded
from .live import GridVoice, Heard, LiveVoice
from .midi.io import Note, midi_bytes, write_midi
from .midi.melody import MelodyCodec
from .midi.music import MAX_PHRASE_TOKENS
from .midi.performance import PerformanceCodec
from .midi.render import find_fluidsynth, find_soundfont, render_wav
from .plugins import Plugin, discover
from .text import CharCodec, WordCodec
from .vocab import BOS_ID, EOS_ID, NUM_SPECIAL, UNK_ID, Vocabulary

_REGISTRY: dict[str, type[Codec]] = {}


def register(cls: type[Codec]) -> type[Codec]:
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (CharCodec, WordCodec, EnsembleCodec, MelodyCodec, PerformanceCodec, AbcCodec):
    register(_cls)

_PLUGINS: dict[str, Plugin] = {}  # codec name -> where it came from (plugins only)
_LEFT_OUT: dict[str, str] = {}  # plugin name -> the one line that says why it is not loaded
_plugins_read = False


def _load_plugins() -> None:
    """Registers the entry-point codecs once per process, when a codec is first looked up
    (not at import: a broken plugin must not stop ``import creative_rnn``). Each one left
    out is said on one line on stderr; every other codec still loads."""
    global _plugins_read
    if _plugins_read:
        return
    _plugins_read = True
    found, left_out = discover(set(_REGISTRY))
    for name, (cls, plugin) in found.items():
        _REGISTRY[name] = guarded(cls, plugin)
        _PLUGINS[name] = plugin
    _LEFT_OUT.update(left_out)
    for line in left_out.values():
        print(f"creative-rnn: {line}", file=sys.stderr)


def find_plugins() -> dict[str, Plugin]:
    """Look for plugins again, e.g. after ``pip install`` in a running notebook: the ones
    found now replace those found before."""
    global _plugins_read
    importlib.invalidate_caches()  # a package installed since may sit in a folder read before
    for name in _PLUGINS:
        _REGISTRY.pop(name, None)
    _PLUGINS.clear()
    _LEFT_OUT.clear()
    _plugins_read = False
    return plugins()


def plugins() -> dict[str, Plugin]:
    """The codecs that came from other packages, by name."""
    _load_plugins()
    return dict(_PLUGINS)


def left_out() -> dict[str, str]:
    """Plugins found but not loaded: name -> why (one line naming the entry point and
    package)."""
    _load_plugins()
    return dict(_LEFT_OUT)


def names() -> list[str]:
    _load_plugins()
    return sorted(_REGISTRY)


def get(name: str, **options: Any) -> Codec:
    """A new, unfitted codec by name, e.g. ``get("char")`` or ``get("word", max_vocab=5000)``."""
    _load_plugins()
    if name not in _REGISTRY:
        if name in _LEFT_OUT:
            raise PluginError(_LEFT_OUT[name])
        raise UserError(f"unknown codec {name!r}; choose one of {', '.join(names())}")
    try:
        return _REGISTRY[name](**options)
    except TypeError as e:
        raise UserError(f"bad option for codec {name!r}: {e}") from None


def for_files(name: str, **file_options: Any) -> Codec:
    """A new codec by name with those of ``file_options`` (encoding, max_vocab) it takes;
    None values are left to the codec's defaults."""
    _load_plugins()
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


def book_formats() -> dict[str, str]:
    """``library export`` formats that hold many pieces in one file, and the codec whose
    pieces each holds: {"abc": "abc"} (a tunebook), plus any a plugin declares."""
    _load_plugins()
    return {cls.book_format: name for name, cls in sorted(_REGISTRY.items()) if cls.book_format}


__all__ = ["Codec", "Vocabulary", "CharCodec", "WordCodec", "get", "for_files", "from_json",
           "register", "names", "plugins", "find_plugins", "left_out", "Plugin",
           "GridVoice", "Heard", "LiveVoice"]
# MIDI files and audio, for the studio's Play view (a take as MIDI, its piano's notes)
__all__ += ["Note", "midi_bytes", "write_midi", "find_fluidsynth", "find_soundfont", "render_wav"]
# the shared vocabulary's special ids, the capability protocols, and the longest prime
# phrase a music codec expands (the studio bounds a score's ids by it)
__all__ += ["book_formats", "NUM_SPECIAL", "BOS_ID", "EOS_ID", "UNK_ID", "PitchReading",
            "StreamEncoder", "MAX_PHRASE_TOKENS"]
