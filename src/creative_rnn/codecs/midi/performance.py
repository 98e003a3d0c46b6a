"""Performance-RNN events (Oore et al. 2018, "This time with feeling: learning expressive
musical performance"): polyphonic piano with expressive timing and dynamics.

    on0 .. on127        note-on at a pitch                          128
    off0 .. off127      note-off at a pitch                         128
    shift1 .. shift100  move time on by 10 ms .. 1 s                100
    vel0 .. vel31       velocity bin for the following note-ons      32   (optional)
                                                                    388 classes (356 without)

A fixed vocabulary, in Magenta's order, so ids less the 4 special tokens are Magenta's
one-hot indices (``to_magenta``, ``from_magenta``). The sustain pedal (CC64) is applied when
reading by lengthening notes, as the paper does. Decoding is tolerant, since a sampled
sequence can say anything: a note-off without its note-on is ignored, a note-on of a sounding
pitch ends it first, and a note never switched off ends ``hanging_note_s`` after it started.

``magenta=True`` gives exactly Magenta's events (note-seq's; see magenta.py): its velocity
bins, times rounded half up, its event order within a 10 ms step, a pitch struck again while
it sounds kept as a second note, and leading silence kept; and it decodes events to exactly
note-seq's notes (one flag for both directions: a Magenta model's indices sound as Magenta
plays them). ``drums=True`` keeps channel 10.
By default we bin velocities 0-127 evenly, round half to even, put note-offs before note-ons
in a step, treat a re-struck key as ending the note (one string per key), drop drums and
trim leading silence, as runs trained before the option did.

An item is a list of ``Note(pitch, start_s, end_s, velocity)``. A ``str`` item is a user's
phrase (``--prime``): event tokens as ``render`` prints them, and/or pitches as numbers or
names played one after another, ``C4`` for half a second or ``C4:0.25`` for a quarter.
"""

from __future__ import annotations

import math
import numbers
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ...errors import SamplingError
from ..live import Heard, LiveVoice, Timed
from ..vocab import NUM_SPECIAL
from . import magenta as mg
from .io import MidiData, Note, write_midi
from .melody import steps_to_notes
from .music import MusicCodec, check_option, parse_pitch, phrase_limit

STEPS_PER_SECOND = 100  # 10 ms time resolution, the paper's
BAR_S = 2.0  # a co-writing "bar": performances have no meter; 4 beats at MIDI's 120 bpm
PHRASE_NOTE_S = 0.5  # a pitch in a --prime phrase without a length lasts this long
MAX_PHRASE_NOTE_S = 60.0  # ... and one given a length lasts at most this long
_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{0,9})?|\.[0-9]{1,9}", re.ASCII)  # a plain decimal:
# float() would also take "inf", "nan", "1e400", "1_0" and other digits than ASCII


class PerformanceCodec(MusicCodec):
    """Polyphonic MIDI as note-on/note-off/time-shift/velocity events.

    Args:
        velocity_bins: Loudness bins (32: the paper's); 0 drops dynamics (356 classes) and
            plays every note at velocity.
        max_shift_steps: Longest time shift, in 10 ms steps (100: one second).
        sustain: The sustain pedal lengthens notes as it sounds.
        hanging_note_s: Seconds after its start that a note never switched off ends, when
            events are decoded (with magenta: at the last step, as note-seq).
        velocity: Loudness of every note when velocity_bins is 0, and of notes before the
            first velocity event when decoding (with magenta: note-seq's 100).
        trim_start: Drop the silence before the first note; None = on, but off with magenta.
        drums: Keep MIDI channel 10 (drums).
        magenta: Read, order, bin and decode events exactly as Magenta's Performance RNN
            (note-seq).
    """

    name = "performance"
    item_unit = "performance"
    units = ("token", "bar")  # a bar: BAR_S seconds of time shifts
    prime_example = "C4 E4:0.25 G4"
    copy_ngram = 24  # note-ons, note-offs, shifts and velocities: about a bar's worth

    def token_pitch(self, token: str) -> tuple[int, int] | None:
        """``onP`` starts a note, ``offP`` ends one: the copy meter compares intervals."""
        for kind, prefix in ((0, "on"), (1, "off")):
            if token.startswith(prefix) and token[len(prefix):].isdigit():
                return int(token[len(prefix):]), kind
        return None

    def __init__(self, velocity_bins: int = 32, max_shift_steps: int = 100,
                 sustain: bool = True, hanging_note_s: float = 1.0, velocity: int = 80,
                 trim_start: bool | None = None, drums: bool = False, magenta: bool = False):
        # 32 bins and shifts of up to 100 x 10 ms are the paper's choices; velocity_bins=0
        # drops dynamics (356 classes) and plays every note at ``velocity``; trim_start
        # drops silence before the first note (seconds of time shifts the model need not
        # learn; default: on, but off with magenta, which keeps it); drums keeps channel 10;
        # magenta=True reads, orders and bins events exactly as Magenta (magenta.py)
        check_option("velocity_bins", velocity_bins, 0, 127 if magenta else 128)
        check_option("max_shift_steps", max_shift_steps, 1, 1000)
        check_option("hanging_note_s", hanging_note_s, 0.01, MAX_PHRASE_NOTE_S, float)
        check_option("velocity", velocity, 1, 127)
        for flag, value in (("sustain", sustain), ("drums", drums), ("magenta", magenta)):
            check_option(flag, value, kind=bool)
        if trim_start is None:
            trim_start = not magenta
        check_option("trim_start", trim_start, kind=bool)
        super().__init__(velocity_bins=velocity_bins, max_shift_steps=max_shift_steps,
                         sustain=sustain, hanging_note_s=hanging_note_s, velocity=velocity,
                         trim_start=trim_start, drums=drums, magenta=magenta)

    def fixed_tokens(self) -> list[str]:
        o = self.options
        return ([f"on{p}" for p in range(128)] + [f"off{p}" for p in range(128)]
                + [f"shift{n}" for n in range(1, o["max_shift_steps"] + 1)]
                + [f"vel{b}" for b in range(o["velocity_bins"])])

    # --- velocity bins --------------------------------------------------------------------
    def velocity_bin(self, velocity: int) -> int:
        bins = self.options["velocity_bins"]
        if self.options["magenta"]:
            return mg.velocity_bin(velocity, bins)
        return min(max(int(velocity), 0), 127) * bins // 128  # 0-127 in equal bins

    def bin_velocity(self, b: int) -> int:
        """A velocity of bin ``b``: ours its middle, Magenta's its lowest (as Magenta plays
        it); either falls back into the same bin."""
        bins = self.options["velocity_bins"]
        if self.options["magenta"]:
            return mg.bin_velocity(b, bins)
        return max(1, min(127, (b * 128 + 64) // bins))

    # --- items <-> tokens -----------------------------------------------------------------
    def tokenize(self, item: Any) -> list[str]:
        """Notes -> events. Times are rounded to 10 ms; a note shorter than that keeps one
        step; overlapping notes of one pitch are cut where the next one starts (one key)."""
        if isinstance(item, str):
            return self.parse_phrase(item)
        if self.options["magenta"]:
            return mg.events(list(item), self.options["velocity_bins"],
                             self.options["max_shift_steps"])
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
        """Events -> notes, tolerating any order (see the module docstring). With
        ``magenta``, exactly as note-seq decodes (magenta.decode).

        Ours, the default, differs where a decoder must guess, for a sampled sequence:
        a note never switched off rings ``hanging_note_s`` (note-seq ends it at the last
        step and drops one struck there, so a sample cut at its length loses its last
        notes); a note-on of a sounding pitch ends it first (one string per key, as our
        encoding reads the key); notes before any velocity event have the ``velocity``
        option (note-seq: always 100); and an instant note gets 10 ms, so it is heard."""
        if self.options["magenta"]:
            return mg.decode(tokens, self.bin_velocity)
        now, velocity = 0, self.options["velocity"]
        hang = round(self.options["hanging_note_s"] * STEPS_PER_SECOND)
        sounding: dict[int, tuple[int, int]] = {}  # pitch -> (start step, velocity)
        notes: list[Note] = []

        def end(pitch: int, stop: int) -> None:
            start, vel = sounding.pop(pitch)
            notes.append(Note(pitch, start / STEPS_PER_SECOND,
                              max(stop, start + 1) / STEPS_PER_SECOND, vel))

        for tok in tokens:
            if tok.startswith("shift"):
                now += int(tok[5:])
            elif tok.startswith("vel"):
                velocity = self.bin_velocity(int(tok[3:]))
            elif tok.startswith("on"):
                pitch = int(tok[2:])
                if pitch in sounding:  # one key: struck again, it ends first
                    end(pitch, now)
                sounding[pitch] = (now, velocity)
            elif tok.startswith("off"):
                if int(tok[3:]) in sounding:  # a note-off without its note-on is ignored
                    end(int(tok[3:]), now)
        for pitch, (start, _) in list(sounding.items()):
            end(pitch, start + hang)
        return sorted(notes, key=lambda n: (n.start, n.pitch))

    def to_magenta(self, item: Any) -> list[int]:
        """An item's events as Magenta's one-hot indices: our vocabulary is Magenta's event
        list in Magenta's order (notes on, notes off, shifts, velocities) after our 4
        special tokens. Use ``magenta=True`` for exactly Magenta's events."""
        return [i - NUM_SPECIAL for i in self.encode(item)]

    def from_magenta(self, indices: Sequence[int]) -> list[Note]:
        """Notes from Magenta's one-hot event indices (e.g. a Magenta model's sample)."""
        size = self.vocab_size - NUM_SPECIAL
        bad = [i for i in indices if not (isinstance(i, numbers.Integral) and 0 <= i < size)]
        if bad:
            raise SamplingError(f"not a Magenta event index of this codec (0-{size - 1}): "
                                f"{bad[0]!r}")
        return self.decode([int(i) + NUM_SPECIAL for i in indices])

    def parse_phrase(self, text: str) -> list[str]:
        """``"vel20 on60 shift50 off60"`` or ``"C4 E4:0.25 G4"`` (mixable) -> event tokens;
        at most ``MAX_PHRASE_TOKENS``, refused before they are made."""
        tokens: list[str] = []
        known = set(self.vocab.tokens)
        use_vel = self.options["velocity_bins"] > 0
        longest = self.options["max_shift_steps"]
        for word in text.replace(",", " ").split():
            if word in known:
                tokens.append(word)
            else:
                pitch, seconds = self._phrase_note(word)
                steps = max(1, round(seconds * STEPS_PER_SECOND))
                phrase_limit("performance", len(tokens) + 3 + math.ceil(steps / longest), word)
                if use_vel:
                    tokens.append(f"vel{self.velocity_bin(self.options['velocity'])}")
                tokens.append(f"on{pitch}")
                tokens += [f"shift{longest}"] * (steps // longest)
                if steps % longest:
                    tokens.append(f"shift{steps % longest}")
                tokens.append(f"off{pitch}")
            phrase_limit("performance", len(tokens), word)
        return tokens

    @staticmethod
    def _phrase_note(word: str) -> tuple[int, float]:
        """``"C4"``, ``"67"`` or ``"E4:0.25"`` -> (pitch, seconds)."""
        name, colon, length = word.partition(":")
        pitch = parse_pitch(name)
        if pitch is None or (colon and not _SECONDS.fullmatch(length)):
            raise SamplingError(
                f"cannot read {word!r} in the performance prime: give event tokens "
                "(on60 shift50 off60 vel20) or pitches with an optional length in seconds "
                "(C4 E4:0.25 67)")
        seconds = float(length) if colon else PHRASE_NOTE_S
        if not 0 < seconds <= MAX_PHRASE_NOTE_S:
            raise SamplingError(f"{word!r} in the performance prime: a note lasts more than 0 "
                                f"and at most {MAX_PHRASE_NOTE_S:g} seconds")
        return pitch, seconds

    def render(self, item: Any) -> str:
        return " ".join(self.tokenize(item))

    def token_text(self, i: int) -> str:
        return "" if i < NUM_SPECIAL else " " + self.vocab.token(i)

    def unit_done(self, unit: str, new: Sequence[int]) -> bool:
        """A bar is done when its time shifts reach ``BAR_S``: what sounds at that instant
        already belongs to the next bar."""
        if unit != "bar":
            return super().unit_done(unit, new)
        steps = 0
        for i in new:
            t = self.vocab.token(int(i)) if i >= NUM_SPECIAL else ""
            if t.startswith("shift"):
                steps += int(t[5:])
        return steps >= round(BAR_S * STEPS_PER_SECOND)

    def unit_closers(self, unit: str) -> list[int] | None:
        if unit != "bar":
            return None
        tokens = self.vocab.tokens
        return [i for i in range(NUM_SPECIAL, len(tokens)) if tokens[i].startswith("shift")]

    # --- files <-> items ------------------------------------------------------------------
    def from_midi(self, midi: MidiData) -> list[Note]:
        o = self.options
        if o["magenta"]:  # pairs notes and applies the pedal as Magenta does, in its order
            notes = mg.read_notes(midi.source, sustain=o["sustain"], drums=o["drums"])
        else:
            notes = midi.notes_seconds(sustain=o["sustain"], drums=o["drums"])
        if o["trim_start"] and notes:
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

    def note_tokens(self, ids: Sequence[int]) -> list[tuple[int, int] | None]:
        """A note is made by the tokens from its note-on to the note-off (or the note-on of
        its pitch struck again) that ends it; matched to ``notes``'s sorted notes by pitch
        and start step, oldest first (a note Magenta's reading drops matches none)."""
        tokens = [(i, self.vocab.token(int(t))) for i, t in enumerate(ids)
                  if int(t) >= NUM_SPECIAL]
        now, open_, made = 0, defaultdict(list), defaultdict(list)
        for i, tok in tokens:
            if tok.startswith("shift"):
                now += int(tok[5:])
            elif tok.startswith(("on", "off")):
                pitch = int(tok[2:] if tok.startswith("on") else tok[3:])
                if open_[pitch] and (tok.startswith("off") or not self.options["magenta"]):
                    start, a = open_[pitch].pop(0)
                    made[(pitch, start)].append((a, i + 1 if tok.startswith("off") else i))
                if tok.startswith("on"):
                    open_[pitch].append((now, i))
        end = tokens[-1][0] + 1 if tokens else 0
        for pitch, held in open_.items():
            for start, a in held:
                made[(pitch, start)].append((a, end))
        out: list[tuple[int, int] | None] = []
        for n in self.notes(self.decode(ids)):
            found = made.get((n.pitch, int(n.start * STEPS_PER_SECOND + 1e-6)))
            out.append(found.pop(0) if found else None)
        return out

    def live_voice(self, channel: int = 0) -> PerformanceVoice:
        return PerformanceVoice(self, channel)

    def item_to_json(self, item: Any) -> list[list]:
        return [[int(n[0]), float(n[1]), float(n[2]), int(n[3])] for n in item]

    def item_from_json(self, data: Any) -> list[Note]:
        return [Note(int(p), float(s), float(e), int(v)) for p, s, e, v in data]


class PerformanceVoice(LiveVoice):
    """Performance events live: ``shiftN`` moves time on by N x 10 ms (divided by
    ``speed``, the followed clock's tempo against 120 bpm), ``onP``/``offP`` switch notes,
    ``velB`` sets the loudness of the notes after it. Its position is in seconds."""

    grid_based = False
    can_accompany = True

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        if not notes:
            return []
        t0 = min(n.start for n in notes)
        return self.codec.tokenize([(n.pitch, (n.start - t0) * self.speed,
                                     (n.end - t0) * self.speed, n.velocity) for n in notes])

    def heard_tokens(self, heard: Sequence[tuple[str, int, int]], holding: bool) -> list[str]:
        tokens = []
        for kind, pitch, velocity in heard:
            if kind == "on" and self.codec.options["velocity_bins"]:
                tokens.append(f"vel{self.codec.velocity_bin(velocity)}")
            tokens.append(f"{kind}{pitch}")
        return tokens

    def rest(self) -> str:
        return "shift10"  # a tenth of a second with nothing new

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
                    out += self.note_off(start + hang, p)
        elif token.startswith("vel"):
            self.velocity = self.codec.bin_velocity(int(token[3:]))
        elif token.startswith("on"):
            out += self.note_on(self.t, int(token[2:]), self.velocity)
        elif token.startswith("off"):
            out += self.note_off(self.t, int(token[3:]))
        return out
