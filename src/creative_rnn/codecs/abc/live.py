"""ABC live (``perform``, the studio's Play view): an answer sounds a bar at a time, through
the notes music21 reads from the bar; a player's phrase is written as ABC in C major."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ..live import NOTE_OFF, NOTE_ON, GridVoice, Heard, Timed
from .tokens import is_bar

HEADER = ["M:4/4", "L:1/8", "K:Cmaj"]  # the frame a heard phrase is written in
MAX_BAR_TOKENS = 64  # a bar line that never comes: play what there is


class AbcVoice(GridVoice):
    """Tokens are gathered a bar at a time, and each finished bar is read by the codec
    (``notes``, at the grid's tempo) and played from the bar's start. A bar cannot be
    accompanied step by step, so accompany is not offered."""

    answers_by = "bar"
    lookahead_quarters = 4.0  # a 4/4 bar's notes are known only once its bar line is chosen

    def warm_up(self) -> None:
        # music21's first reading imports and sets up much: not during the first answer
        try:
            self.codec.notes(self.codec.detokenize(HEADER + ["C", "|"]), qpm=120.0)
        except Exception:  # noqa: BLE001 - a warm-up only; the answer reports its own trouble
            pass

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        if not notes:
            return []
        eighth = self.grid.step_s * self.grid.steps_per_quarter / 2
        t0 = min(n.start for n in notes)
        tokens, at = list(HEADER), 0
        for n in sorted(notes, key=lambda n: n.start):
            start = round((n.start - t0) / eighth)
            if start < at:
                continue  # one line: a note under the one before is left out
            if start > at:
                tokens += ["z"] + _length(start - at)
            length = max(1, round((n.end - n.start) / eighth))
            tokens += _spell(n.pitch) + _length(length)
            at = start + length
        return tokens + ["|"]

    def begin(self, now: float) -> None:
        self.bar: list[str] = []
        self.head = [t for t in self.tokens if ":" in t] or list(HEADER)
        super().begin(now)

    def play(self, token: str) -> list[Timed]:
        self.tokens.append(token)
        if len(token) > 1 and token[1] == ":" and token[0].isalpha():
            self.head = [h for h in self.head if h[0] != token[0]] + [token]
            return []
        self.bar.append(token)
        if not is_bar(token) and len(self.bar) < MAX_BAR_TOKENS:
            return []
        text = self.codec.detokenize(self.head + self.bar)
        self.bar = []
        try:
            notes = self.codec.notes(text, qpm=60.0 / (self.grid.step_s *
                                                       self.grid.steps_per_quarter))
        except Exception:  # noqa: BLE001 - a sampled bar music21 cannot read: skip it
            return []
        out: list[Timed] = []
        step_s, t_bar = self.grid.step_s, self.next_time()
        last = 0.0
        for pitch, start, end, velocity in notes:
            out.append((t_bar + start, [NOTE_ON | self.channel, pitch, velocity]))
            out.append((t_bar + end - 1e-4, [NOTE_OFF | self.channel, pitch, 0]))
            last = max(last, end)
        self.k += max(1, round(last / step_s))
        return sorted(out, key=lambda m: m[0])


def _spell(pitch: int) -> list[str]:
    """A MIDI pitch as ABC note tokens in C major (sharps for the black keys)."""
    names = ["C", "^C", "D", "^D", "E", "F", "^F", "G", "^G", "A", "^A", "B"]
    name, octave = names[pitch % 12], pitch // 12 - 1
    acc, letter = name[:-1], name[-1]
    if octave >= 5:
        note = letter.lower() + "'" * (octave - 5)
    else:
        note = letter + "," * (4 - octave)
    return ([acc] if acc else []) + [note]


def _length(units: int) -> list[str]:
    return [] if units == 1 else [str(Fraction(units))]
