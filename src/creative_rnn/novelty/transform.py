"""What the copy index compares: each token id as a *symbol*.

Text compares ids as they are. Music compares what survives a transposition: a note-on
becomes the interval from the previous note-on (a note-off in a performance, the interval
from the last note-on), so a tune copied in another key is still a copy; durations, rests,
bar lines and time shifts keep their own ids. ``symbols(ids)`` maps a whole sequence
(a note's symbol depends on the notes before it); ``next_symbols(history)`` gives, for every
id of the vocabulary, the symbol it would get as the next token, which is what the
originality constraint needs to forbid ids (core/logits.py stays codec-blind: it sees only
this pair of functions).

Which transform a codec gets is the codec's to say (its Copying capability, codecs/
capabilities.py): ``token_pitch`` for tokens that are notes by themselves (melody,
performance), ``pitch_reading`` where a note's pitch depends on the tokens before it (ABC),
neither for ids compared as they are. The maths here knows no codec.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..codecs import Codec, PitchReading
from ..errors import CapabilityError

# An interval beyond this many semitones counts as "a leap this far": such leaps are rare
# and keeping the symbol alphabet small keeps the index's text in one byte per token
MAX_INTERVAL = 36


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
    """Tokens that are notes by themselves (the codec's ``token_pitch``: melody and
    performance): note-ons (and note-offs) as intervals.

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
            found = codec.token_pitch(tok)
            if found is not None:
                self.pitch[i], self.kind[i] = _checked(codec, tok, found)
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


def _checked(codec: Codec, token: str, found) -> tuple[int, int]:
    """A codec's ``token_pitch`` answer, or one line naming the codec (a plugin's mistake
    must not become symbols outside the index's alphabet)."""
    try:
        pitch, kind = (int(x) for x in found)
    except (TypeError, ValueError):
        pitch, kind = -1, -1
    if not (0 <= pitch < 128 and kind in (0, 1)):
        raise CapabilityError(f"the {codec.name} codec's token_pitch({token!r}) gave "
                              f"{found!r}; it must be None or (MIDI pitch 0-127, kind 0 or 1)")
    return pitch, kind


class SoundingIntervals(Transform):
    """Tokens whose pitch depends on the tokens before them (the codec's ``pitch_reading``,
    e.g. ABC's key signatures and bar accidentals): each note as the interval between its
    sounding pitch and the previous note's; the ids the reading puts in a class (ABC: key
    fields by mode, accidentals) as one symbol per class.

    Symbols: ids below V keep their id (or their class's, ``V + class``); a note is
    ``base + interval + MAX_INTERVAL``, and ``base + W - 1`` for a piece's first note."""

    context_free = False

    def __init__(self, codec: Codec, reading: PitchReading | None = None):
        super().__init__(codec)
        self.reading = reading or codec.pitch_reading()
        self.name = self.reading.name
        self.width = 2 * MAX_INTERVAL + 2
        fixed = np.arange(self.vocab_size)
        extra: dict[str, int] = {}
        for i, label in sorted(self.reading.classes().items()):
            fixed[i] = extra.setdefault(label, self.vocab_size + len(extra))
        self.fixed = fixed
        self.note_ids = self.reading.note_ids()
        self.base = self.vocab_size + len(extra)
        self.num_symbols = self.base + self.width

    def symbols(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        out = self.fixed[ids].copy()
        prev = None
        for i, midi in self.reading.sounding(ids.tolist()):
            if prev is None:
                out[i] = self.base + self.width - 1
            else:
                out[i] = self.base + int(np.clip(midi - prev, -MAX_INTERVAL, MAX_INTERVAL)) \
                    + MAX_INTERVAL
            prev = midi
        return out

    def next_symbols(self, history: Sequence[int]) -> np.ndarray:
        context = self.reading.context(list(history))
        out = self.fixed.copy()
        for v in self.note_ids:
            out[v] = self.symbols(np.array(context + [v]))[-1]
        return out


def for_codec(codec: Codec) -> Transform:
    """The transform the copy index uses for ``codec``: what the codec says of its pitches
    (a ``pitch_reading``, else ``token_pitch`` per token), else its ids as they are."""
    reading = codec.pitch_reading()
    if reading is not None:
        return SoundingIntervals(codec, reading)
    if any(codec.token_pitch(t) is not None for t in codec.vocab.tokens):
        return PitchIntervals(codec)
    return Transform(codec)


def ngram(codec: Codec) -> int:
    """n of the n-gram share: the codec's ``copy_ngram``."""
    return int(codec.copy_ngram)
