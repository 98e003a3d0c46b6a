"""What the copy index compares: each token id as a *symbol*.

Text compares ids as they are. Music compares what survives a transposition: a note-on
becomes the interval from the previous note-on (a note-off in a performance, the interval
from the last note-on), so a tune copied in another key is still a copy; durations, rests,
bar lines and time shifts keep their own ids. ``symbols(ids)`` maps a whole sequence
(a note's symbol depends on the notes before it); ``next_symbols(history)`` gives, for every
id of the vocabulary, the symbol it would get as the next token, which is what the
originality constraint needs to forbid ids (core/logits.py stays codec-blind: it sees only
this pair of functions).

Which transform a codec gets is decided here by codec name, the one place that knows: the
codecs themselves need not change for the meter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..codecs.base import Codec

# An interval beyond this many semitones counts as "a leap this far": such leaps are rare
# and keeping the symbol alphabet small keeps the index's text in one byte per token
MAX_INTERVAL = 36

# n of the n-gram share, in tokens: about two words of characters, four words (with their
# spaces) of the word codec, a 4/4 bar of sixteenth steps, a bar of ABC notes and bar line
NGRAM = {"char": 10, "word": 8, "melody": 16, "performance": 24, "abc": 10}
DEFAULT_NGRAM = 8


class Transform:
    """Ids are their own symbols (text, and any codec without a better notion of a copy)."""

    name = "tokens"
    context_free = True  # a symbol depends on its id alone (not on the tokens before it)

    def __init__(self, codec: Codec):
        self.vocab_size = codec.vocab_size
        self.num_symbols = self.vocab_size

    def symbols(self, ids: np.ndarray) -> np.ndarray:
        """``(T,)`` ids of one document (or stream) -> ``(T,)`` symbols."""
        return np.asarray(ids)

    def next_symbols(self, history: Sequence[int]) -> np.ndarray:
        """``(V,)``: the symbol each id would have if it came after ``history``."""
        return np.arange(self.vocab_size)


class PitchIntervals(Transform):
    """Melody and performance tokens: note-ons (and note-offs) as intervals.

    Symbols: ids below V keep their id; a pitch token of kind k (0 note-on, 1 note-off) is
    ``V + k * W + interval + MAX_INTERVAL``, and ``V + k * W + W - 1`` where no note-on came
    before it (the first note of a piece: its absolute pitch is what a transposition moves).
    """

    name = "intervals"
    context_free = False

    def __init__(self, codec: Codec):
        super().__init__(codec)
        self.pitch = np.full(self.vocab_size, -1, np.int64)
        self.kind = np.full(self.vocab_size, -1, np.int64)
        for i, tok in enumerate(codec.vocab.tokens):
            pitch, kind = _pitch_of(codec.name, tok)
            if pitch is not None:
                self.pitch[i], self.kind[i] = pitch, kind
        self.width = 2 * MAX_INTERVAL + 2
        self.num_symbols = self.vocab_size + 2 * self.width

    def symbols(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):  # an empty sample (``before`` below would hold one place)
            return ids
        kind = self.kind[ids]
        on = np.where(kind == 0, np.arange(len(ids)), -1)
        last_on = np.maximum.accumulate(on) if len(ids) else on
        before = np.concatenate([[-1], last_on[:-1]])  # the last note-on strictly before
        prev_pitch = np.where(before >= 0, self.pitch[ids[np.maximum(before, 0)]], -1)
        return np.where(kind >= 0, self._pitch_symbol(kind, self.pitch[ids], prev_pitch), ids)

    def next_symbols(self, history: Sequence[int]) -> np.ndarray:
        ons = [t for t in history if 0 <= t < self.vocab_size and self.kind[t] == 0]
        prev = self.pitch[ons[-1]] if ons else -1
        ids = np.arange(self.vocab_size)
        return np.where(self.kind >= 0, self._pitch_symbol(self.kind, self.pitch, prev), ids)

    def _pitch_symbol(self, kind, pitch, prev) -> np.ndarray:
        step = np.clip(pitch - prev, -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
        step = np.where(np.asarray(prev) >= 0, step, self.width - 1)
        return self.vocab_size + np.maximum(kind, 0) * self.width + step


def _pitch_of(codec: str, token: str) -> tuple[int | None, int]:
    if codec == "melody" and token.isdigit() and int(token) < 128:
        return int(token), 0
    if codec == "performance":
        for kind, prefix in ((0, "on"), (1, "off")):
            if token.startswith(prefix) and token[len(prefix):].isdigit():
                return int(token[len(prefix):]), kind
    return None, -1


class AbcIntervals(Transform):
    """ABC tokens: each pitch token as the interval between its sounding pitch and the
    previous one's (key signature and bar accidentals applied, codecs/abc/pitch.py); every
    key field as its mode only, and every accidental as one symbol (a transposed tune spells
    them differently, and the sounding pitch already holds them)."""

    name = "abc-intervals"
    context_free = False

    def __init__(self, codec: Codec):
        from ..codecs.abc import pitch as abc_pitch  # music21 behind it: only for ABC runs
        from ..codecs.abc.tokens import ACCIDENTALS, is_bar, is_pitch
        self._pitch, self._is_bar = abc_pitch, is_bar
        super().__init__(codec)
        self.tokens = list(codec.vocab.tokens)
        self.width = 2 * MAX_INTERVAL + 2
        fixed = np.arange(self.vocab_size)
        extra: dict[str, int] = {}
        self.is_key = np.zeros(self.vocab_size, bool)
        for i, tok in enumerate(self.tokens):
            if tok.strip("[]").startswith("K:") and len(tok.strip("[]")) > 2:
                mode = abc_pitch.split_key(tok)[2]
                fixed[i] = extra.setdefault(f"K:{mode}", self.vocab_size + len(extra))
                self.is_key[i] = True
            elif tok in ACCIDENTALS:
                fixed[i] = extra.setdefault("accidental", self.vocab_size + len(extra))
        self.fixed = fixed
        self.pitch_ids = [i for i, t in enumerate(self.tokens) if is_pitch(t)]
        self.base = self.vocab_size + len(extra)
        self.num_symbols = self.base + self.width

    def symbols(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        out = self.fixed[ids].copy()
        prev = None
        toks = [self.tokens[i] for i in ids.tolist()]
        for i, step, alter, _ in self._pitch.sounding(toks):
            midi = self._pitch.semitone_of(step, alter)
            if prev is None:
                out[i] = self.base + self.width - 1
            else:
                out[i] = self.base + int(np.clip(midi - prev, -MAX_INTERVAL, MAX_INTERVAL)) \
                    + MAX_INTERVAL
            prev = midi
        return out

    def next_symbols(self, history: Sequence[int]) -> np.ndarray:
        context = self._context(list(history))
        out = self.fixed.copy()
        for v in self.pitch_ids:
            out[v] = self.symbols(np.array(context + [v]))[-1]
        return out

    def _context(self, history: list[int]) -> list[int]:
        """The tail of ``history`` that fixes the next note's symbol: from the bar line
        before its last note (bar accidentals reset there), with the key in force then."""
        pitches = set(self.pitch_ids)
        last = max((i for i, t in enumerate(history) if t in pitches), default=None)
        if last is None:
            return []  # no note yet: the next one is a first note, whatever the key
        start = max((i for i in range(last + 1) if self._is_bar(self.tokens[history[i]])),
                    default=0)
        keys = [t for t in history[:start] if self.is_key[t]]
        return keys[-1:] + history[start:]


def for_codec(codec: Codec) -> Transform:
    """The transform the copy index uses for ``codec`` (see the module docstring)."""
    if codec.name in ("melody", "performance"):
        return PitchIntervals(codec)
    if codec.name == "abc":
        return AbcIntervals(codec)
    return Transform(codec)


def ngram(codec: Codec) -> int:
    return NGRAM.get(codec.name, DEFAULT_NGRAM)
