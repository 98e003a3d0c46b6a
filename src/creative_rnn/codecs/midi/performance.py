"""Performance-RNN events (Oore et al. 2018, "This time with feeling: learning expressive
musical performance"): polyphonic piano with expressive timing and dynamics.

    on0 .. on127        note-on at a pitch                          128
    off0 .. off127      note-off at a pitch                         128
    shift1 .. shift100  move time on by 10 ms .. 1 s                100
    vel0 .. vel31       velocity bin for the following note-ons      32   (optional)
                                                                    388 classes (356 without)

A fixed vocabulary. The sustain pedal (CC64) is applied when reading by lengthening notes,
as the paper does. Decoding is tolerant, since a sampled sequence can say anything: a
note-off without its note-on is ignored, a note-on of a sounding pitch ends it first, and a
note never switched off ends ``hanging_note_s`` after it started.

An item is a list of ``Note(pitch, start_s, end_s, velocity)``. A ``str`` item is a user's
phrase (``--prime``): event tokens as ``render`` prints them, and/or pitches as numbers or
names played one after another, ``C4`` for half a second or ``C4:0.25`` for a quarter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError, SamplingError
from ..vocab import NUM_SPECIAL
from .io import MidiData, Note, write_midi
from .melody import steps_to_notes
from .music import MusicCodec, parse_pitch

STEPS_PER_SECOND = 100  # 10 ms time resolution, the paper's
PHRASE_NOTE_S = 0.5  # a pitch in a --prime phrase without a length lasts this long


class PerformanceCodec(MusicCodec):
    """Polyphonic MIDI as note-on/note-off/time-shift/velocity events."""

    name = "performance"
    item_unit = "performance"

    def __init__(self, velocity_bins: int = 32, max_shift_steps: int = 100,
                 sustain: bool = True, hanging_note_s: float = 1.0, velocity: int = 80,
                 trim_start: bool = True):
        # 32 bins and shifts of up to 100 x 10 ms are the paper's choices; velocity_bins=0
        # drops dynamics (356 classes) and plays every note at ``velocity``; trim_start
        # drops silence before the first note (seconds of time shifts the model need not learn)
        if not 0 <= velocity_bins <= 128 or max_shift_steps < 1 or hanging_note_s <= 0:
            raise ConfigError("performance options: velocity_bins in 0-128, max_shift_steps "
                              ">= 1 and hanging_note_s > 0")
        super().__init__(velocity_bins=velocity_bins, max_shift_steps=max_shift_steps,
                         sustain=sustain, hanging_note_s=hanging_note_s, velocity=velocity,
                         trim_start=trim_start)

    def fixed_tokens(self) -> list[str]:
        o = self.options
        return ([f"on{p}" for p in range(128)] + [f"off{p}" for p in range(128)]
                + [f"shift{n}" for n in range(1, o["max_shift_steps"] + 1)]
                + [f"vel{b}" for b in range(o["velocity_bins"])])

    # --- velocity bins --------------------------------------------------------------------
    def velocity_bin(self, velocity: int) -> int:
        bins = self.options["velocity_bins"]
        return min(max(int(velocity), 0), 127) * bins // 128

    def bin_velocity(self, b: int) -> int:
        """The middle velocity of bin ``b`` (so it falls back into the same bin)."""
        bins = self.options["velocity_bins"]
        return max(1, min(127, (b * 128 + 64) // bins))

    # --- items <-> tokens -----------------------------------------------------------------
    def tokenize(self, item: Any) -> list[str]:
        """Notes -> events. Times are rounded to 10 ms; a note shorter than that keeps one
        step; overlapping notes of one pitch are cut where the next one starts (one key)."""
        if isinstance(item, str):
            return self.parse_phrase(item)
        use_vel = self.options["velocity_bins"] > 0
        quantised: dict[int, list[tuple[int, int, int]]] = {}  # pitch -> (start, end, bin)
        for n in item:
            s = round(n[1] * STEPS_PER_SECOND)
            e = max(round(n[2] * STEPS_PER_SECOND), s + 1)
            quantised.setdefault(int(n[0]), []).append(
                (s, e, self.velocity_bin(n[3]) if use_vel else 0))
        events: list[tuple[int, int, int, int]] = []  # (time, 0 off | 1 on, pitch, bin)
        for pitch, notes in quantised.items():
            notes.sort()
            for i, (s, e, b) in enumerate(notes):
                if i + 1 < len(notes):
                    e = min(e, notes[i + 1][0])
                if e > s:  # a note struck again at the same instant is one note
                    events += [(s, 1, pitch, b), (e, 0, pitch, b)]
        events.sort()
        tokens: list[str] = []
        now, current_bin, longest = 0, None, self.options["max_shift_steps"]
        for time, kind, pitch, b in events:
            while time > now:
                d = min(time - now, longest)
                tokens.append(f"shift{d}")
                now += d
            if kind == 0:
                tokens.append(f"off{pitch}")
                continue
            if use_vel and b != current_bin:
                tokens.append(f"vel{b}")
                current_bin = b
            tokens.append(f"on{pitch}")
        return tokens

    def detokenize(self, tokens: Sequence[str]) -> list[Note]:
        """Events -> notes, tolerating any order (see the module docstring)."""
        now, velocity = 0, self.options["velocity"]
        hang = round(self.options["hanging_note_s"] * STEPS_PER_SECOND)
        sounding: dict[int, tuple[int, int]] = {}  # pitch -> (start step, velocity)
        notes: list[Note] = []

        def end(pitch: int) -> None:
            start, vel = sounding.pop(pitch)
            stop = max(now, start + 1)  # an instant note still gets 10 ms, so it is heard
            notes.append(Note(pitch, start / STEPS_PER_SECOND, stop / STEPS_PER_SECOND, vel))

        for tok in tokens:
            if tok.startswith("shift"):
                now += int(tok[5:])
            elif tok.startswith("vel"):
                velocity = self.bin_velocity(int(tok[3:]))
            elif tok.startswith("on"):
                pitch = int(tok[2:])
                if pitch in sounding:
                    end(pitch)
                sounding[pitch] = (now, velocity)
            elif tok.startswith("off"):
                if int(tok[3:]) in sounding:  # a note-off without its note-on is ignored
                    end(int(tok[3:]))
        for pitch, (start, vel) in sounding.items():
            notes.append(Note(pitch, start / STEPS_PER_SECOND, (start + hang) / STEPS_PER_SECOND,
                              vel))
        return sorted(notes, key=lambda n: (n.start, n.pitch))

    def parse_phrase(self, text: str) -> list[str]:
        """``"vel20 on60 shift50 off60"`` or ``"C4 E4:0.25 G4"`` (mixable) -> event tokens."""
        tokens: list[str] = []
        known = set(self.vocab.tokens)
        use_vel = self.options["velocity_bins"] > 0
        for word in text.replace(",", " ").split():
            if word in known:
                tokens.append(word)
                continue
            name, _, length = word.partition(":")
            try:
                pitch = parse_pitch(name)
                seconds = float(length) if length else PHRASE_NOTE_S
            except ValueError:
                pitch, seconds = None, 0.0
            if pitch is None or seconds <= 0:
                raise SamplingError(
                    f"cannot read {word!r} in the performance prime: give event tokens "
                    "(on60 shift50 off60 vel20) or pitches with an optional length in seconds "
                    "(C4 E4:0.25 67)")
            if use_vel:
                tokens.append(f"vel{self.velocity_bin(self.options['velocity'])}")
            tokens.append(f"on{pitch}")
            steps = max(1, round(seconds * STEPS_PER_SECOND))
            while steps > 0:
                d = min(steps, self.options["max_shift_steps"])
                tokens.append(f"shift{d}")
                steps -= d
            tokens.append(f"off{pitch}")
        return tokens

    def render(self, item: Any) -> str:
        return " ".join(self.tokenize(item))

    def token_text(self, i: int) -> str:
        return "" if i < NUM_SPECIAL else " " + self.vocab.token(i)

    # --- files <-> items ------------------------------------------------------------------
    def from_midi(self, midi: MidiData) -> list[Note]:
        notes = midi.notes_seconds(sustain=self.options["sustain"], drums=False)
        if self.options["trim_start"] and notes:
            first = min(n.start for n in notes)
            notes = [n._replace(start=n.start - first, end=n.end - first) for n in notes]
        return notes

    def from_steps(self, steps: list[int]) -> list[Note]:
        return steps_to_notes(steps, velocity=self.options["velocity"])

    def _notes(self, item: Any) -> list[Note]:
        return self.detokenize(self.parse_phrase(item)) if isinstance(item, str) else list(item)

    def write(self, item: Any, path) -> None:
        # 500 ticks per quarter at 120 bpm: one tick is exactly one millisecond
        notes = self._notes(item)
        write_midi(notes, path, bpm=120.0, ticks_per_beat=500,
                   end=max((n.end for n in notes), default=0.0))

    def notes(self, item: Any) -> list[Note]:
        return self._notes(item)

    def item_to_json(self, item: Any) -> list[list]:
        return [[int(n[0]), float(n[1]), float(n[2]), int(n[3])] for n in item]

    def item_from_json(self, data: Any) -> list[Note]:
        return [Note(int(p), float(s), float(e), int(v)) for p, s, e, v in data]
