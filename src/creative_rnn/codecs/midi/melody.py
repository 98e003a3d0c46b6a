"""The course's melody encoding: one value per time step (a sixteenth note by default).

    0-127  note-on at that MIDI pitch (the previous note, if any, ends here)
    128    note-off
    129    no event (whatever sounds keeps sounding; silence stays silent)

130 classes, a fixed vocabulary (tokens "0".."129", ids 4..133 after the 4 specials).
Polyphony is reduced to one line: of notes starting together the highest wins, and a lower
note starting under a held higher one is dropped (a "skyline", as melody extraction does).
Melodies are transposed by octaves into a pitch range (Magenta's basic range 48-84 by
default); the range is also a sampling constraint, so the model never leaves it.

An item is a list of step values. A ``str`` item is a user's phrase (``--prime``): pitches as
numbers or names, each one step long or ``:n`` steps (``C4:4 E4:4 G4:8``), ``-`` for a step
with no event, ``x`` for a note-off, and ``|`` ignored (bar lines, as ``render`` prints them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ...core.logits import forbid
from ...errors import ConfigError, CorpusError, SamplingError
from ..live import GridVoice, Heard, Timed
from ..vocab import NUM_SPECIAL
from .io import DRUM_CHANNEL, MidiData, Note, write_midi
from .music import (
    MusicCodec,
    check_option,
    histogram_distance,
    parse_pitch,
    phrase_limit,
    pitch_class_histogram,
    pitch_name,
)

NOTE_OFF, NO_EVENT = 128, 129
MAX_STEPS = 200_000  # ~7 hours of sixteenths at 120 bpm: more means a corrupt tick value
_STEP_COUNT = re.compile(r"[1-9][0-9]{0,8}", re.ASCII)  # a note's length in a phrase: a whole
# number of steps from 1; nine digits at most, so int() never meets a huge number


def steps_from_notes(notes: Sequence[tuple[int, float, float]], steps_per_quarter: int,
                     end: float = 0.0) -> list[int]:
    """Notes ``(pitch, start, end)`` in quarter notes -> melody steps (skyline of the notes).

    The melody lasts until ``end`` (quarters) or the last note's end, whichever is later;
    a note ending exactly at the melody's end gets no note-off step (there is no step left).
    """
    onsets: dict[int, tuple[int, int]] = {}  # step -> (end step, pitch): highest note wins
    last = round(end * steps_per_quarter)
    for pitch, start, stop in notes:
        s = round(start * steps_per_quarter)
        e = max(round(stop * steps_per_quarter), s + 1)  # a grace note still lasts one step
        last = max(last, e)
        if s not in onsets or pitch > onsets[s][1]:
            onsets[s] = (e, pitch)
    if last > MAX_STEPS:
        raise CorpusError(f"absurd tick value: a melody of {last} steps (limit {MAX_STEPS})")
    steps = [NO_EVENT] * last
    current: tuple[int, int] | None = None  # (end step, pitch) of the sounding note
    for t in range(last):
        if current is not None and t >= current[0]:
            steps[t], current = NOTE_OFF, None
        onset = onsets.get(t)
        if onset is not None and (current is None or onset[1] >= current[1]):
            steps[t], current = onset[1], onset
    return steps


def steps_to_notes(steps: Sequence[int], steps_per_quarter: int = 4, bpm: float = 120.0,
                   velocity: int = 80) -> list[Note]:
    """Melody steps -> notes in seconds. A note lasts until the next note-on or note-off,
    or the end of the melody."""
    step_s = 60.0 / bpm / steps_per_quarter
    notes: list[Note] = []
    current: tuple[int, int] | None = None  # (pitch, start step)
    for t, v in enumerate(list(steps) + [NOTE_OFF]):
        if v <= NOTE_OFF and current is not None:
            notes.append(Note(current[0], current[1] * step_s, t * step_s, velocity))
            current = None
        if v < NOTE_OFF:
            current = (int(v), t)
    return notes


def canonical(steps: Sequence[int]) -> list[int]:
    """The same melody with redundant note-offs (nothing sounding) written as no-event."""
    out, sounding = [], False
    for v in steps:
        if v == NOTE_OFF and not sounding:
            v = NO_EVENT
        sounding = v < NOTE_OFF or (sounding and v == NO_EVENT)
        out.append(int(v))
    return out


def transpose_into(steps: Sequence[int], low: int, high: int) -> list[int]:
    """The old rule (``octaves="note"``): shift by whole octaves so most notes fall in
    [low, high] (the smallest shift among the best), then fold any remaining outliers into
    the range octave by octave. Folding single notes changes the melody's contour."""
    pitches = [v for v in steps if v < NOTE_OFF]
    if not pitches:
        return list(steps)
    best = max(range(-10, 11), key=lambda k: (sum(low <= p + 12 * k <= high for p in pitches),
                                              -abs(k)))
    out = []
    for v in steps:
        if v < NOTE_OFF:
            v += 12 * best
            while v < low:
                v += 12
            while v > high:
                v -= 12
        out.append(v)
    return out


def _octave_shifts(pitches: Sequence[int], low: int, high: int) -> range:
    """The whole-octave shifts k that put every one of ``pitches`` (+ 12 k) in [low, high];
    empty when none does."""
    return range(-((min(pitches) - low) // 12), (high - max(pitches)) // 12 + 1)


def _phrases(steps: Sequence[int]) -> list[list[int]]:
    """The indices of the note-ons, grouped into phrases: a note that starts after silence
    (a note-off, or the start) begins a new phrase; legato notes stay together."""
    phrases: list[list[int]] = []
    sounding = False
    for t, v in enumerate(steps):
        if v == NOTE_OFF:
            sounding = False
        elif v < NOTE_OFF:
            if not sounding or not phrases:
                phrases.append([])
            phrases[-1].append(t)
            sounding = True
    return phrases


def move_into(steps: Sequence[int], low: int, high: int) -> tuple[list[int], str]:
    """Move a melody by whole octaves into [low, high] keeping its shape: the whole melody
    when one shift fits it (the smallest such shift), else phrase by phrase, and a phrase
    that no shift fits is cut into as few runs of notes as can be moved. Consecutive pieces
    that one shift fits are moved together, and each takes the shift nearest the one before
    (the first: nearest no shift), so intervals change only between pieces, by octaves.

    Returns the steps and how they were moved: "whole", "phrases" or "folded" (a phrase
    was cut: its range is wider than the window or straddles it)."""
    phrases = _phrases(steps)
    if not phrases:
        return list(steps), "whole"
    pieces: list[list[int]] = []  # runs of note-on indices, each to move by one shift
    how = "whole"
    for phrase in phrases:
        if _octave_shifts([steps[t] for t in phrase], low, high):
            pieces.append(phrase)
        else:  # no shift fits this phrase: its single notes join the runs below
            pieces += [[t] for t in phrase]
            how = "folded"
    runs: list[list[int]] = [pieces[0]]
    for piece in pieces[1:]:  # join while one shift still fits the joined notes
        if _octave_shifts([steps[t] for t in runs[-1] + piece], low, high):
            runs[-1] = runs[-1] + piece
        else:
            runs.append(piece)
    if len(runs) > 1 and how == "whole":
        how = "phrases"
    out = list(steps)
    k = 0
    for run in runs:
        shifts = _octave_shifts([steps[t] for t in run], low, high)
        k = min(max(k, shifts[0]), shifts[-1])  # the allowed shift nearest the last one
        for t in run:
            out[t] = steps[t] + 12 * k
    return out, how


class MelodyCodec(MusicCodec):
    """Monophonic melodies as one class per step (130 classes).

    Args:
        steps_per_quarter: Grid steps per quarter note (4: the course's sixteenth notes).
        min_pitch: Lowest MIDI pitch of the range melodies are moved into (48: Magenta's).
        max_pitch: Highest MIDI pitch of that range (84; at least an octave above min_pitch).
        transpose: Move melodies into the pitch range by octaves, and never sample outside
            it (False: pitches are kept as they are).
        bpm: Tempo of the MIDI files written.
        velocity: Loudness of the notes written (1-127).
        octaves: "melody" moves whole melodies (or phrases) by octaves, keeping their shape;
            "note" folds single notes (the rule of runs made before this option).
    """

    name = "melody"
    item_unit = "melody"
    units = ("token", "bar")  # a bar: 4 quarters of steps (the codec writes 4/4)
    prime_example = "C4:4 E4:4 G4:8"
    copy_ngram = 16  # a 4/4 bar of sixteenth steps

    def token_pitch(self, token: str) -> tuple[int, int] | None:
        """A pitch token (0-127) starts a note: the copy meter compares its interval."""
        return (int(token), 0) if token.isdigit() and int(token) < 128 else None

    def __init__(self, steps_per_quarter: int = 4, min_pitch: int = 48, max_pitch: int = 84,
                 transpose: bool = True, bpm: float = 120.0, velocity: int = 80,
                 octaves: str = "melody"):
        # 4 steps per quarter: the course's sixteenth-note grid; 48-84 is Magenta's basic
        # melody range (three octaves from C3); 120 bpm is the MIDI default tempo.
        # octaves: "melody" moves whole melodies (or phrases) by octaves into the range,
        # keeping their shape; "note" is the old rule that folds single notes (runs made
        # before this option keep it, see load_state)
        check_option("steps_per_quarter", steps_per_quarter, 1, 96)
        check_option("min_pitch", min_pitch, 0, 127)
        check_option("max_pitch", max_pitch, 0, 127)
        check_option("transpose", transpose, kind=bool)
        check_option("bpm", bpm, 1, 1000, float)
        check_option("velocity", velocity, 1, 127)
        if max_pitch - min_pitch < 11:
            raise ConfigError(f"pitch range {min_pitch}-{max_pitch} must span at least an "
                              "octave")
        if octaves not in ("melody", "note"):
            raise ConfigError(f"codec option octaves={octaves!r}: give \"melody\" (move whole "
                              "melodies or phrases) or \"note\" (fold single notes)")
        super().__init__(steps_per_quarter=steps_per_quarter, min_pitch=min_pitch,
                         max_pitch=max_pitch, transpose=transpose, bpm=bpm, velocity=velocity,
                         octaves=octaves)

    def load_state(self, data: dict[str, Any]) -> None:
        super().load_state(data)
        if "octaves" not in data.get("options", {}):
            # a codec.json written before the option: that run's corpus folded single notes,
            # so resuming or evaluating it reads the corpus the same way
            self.options["octaves"] = "note"

    def fixed_tokens(self) -> list[str]:
        return [str(v) for v in range(130)]

    # --- items <-> tokens ---------------------------------------------------------------
    def tokenize(self, item: Any) -> list[str]:
        steps = self.parse_phrase(item) if isinstance(item, str) else item
        return [str(int(v)) for v in steps]

    def detokenize(self, tokens: Sequence[str]) -> list[int]:
        return [int(t) for t in tokens]

    def parse_phrase(self, text: str) -> list[int]:
        """``"C4:4 E4:4 G4:8 x"`` -> steps (see the module docstring for the syntax); at most
        ``MAX_PHRASE_TOKENS`` steps, refused before they are made."""
        steps: list[int] = []
        for word in text.replace(",", " ").split():
            if word == "|":
                continue
            if word == "-":
                steps.append(NO_EVENT)
            elif word.lower() in ("x", "off"):
                steps.append(NOTE_OFF)
            elif word in ("128", "129"):
                steps.append(int(word))
            else:
                name, colon, count = word.partition(":")
                pitch = parse_pitch(name)
                if pitch is None or (colon and not _STEP_COUNT.fullmatch(count)):
                    raise SamplingError(
                        f"cannot read {word!r} in the melody prime: give pitches as numbers or "
                        "names with an optional length in steps (60 62:2 C4:4 F#4), - for no "
                        "event, x for a note-off")
                n = int(count) if colon else 1
                phrase_limit("melody", len(steps) + n, word, "steps")
                steps += [pitch] + [NO_EVENT] * (n - 1)
            phrase_limit("melody", len(steps), word, "steps")
        return steps

    def render(self, item: Any) -> str:
        steps = self.parse_phrase(item) if isinstance(item, str) else item
        bar = 4 * self.options["steps_per_quarter"]  # one line-width bar of 4/4
        words = [self._symbol(v) for v in steps]
        return " | ".join(" ".join(words[i: i + bar]) for i in range(0, len(words), bar))

    @staticmethod
    def _symbol(v: int) -> str:
        return "-" if v == NO_EVENT else "x" if v == NOTE_OFF else pitch_name(int(v))

    def unit_done(self, unit: str, new: Sequence[int]) -> bool:
        if unit != "bar":
            return super().unit_done(unit, new)
        return len(new) >= 4 * self.options["steps_per_quarter"]

    def token_text(self, i: int) -> str:
        # a leading space: streamed tokens follow the rendered prime on the same line
        return "" if i < NUM_SPECIAL else " " + self._symbol(int(self.vocab.token(i)))

    # --- files <-> items ----------------------------------------------------------------
    def _finish(self, steps: list[int]) -> list[int]:
        o = self.options
        lo, hi = o["min_pitch"], o["max_pitch"]
        if o["transpose"] and o["octaves"] == "note":
            steps = transpose_into(steps, lo, hi)
        elif o["transpose"]:
            steps, how = move_into(steps, lo, hi)
            if how == "phrases":
                self.read_counts[f"melodies moved into {lo}-{hi} phrase by phrase"] += 1
            elif how == "folded":
                self.read_counts[f"melodies with notes folded into {lo}-{hi} one by one"] += 1
        return canonical(steps)

    def from_midi(self, midi: MidiData) -> list[int]:
        tpb = midi.ticks_per_beat
        notes = [(n.pitch, n.start / tpb, n.end / tpb) for n in midi.notes
                 if n.channel != DRUM_CHANNEL]
        if not notes:
            return []
        return self._finish(steps_from_notes(notes, self.options["steps_per_quarter"],
                                             end=midi.end_tick / tpb))

    def from_score(self, score) -> list[int]:
        """The part named Soprano when there is one (Bach chorales), else all parts."""
        parts = getattr(score, "parts", None) or []
        source = next((p for p in parts if "soprano" in str(p.partName or "").lower()), score)
        notes = []
        for n in source.stripTies().flatten().notes:
            pitches = [p.midi for p in getattr(n, "pitches", ())]
            if pitches and n.quarterLength > 0:  # grace notes have no length: left out
                start = float(n.offset)  # in the flattened stream: from the start
                notes.append((max(pitches), start, start + float(n.quarterLength)))
        if not notes:
            return []
        return self._finish(steps_from_notes(notes, self.options["steps_per_quarter"],
                                             end=float(source.highestTime)))

    def from_steps(self, steps: list[int]) -> list[int]:
        return self._finish(list(steps))

    def write(self, item: Any, path) -> None:
        steps = self.parse_phrase(item) if isinstance(item, str) else item
        o = self.options
        step_s = 60.0 / o["bpm"] / o["steps_per_quarter"]
        write_midi(self.notes(steps), path, bpm=o["bpm"], end=len(steps) * step_s,
                   ticks_per_beat=120 * o["steps_per_quarter"])  # whole ticks per step

    def notes(self, item: Any) -> list[Note]:
        steps = self.parse_phrase(item) if isinstance(item, str) else item
        o = self.options
        return steps_to_notes(steps, o["steps_per_quarter"], o["bpm"], o["velocity"])

    def note_tokens(self, ids: Sequence[int]) -> list[tuple[int, int]]:
        """A note is made by its note-on token and the no-event steps it is held for (the
        step that ends it, a note-off or the next note-on, is not its own); as
        ``steps_to_notes`` reads the steps, one per id, specials dropped."""
        at = [i for i, t in enumerate(ids) if int(t) >= NUM_SPECIAL]  # step -> index in ids
        steps = [int(self.vocab.token(int(ids[i]))) for i in at]
        out, on = [], None
        for k, v in enumerate(steps + [NOTE_OFF]):
            if v <= NOTE_OFF and on is not None:
                out.append((at[on], at[k] if k < len(at) else at[-1] + 1))
                on = None
            if v < NOTE_OFF:
                on = k
        return out

    def live_voice(self, channel: int = 0) -> MelodyVoice:
        return MelodyVoice(self, channel)

    # --- sampling and quality -----------------------------------------------------------
    def logits_processors(self, **constraints: Any) -> list:
        """With ``transpose`` on, note-ons outside the pitch range are never sampled (the
        model never saw them in training)."""
        procs = super().logits_processors(**constraints)  # refuses constraints it lacks
        if not self.options["transpose"]:
            return procs

        lo, hi = self.options["min_pitch"], self.options["max_pitch"]
        return procs + [forbid([self.vocab.index[str(p)] for p in range(128)
                                if not lo <= p <= hi])]

    def quality(self, items: Sequence[Any], reference: Sequence[Any] | None = None
                ) -> dict[str, float]:
        """Pitch-class distance to the reference, notes per 4/4 bar, mean length in bars,
        and the share of notes inside the pitch range."""
        bar = 4 * self.options["steps_per_quarter"]
        onsets = [[v for v in steps if v < NOTE_OFF] for steps in items]
        flat = [(p,) for ps in onsets for p in ps]
        total_bars = sum(len(s) for s in items) / bar
        row: dict[str, float] = {}
        if reference is not None:
            ref = pitch_class_histogram((v,) for s in reference for v in s if v < NOTE_OFF)
            row["pc_distance"] = histogram_distance(pitch_class_histogram(flat), ref)
        lo, hi = self.options["min_pitch"], self.options["max_pitch"]
        row["notes_per_bar"] = len(flat) / max(total_bars, 1e-9)
        row["mean_bars"] = total_bars / max(len(items), 1)
        row["in_range"] = sum(lo <= p <= hi for (p,) in flat) / max(len(flat), 1)
        return row


class MelodyVoice(GridVoice):
    """Melody live: one token a grid step; 0-127 a note-on (ending the note before), 128 a
    note-off, 129 nothing new. A heard phrase is its skyline on the grid."""

    can_accompany = True

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        if not notes:
            return []
        spq, step_s = self.grid.steps_per_quarter, self.grid.step_s
        t0 = min(n.start for n in notes)
        quarters = [(n.pitch, (n.start - t0) / step_s / spq, (n.end - t0) / step_s / spq)
                    for n in notes]
        return [str(v) for v in canonical(steps_from_notes(quarters, spq))]

    def heard_tokens(self, heard: Sequence[tuple[str, int, int]], holding: bool) -> list[str]:
        # one value a step: the highest new note, else a note-off if nothing is held
        ons = [p for kind, p, _ in heard if kind == "on"]
        if ons:
            return [str(max(ons))]
        return [] if holding or not heard else [str(NOTE_OFF)]

    def rest(self) -> str:
        return str(NO_EVENT)

    def play(self, token: str) -> list[Timed]:
        v, t = int(token), self.next_time()
        self.tokens.append(token)
        self.k += 1
        if v == NO_EVENT:
            return []
        out = [m for p in list(self.sounding) for m in self.note_off(t, p)]
        if v < NOTE_OFF:
            out += self.note_on(t, v, self.codec.options["velocity"])
        return out
