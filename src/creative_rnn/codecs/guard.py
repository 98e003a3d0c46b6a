"""The guard between the toolkit and a plugin codec's code.

A plugin (plugins.py) is a third party's code running inside every command, the studio and
``perform``. The registry hands out its class wrapped here, so whatever calls it (the token
cache, sampling, the copy meter, live play) gets the same checks with no check of its own:

- an exception from the plugin becomes a PluginError naming the plugin, its method and its
  package (a UserError: the CLI prints one line and exits 2, the studio answers 400); a
  UserError the plugin raises on purpose (a bad file: CorpusError) passes as it is;
- ids it gives (``encode``, ``live_input``, ``next_input``) are integers inside its own
  vocabulary, so nothing out of range reaches the token cache or the embedding;
- after ``fit``, ``load_state`` and ``grow`` its ``vocab_size`` agrees with its vocabulary,
  and after ``fit`` the first item it was fitted on encodes, decodes and encodes again to
  the same ids: a codec whose two directions disagree is caught before training.

Built-in codecs and codecs registered in-process (``codecs.register``) are not wrapped: the
checks cost one call and one array scan, paid only for plugins.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import PluginError, UserError
from .base import Codec
from .plugins import Plugin, find
from .vocab import UNK_ID, Vocabulary

_CLASSES: dict[str, type[Codec]] = {}  # plugin name -> its guarded class, made once


class PluginNotImplemented(PluginError, NotImplementedError):
    """A plugin's hook that is not implemented: still a NotImplementedError for the callers
    that ask for a hook and do without (the Write view's ``tokenize``), one line for the rest."""


def _why(e: BaseException) -> str:
    if isinstance(e, NotImplementedError):
        return "is not implemented (NotImplementedError)"
    lines = str(e).strip().splitlines()
    return f"raised {type(e).__name__}" + (f": {lines[0][:200]}" if lines else "")


def _fail(codec: Any, text: str) -> PluginError:
    return PluginError(f"{codec._plugin.describe()}: {text}; the fault is in the plugin's "
                       "code: update or remove that package")


def _check_ids(codec: Any, method: str, ids: Any) -> None:
    n = codec.vocab_size
    try:
        a = np.asarray(ids)
    except Exception:  # ragged or odd objects: not a list of ids either way
        a = np.asarray([None])
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        shown = repr(ids)[:60]
        raise _fail(codec, f"{method} gave {shown}, not a list of integer ids")
    if a.size and (int(a.min()) < 0 or int(a.max()) >= n):
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise _fail(codec, f"{method} gave id {bad}, outside its vocabulary of {n} "
                           f"(ids 0-{n - 1})")


def _check_id(codec: Any, method: str, i: Any) -> None:
    _check_ids(codec, method, [i])


def _check_vocab(codec: Any, method: str) -> None:
    vocab = codec.vocab
    if not isinstance(vocab, Vocabulary):
        raise _fail(codec, f"after {method} its vocab is {type(vocab).__name__}, not a "
                           "creative_rnn.codecs.Vocabulary")
    size, out = codec.vocab_size, codec.output_size
    if size != len(vocab):
        raise _fail(codec, f"it lies about its vocabulary: vocab_size says {size!r} but its "
                           f"vocabulary holds {len(vocab)} tokens")
    if isinstance(out, bool) or not isinstance(out, int) or out < 1:
        raise _fail(codec, f"output_size is {out!r}; give a positive number of classes")


def _probe(codec: Any, items: Any) -> None:
    """The first item fitted on encodes (as the token cache encodes: a token left out of a
    capped vocabulary is <unk>), decodes, and, with no <unk> in it, encodes again to the
    same ids."""
    if not isinstance(items, Sequence) or not items:
        return
    ids = list(codec.encode(items[0], unknown="unk"))
    again = codec.encode(codec.decode(ids), unknown="unk")
    if UNK_ID not in ids and list(again) != ids:
        raise _fail(codec, "decode and encode disagree: the first item it was fitted on "
                           "encodes to other ids after a decode")


def _check_tokens(voice: Any, method: str, tokens: Any) -> None:
    """Tokens a live voice gives the performer are tokens of its codec's vocabulary."""
    index = voice.codec.vocab.index
    if isinstance(tokens, str):
        tokens = [tokens]
    bad = [t for t in tokens if not isinstance(t, str) or t not in index]
    if bad:
        raise _fail(voice, f"its live voice's {method} gave {bad[0]!r}, not a token of its "
                           "vocabulary")


def _check_messages(voice: Any, method: str, timed: Any) -> None:
    """MIDI a live voice plays: (seconds, [status 0x80-0xEF, data bytes 0-127 ...])."""
    for item in timed:
        ok = isinstance(item, (tuple, list)) and len(item) == 2
        msg = item[1] if ok else None
        ok = ok and isinstance(msg, (tuple, list)) and len(msg) >= 1 \
            and all(isinstance(b, int) for b in msg) and 0x80 <= msg[0] <= 0xEF \
            and all(0 <= b <= 127 for b in msg[1:])
        if not ok:
            raise _fail(voice, f"its live voice's {method} gave {item!r}, not (seconds, "
                               "[a MIDI status byte, data bytes 0-127])")


_AFTER = {  # checks of a codec method's result (or of the codec after it)
    "encode": lambda c, args, r: _check_ids(c, "encode", r),
    "live_input": lambda c, args, r: _check_ids(c, "live_input", r),
    "next_input": lambda c, args, r: _check_id(c, "next_input", r),
    "fit": lambda c, args, r: (_check_vocab(c, "fit"), _probe(c, args[0] if args else ())),
    "load_state": lambda c, args, r: _check_vocab(c, "load_state"),
    "grow": lambda c, args, r: _check_vocab(c, "grow"),
    # the live voice it makes is guarded too: its class becomes a checked subclass
    "live_voice": lambda c, args, r: _guard_voice(c, r),
}
_VOICE_AFTER = {  # and the checks of a live voice's results
    "phrase_tokens": lambda v, args, r: _check_tokens(v, "phrase_tokens", r),
    "heard_tokens": lambda v, args, r: _check_tokens(v, "heard_tokens", r),
    "rest": lambda v, args, r: _check_tokens(v, "rest", r),
    "play": lambda v, args, r: _check_messages(v, "play", r),
    "end": lambda v, args, r: _check_messages(v, "end", r),
}


def _wrap(name: str, fn: Any, checks: dict) -> Any:
    after = checks.get(name)

    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        try:
            result = fn(self, *args, **kwargs)
        except Exception as e:
            if _ours(e):
                raise
            if isinstance(e, NotImplementedError):
                raise PluginNotImplemented(str(_fail(self, f"{name} {_why(e)}"))) from e
            raise _fail(self, f"{name} {_why(e)}") from e
        if after is not None:
            after(self, args, result)
        return result

    return call


def _ours(e: Exception) -> bool:
    """The toolkit's own exceptions pass as they are: a UserError meant for the user (a bad
    file the plugin refused, an unknown token) and signals such as the corpus reader's time
    limit, raised inside the plugin's call but not by its fault."""
    return isinstance(e, UserError) or type(e).__module__.startswith("creative_rnn.")


def _wrap_init(fn: Any) -> Any:
    @functools.wraps(fn)
    def init(self, *args, **kwargs):
        try:
            fn(self, *args, **kwargs)
        except TypeError:  # a bad option, which codecs.get words
            raise
        except Exception as e:
            if _ours(e):
                raise
            raise _fail(self, f"creating it {_why(e)}") from e

    return init


def _rebuild(name: str, state: dict) -> Codec:
    """A guarded codec in a child process (corpora read off the main thread): its class is
    found again through the entry point, never sent."""
    cls = _CLASSES.get(name)  # made already in this process (a copy, not a child)
    if cls is None:
        found = find(name)
        if found is None:
            raise PluginError(f"codec plugin {name!r} is not installed where this process runs")
        cls = guarded(*found)
    codec = cls.__new__(cls)
    codec.__dict__.update(state)
    return codec


def _reduce(self) -> tuple:
    return _rebuild, (self._plugin.name, dict(self.__dict__))


def _checked(cls: type, plugin: Plugin, checks: dict, namespace: dict) -> type:
    """A subclass of ``cls`` with every public method (and property) wrapped."""
    namespace = {"_plugin": plugin, "__module__": cls.__module__, "__doc__": cls.__doc__,
                 **namespace}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name)
        if inspect.isfunction(raw):
            namespace[name] = _wrap(name, raw, checks)
        elif isinstance(raw, property) and raw.fget is not None:
            namespace[name] = property(_wrap(name, raw.fget, checks))
    return type(cls.__name__, (cls,), namespace)


def guarded(cls: type[Codec], plugin: Plugin) -> type[Codec]:
    """``cls`` with every public method (and property) wrapped as the module says."""
    if plugin.name in _CLASSES and _CLASSES[plugin.name].__mro__[1] is cls:
        return _CLASSES[plugin.name]
    made = _checked(cls, plugin, _AFTER, {"__reduce__": _reduce,
                                          "__init__": _wrap_init(cls.__init__)})
    _CLASSES[plugin.name] = made
    return made


_VOICES: dict[type, type] = {}  # a plugin's voice class -> its guarded subclass


def _guard_voice(codec: Any, voice: Any) -> None:
    """The live voice a plugin made, checked from now on (its class swapped in place for a
    guarded subclass, so the object the performer holds is the one the plugin made)."""
    if voice is None or getattr(type(voice), "_plugin", None) is not None:
        return
    cls = type(voice)
    if cls not in _VOICES:
        _VOICES[cls] = _checked(cls, codec._plugin, _VOICE_AFTER, {})
    voice.__class__ = _VOICES[cls]
