"""Between a run's tokens and notes in time: one voice per kind of music codec.

A voice does two things. ``phrase_tokens`` turns notes the player played (wall-clock
seconds) into the tokens the model reads, through the codec's own encoding. ``play`` turns
one token the model chose into MIDI messages at their wall-clock times, moving the voice's
position on: a melody step on the grid, a performance event in 10 ms time shifts, an ABC
bar through the notes ABC describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from ..codecs.midi.melody import NO_EVENT, NOTE_OFF, canonical, steps_from_notes
from ..codecs.midi.performance import STEPS_PER_SECOND
from .ports import NOTE_OFF as MIDI_OFF
from .ports import NOTE_ON as MIDI_ON

Timed = tuple[float, list[int]]  # (wall-clock seconds, MIDI message)


class Heard(NamedTuple):
    """A note the player played: pitch, velocity, start and end (wall-clock seconds)."""

    pitch: int
    velocity: int
    start: float
    end: float


class Voice:
    """The interface; ``grid`` is a clock.Grid or ClockFollower (melody and ABC voices)."""

    def __init__(self, codec: Any, grid: Any, channel: int = 0, speed: float = 1.0):
        self.codec, self.grid, self.channel, self.speed = codec, grid, channel, speed
        self.sounding: dict[int, float] = {}  # pitch -> when its note-on goes out
        self.tokens: list[str] = []  # what this answer played, for writing it to a file

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        raise NotImplementedError

    def begin(self, now: float) -> None:
        """Start an answer at the first position at or after ``now``."""
        raise NotImplementedError

    def next_time(self) -> float:
        """When the next token would sound."""
        raise NotImplementedError

    def played(self) -> float:
        """How far the answer has got: steps for a grid voice, seconds otherwise."""
        raise NotImplementedError

    def play(self, token: str) -> list[Timed]:
        raise NotImplementedError

    def end(self) -> list[Timed]:
        """Note-offs for what still sounds, at the answer's current position."""
        t = self.next_time()
        out = [(t, [MIDI_OFF | self.channel, p, 0]) for p in self.sounding]
        self.sounding.clear()
        return out

    def _on(self, t: float, pitch: int, velocity: int) -> list[Timed]:
        out = self._off(t, pitch) if pitch in self.sounding else []
        self.sounding[pitch] = t
        return out + [(t, [MIDI_ON | self.channel, pitch, max(1, min(127, velocity))])]

    def _off(self, t: float, pitch: int) -> list[Timed]:
        if self.sounding.pop(pitch, None) is None:
            return []
        return [(t, [MIDI_OFF | self.channel, pitch, 0])]


class GridVoice(Voice):
    """A voice on the clock's grid (melody, ABC): its position ``k`` counts grid steps."""

    grid_based = True

    def begin(self, now: float) -> None:
        self.k = self.start = self.grid.first_step_at(now)
        self.sounding.clear()
        self.tokens = []

    def next_time(self) -> float:
        return self.grid.time_of(self.k)

    def played(self) -> float:
        return self.k - self.start


class MelodyVoice(GridVoice):
    """One token a grid step: 0-127 a note-on (ending the note before), 128 a note-off,
    129 nothing new."""

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        if not notes:
            return []
        spq, step_s = self.grid.steps_per_quarter, self.grid.step_s
        t0 = min(n.start for n in notes)
        quarters = [(n.pitch, (n.start - t0) / step_s / spq, (n.end - t0) / step_s / spq)
                    for n in notes]
        return [str(v) for v in canonical(steps_from_notes(quarters, spq))]

    def play(self, token: str) -> list[Timed]:
        v, t = int(token), self.next_time()
        self.tokens.append(token)
        self.k += 1
        if v == NO_EVENT:
            return []
        out = [m for p in list(self.sounding) for m in self._off(t, p)]
        if v < NOTE_OFF:
            out += self._on(t, v, self.codec.options["velocity"])
        return out


class PerformanceVoice(Voice):
    """Performance-RNN events: ``shiftN`` moves time on by N x 10 ms (divided by
    ``speed``, the followed clock's tempo against 120 bpm), ``onP``/``offP`` switch notes,
    ``velB`` sets the loudness of the notes after it."""

    grid_based = False

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        if not notes:
            return []
        t0 = min(n.start for n in notes)
        return self.codec.tokenize([(n.pitch, (n.start - t0) * self.speed,
                                     (n.end - t0) * self.speed, n.velocity) for n in notes])

    def begin(self, now: float) -> None:
        self.t0 = self.t = now
        self.velocity = self.codec.options["velocity"]
        self.sounding.clear()
        self.tokens = []

    def next_time(self) -> float:
        return self.t

    def played(self) -> float:
        return (self.t - self.t0) * self.speed

    def play(self, token: str) -> list[Timed]:
        self.tokens.append(token)
        out: list[Timed] = []
        if token.startswith("shift"):
            self.t += int(token[5:]) / STEPS_PER_SECOND / self.speed
            hang = self.codec.options["hanging_note_s"]
            # the decoder's rule, live: a note never switched off ends hanging_note_s after
            for p, start in list(self.sounding.items()):
                if self.t - start >= hang:
                    out += self._off(start + hang, p)
        elif token.startswith("vel"):
            self.velocity = self.codec.bin_velocity(int(token[3:]))
        elif token.startswith("on"):
            out += self._on(self.t, int(token[2:]), self.velocity)
        elif token.startswith("off"):
            out += self._off(self.t, int(token[3:]))
        return out


class AbcVoice(GridVoice):
    """ABC tunes through their notes: tokens are gathered a bar at a time, and each finished
    bar is read by the codec (``notes``, at the grid's tempo) and played from the bar's
    start. The player's phrase is written as ABC in C major, one note per eighth."""

    HEADER = ["M:4/4", "L:1/8", "K:Cmaj"]  # the frame a heard phrase is written in
    MAX_BAR_TOKENS = 64  # a bar line that never comes: play what there is

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        if not notes:
            return []
        eighth = self.grid.step_s * self.grid.steps_per_quarter / 2
        t0 = min(n.start for n in notes)
        tokens, at = list(self.HEADER), 0
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
        self.head = [t for t in self.tokens if ":" in t] or list(self.HEADER)
        super().begin(now)

    def play(self, token: str) -> list[Timed]:
        self.tokens.append(token)
        if len(token) > 1 and token[1] == ":" and token[0].isalpha():
            self.head = [h for h in self.head if h[0] != token[0]] + [token]
            return []
        self.bar.append(token)
        if token not in ("|", "||", "|]", ":|", "|:", "::") and \
                len(self.bar) < self.MAX_BAR_TOKENS:
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
            out.append((t_bar + start, [MIDI_ON | self.channel, pitch, velocity]))
            out.append((t_bar + end - 1e-4, [MIDI_OFF | self.channel, pitch, 0]))
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
