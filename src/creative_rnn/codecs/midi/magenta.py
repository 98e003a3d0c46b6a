"""Magenta's Performance RNN encoding, event for event: the performance codec's
``magenta=True`` reads, orders and bins exactly as note-seq 0.0.5 does, so its events (and
their indices, which are Magenta's one-hot indices plus our 4 special tokens) can be moved
between the two.

What we follow, in note-seq and pretty_midi (read there, not copied):

* MIDI -> notes is pretty_midi's reader (``PrettyMIDI._load_instruments``), which note-seq's
  ``midi_io.midi_to_note_sequence`` wraps: times from a tick-to-seconds table built from the
  tempo changes of the first track only; per track, a note-off ends *every* open note of its
  channel and pitch (a key struck again while sounding gives two overlapping notes), notes
  never switched off are dropped; an instrument is (program, channel, track), and control
  changes met before the instrument's first note go to it as "stragglers".
* The sustain pedal is note-seq's ``sequences_lib.apply_sustain_control_changes``, per
  instrument, drums untouched.
* Times are quantised by ``sequences_lib.quantize_to_step``: ``int(seconds * 100 + 0.5)``,
  halves rounded up; a note of zero steps gets one.
* Events are ``performance_lib.BasePerformance._from_quantized_sequence``: notes sorted by
  (start time, pitch), their note-ons and note-offs sorted by (step, note index, off after
  on), a velocity event before a note-on whose bin differs from the last one.
* Velocity bins are ``performance_lib.velocity_to_bin``: bins of ceil(127 / bins)
  velocities from velocity 1 (Magenta counts bins from 1; our token names from 0).
* Events -> notes is ``BasePerformance._to_sequence`` as ``Performance.to_sequence()`` calls
  it (``decode`` below): notes start at velocity 100 until a velocity event; a note-off ends
  the oldest sounding note of its pitch; a note of no length is dropped; notes still sounding
  at the end end at the last step (one started there has no length and is dropped).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict

from .io import DRUM_CHANNEL, SUSTAIN_CC, Note

STEPS_PER_SECOND = 100
START_VELOCITY = 100  # note-seq's to_sequence(velocity=100): before any velocity event


def velocity_bin(velocity: int, bins: int) -> int:
    """Magenta's bin of a velocity (1-127), counted from 0."""
    return (min(max(int(velocity), 1), 127) - 1) // math.ceil(127 / bins)


def bin_velocity(b: int, bins: int) -> int:
    """The velocity Magenta gives a note of bin ``b`` (counted from 0): the bin's lowest."""
    return 1 + b * math.ceil(127 / bins)


def quantize(seconds: float) -> int:
    return int(seconds * STEPS_PER_SECOND + 0.5)


def _tick_seconds(mid):
    """pretty_midi's tick -> seconds: tempo changes of the first track only (a repeated
    tempo is no change), each segment's times computed from the segment's start."""
    resolution = mid.ticks_per_beat
    scales = [(0, 60.0 / (120.0 * resolution))]  # (tick, seconds per tick)
    tick = 0
    for msg in mid.tracks[0] if mid.tracks else []:
        tick += msg.time
        if msg.type == "set_tempo":
            scale = 60.0 / ((6e7 / msg.tempo) * resolution)
            if tick == 0:
                scales = [(0, scale)]
            elif scale != scales[-1][1]:
                scales.append((tick, scale))
    starts, bases = [t for t, _ in scales], [0.0]
    for (t0, s0), (t1, _) in zip(scales, scales[1:]):
        bases.append(bases[-1] + s0 * (t1 - t0))

    def seconds(t: int) -> float:
        i = bisect.bisect_right(starts, t) - 1
        return bases[i] + scales[i][1] * (t - starts[i])

    return seconds


class _Note:
    """A mutable note (the pedal lengthens notes in place, as note-seq does)."""

    __slots__ = ("pitch", "start", "end", "velocity", "instrument", "drum")

    def __init__(self, pitch, start, end, velocity, instrument, drum):
        self.pitch, self.start, self.end = pitch, start, end
        self.velocity, self.instrument, self.drum = velocity, instrument, drum


def read_notes(mid, sustain: bool = True, drums: bool = False) -> list[Note]:
    """A parsed ``mido.MidiFile`` -> notes in seconds as note-seq sees them, sorted by
    (start, pitch) as Magenta orders them."""
    seconds = _tick_seconds(mid)
    instruments: dict[tuple[int, int, int], int] = {}  # (program, channel, track) -> number
    pedal_lists: list[list] = []  # per instrument: its sustain changes [(time, down)]
    stragglers: dict[tuple[int, int], list] = {}  # (channel, track) -> changes, no instrument
    notes: list[_Note] = []

    def number(program: int, channel: int, track: int) -> int:
        """The instrument a note goes to, made at its first note."""
        key = (program, channel, track)
        if key not in instruments:  # it takes the stragglers' very list (shared, as there)
            pedal_lists.append(stragglers.get((channel, track), []))
            instruments[key] = len(pedal_lists) - 1
        return instruments[key]

    def changes(program: int, channel: int, track: int) -> list:
        """Where a control change goes: its instrument, or the channel's stragglers."""
        key = (program, channel, track)
        if key in instruments:
            return pedal_lists[instruments[key]]
        return stragglers.setdefault((channel, track), [])

    for track_no, track in enumerate(mid.tracks):
        tick = 0
        program = [0] * 16
        open_notes: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for msg in track:
            tick += msg.time
            if msg.type == "program_change":
                program[msg.channel] = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                open_notes[(msg.channel, msg.note)].append((tick, msg.velocity))
            elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in open_notes:
                key = (msg.channel, msg.note)
                ended = [(s, v) for s, v in open_notes[key] if s != tick]
                same_tick = [(s, v) for s, v in open_notes[key] if s == tick]
                for start, velocity in ended:
                    notes.append(_Note(msg.note, seconds(start), seconds(tick), velocity,
                                       number(program[msg.channel], msg.channel, track_no),
                                       msg.channel == DRUM_CHANNEL))
                if ended and same_tick:
                    open_notes[key] = same_tick
                else:  # with nothing ended, a note started at this tick is dropped too
                    del open_notes[key]
            elif msg.type in ("control_change", "pitchwheel"):  # both make stragglers
                found = changes(program[msg.channel], msg.channel, track_no)
                if msg.type == "control_change" and msg.control == SUSTAIN_CC:
                    found.append((seconds(tick), msg.value >= 64))
    # note-seq lists notes instrument by instrument, each in the order pretty_midi made them
    notes.sort(key=lambda n: n.instrument)
    if sustain:
        _apply_sustain(notes, pedal_lists)
    kept = [n for n in notes if (drums or not n.drum) and n.end >= 0]
    kept.sort(key=lambda n: (n.start, n.pitch))  # stable: Magenta's note order
    return [Note(n.pitch, n.start, n.end, n.velocity) for n in kept]


_PEDAL_DOWN, _PEDAL_UP, _NOTE_ON, _NOTE_OFF = 0, 1, 2, 3  # note-seq's order at one instant


def _apply_sustain(notes: list[_Note], pedal_lists: list[list]) -> None:
    """note-seq's apply_sustain_control_changes, in place: a note released while its
    instrument's pedal is down sounds until the pedal comes up, or until the same pitch is
    struck again under the pedal; notes still held by the pedal at the end end at the last
    event. A note cut to nothing by a restrike at its own start is dropped (end = -1)."""
    events = [(n.start, _NOTE_ON, n) for n in notes if not n.drum]
    events += [(n.end, _NOTE_OFF, n) for n in notes if not n.drum]
    for number, changes in enumerate(pedal_lists):
        events += [(time, _PEDAL_DOWN if down else _PEDAL_UP, number)
                   for time, down in changes]
    events.sort(key=lambda e: (e[0], e[1]))
    active: dict[int, list[_Note]] = defaultdict(list)
    down: dict[int, bool] = defaultdict(bool)
    time = 0.0
    for time, kind, what in events:
        if kind == _PEDAL_DOWN:
            down[what] = True
        elif kind == _PEDAL_UP:
            down[what] = False
            still = []
            for n in active[what]:
                if n.end < time:  # released under the pedal: it ends now
                    n.end = time
                else:
                    still.append(n)
            active[what] = still
        elif kind == _NOTE_ON:
            if down[what.instrument]:
                still = []
                for n in active[what.instrument]:
                    if n.pitch == what.pitch:
                        n.end = time
                        if n.start == n.end:
                            n.end = -1.0  # removed, as note-seq removes it
                    else:
                        still.append(n)
                active[what.instrument] = still
            active[what.instrument].append(what)
        elif not down[what.instrument] and what in active[what.instrument]:
            active[what.instrument].remove(what)
    for held in active.values():
        for n in held:
            n.end = time


def events(notes: list[Note], bins: int, max_shift: int) -> list[str]:
    """Notes in seconds -> Magenta's performance events, as our token names."""
    ordered = sorted(notes, key=lambda n: (n[1], n[0]))  # stable, as Magenta sorts
    marks = []  # (step, note index, is_offset)
    for i, n in enumerate(ordered):
        start, end = quantize(n[1]), quantize(n[2])
        marks += [(start, i, False), (max(end, start + 1), i, True)]
    marks.sort()
    tokens: list[str] = []
    now, current = 0, None
    for step, i, is_offset in marks:
        while step > now:
            d = min(step - now, max_shift)
            tokens.append(f"shift{d}")
            now += d
        pitch = ordered[i][0]
        if is_offset:
            tokens.append(f"off{pitch}")
            continue
        if bins:
            b = velocity_bin(ordered[i][3], bins)
            if b != current:
                tokens.append(f"vel{b}")
                current = b
        tokens.append(f"on{pitch}")
    return tokens


def decode(tokens, bin_velocity) -> list[Note]:
    """Our token names of Magenta's events -> notes exactly as note-seq decodes them (see the
    module docstring), sorted by (start, pitch). ``bin_velocity``: a bin's velocity."""
    step, velocity = 0, START_VELOCITY
    sounding: dict[int, list[tuple[int, int]]] = defaultdict(list)  # pitch -> (start, vel)
    notes: list[Note] = []

    def add(pitch: int, start: int, vel: int) -> None:
        if start != step:  # a note of no length is dropped
            notes.append(Note(pitch, start / STEPS_PER_SECOND, step / STEPS_PER_SECOND, vel))

    for tok in tokens:
        if tok.startswith("shift"):
            step += int(tok[5:])
        elif tok.startswith("vel"):
            velocity = bin_velocity(int(tok[3:]))
        elif tok.startswith("on"):
            sounding[int(tok[2:])].append((step, velocity))
        elif tok.startswith("off"):
            held = sounding[int(tok[3:])]
            if held:  # a note-off without its note-on is ignored
                add(int(tok[3:]), *held.pop(0))  # the oldest sounding note of the pitch
    for pitch, held in sounding.items():
        for start, vel in held:  # still sounding: ended at the last step
            add(pitch, start, vel)
    return sorted(notes, key=lambda n: (n.start, n.pitch))
