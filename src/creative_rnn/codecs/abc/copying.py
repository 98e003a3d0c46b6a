"""How the copy meter compares ABC tunes: the ABC codec's ``pitch_reading``.

A note's sounding pitch comes from its letter, the key signature and the accidentals earlier
in its bar (pitch.py), so the meter compares the interval between sounding pitches and a
tune copied in another key still counts. Every key field is compared as its mode only and
every accidental as one symbol: a transposed tune spells them differently, and the sounding
pitch already holds them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..capabilities import PitchReading
from . import pitch
from .tokens import ACCIDENTALS, is_bar, is_pitch


class AbcPitches(PitchReading):
    name = "abc-intervals"  # the copy index's key: unchanged, so cached indexes stay valid

    def __init__(self, tokens: Sequence[str]):
        super().__init__(tokens)
        self._classes: dict[int, str] = {}
        self.keys: set[int] = set()
        for i, tok in enumerate(self.tokens):
            if tok.strip("[]").startswith("K:") and len(tok.strip("[]")) > 2:
                self._classes[i] = f"K:{pitch.split_key(tok)[2]}"
                self.keys.add(i)
            elif tok in ACCIDENTALS:
                self._classes[i] = "accidental"
        self._notes = [i for i, t in enumerate(self.tokens) if is_pitch(t)]

    def classes(self) -> dict[int, str]:
        return dict(self._classes)

    def note_ids(self) -> list[int]:
        return list(self._notes)

    def sounding(self, ids: Sequence[int]) -> Iterator[tuple[int, int]]:
        toks = [self.tokens[i] for i in ids]
        for i, step, alter, _ in pitch.sounding(toks):
            yield i, pitch.semitone_of(step, alter)

    def context(self, history: Sequence[int]) -> list[int]:
        """From the bar line before the last note (bar accidentals reset there), with the
        key in force then: all that fixes the next note's interval."""
        history = list(history)
        notes = set(self._notes)
        last = max((i for i, t in enumerate(history) if t in notes), default=None)
        if last is None:
            return []  # no note yet: the next one is a first note, whatever the key
        start = max((i for i in range(last + 1) if is_bar(self.tokens[history[i]])),
                    default=0)
        keys = [t for t in history[:start] if t in self.keys]
        return keys[-1:] + history[start:]
