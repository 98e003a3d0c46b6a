"""The drum encoding and its MIDI, with no creative_rnn in it: nine drum classes, one
9-bit event a grid step.

The facts are Magenta's (note-seq ``drums_encoder_decoder.py`` and ``drums_lib.py``, the
encoding of the Drums RNN): each class stands for several General MIDI drum notes, an event
is the set of classes struck at one step as a number with bit i for class i, and a class is
written back as its first note, one step long, velocity 100, on the drum channel.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

# (letter for phrases, name, its General MIDI notes: the first is the one written)
CLASSES = (
    ("K", "kick", (36, 35)),
    ("S", "snare", (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85)),
    ("H", "closed hi-hat", (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22)),
    ("O", "open hi-hat", (46, 67, 72, 74, 79, 81, 26)),
    ("L", "low tom", (45, 29, 41, 43, 61, 64, 84)),
    ("M", "mid tom", (48, 47, 60, 63, 77, 86, 87)),
    ("T", "high tom", (50, 30, 62, 76, 83)),
    ("C", "crash", (49, 52, 55, 57, 58)),
    ("R", "ride", (51, 53, 59, 82)),
)
EVENTS = 2 ** len(CLASSES)  # 512: every set of classes struck together
CLASS_OF = {pitch: i for i, (_, _, pitches) in enumerate(CLASSES) for pitch in pitches}
LETTERS = "".join(letter for letter, _, _ in CLASSES)
DRUM_CHANNEL = 9  # General MIDI channel 10 (0-based 9): percussion
TICKS_PER_STEP = 120  # written files: a step is 120 ticks, whatever the steps a quarter


def event_of(pitches: Sequence[int]) -> int:
    """The event of drum notes struck together; notes of no class are left out."""
    mask = 0
    for p in pitches:
        if p in CLASS_OF:
            mask |= 1 << CLASS_OF[p]
    return mask


def pitches_of(event: int) -> list[int]:
    """The notes an event is written as: the first note of each class in it."""
    return [CLASSES[i][2][0] for i in range(len(CLASSES)) if event >> i & 1]


def symbol(event: int) -> str:
    """An event as a phrase writes it: ``-`` for none, else its classes' letters (``KH``)."""
    return "".join(LETTERS[i] for i in range(len(CLASSES)) if event >> i & 1) or "-"


def quantize(hits: Sequence[tuple[int, int]], ticks_per_beat: int, steps_per_quarter: int,
             max_steps: int) -> tuple[list[int], int]:
    """Hits ``(tick, pitch)`` -> (events, hits of no class). A hit's start is rounded to the
    nearest step (a half step rounds up); the track starts at the 4/4 bar holding the first
    hit of a class and ends at the last one."""
    steps: dict[int, int] = {}
    unknown = 0
    for tick, pitch in hits:
        if pitch not in CLASS_OF:
            unknown += 1
            continue
        k = (2 * tick * steps_per_quarter + ticks_per_beat) // (2 * ticks_per_beat)
        steps[k] = steps.get(k, 0) | 1 << CLASS_OF[pitch]
    if not steps:
        return [], unknown
    bar = 4 * steps_per_quarter
    first = min(steps) - min(steps) % bar
    length = max(steps) - first + 1
    if length > max_steps:
        raise ValueError(f"a drum track of {length} steps (limit {max_steps})")
    events = [0] * length
    for k, mask in steps.items():
        events[k - first] = mask
    return events, unknown


def read_hits(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """A Standard MIDI File -> (ticks per quarter, drum hits ``(tick, pitch)``): note-ons
    with a velocity on the drum channel. mido's errors pass up to the caller."""
    import mido

    mid = mido.MidiFile(file=io.BytesIO(data))
    hits = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.channel == DRUM_CHANNEL:
                hits.append((tick, msg.note))
    return mid.ticks_per_beat, hits


def midi_bytes(events: Sequence[int], steps_per_quarter: int, bpm: float,
               velocity: int) -> bytes:
    """A type-0 MIDI file of the events: each class's first note, one step long, on the
    drum channel; the track ends after the last step, so trailing rests are kept."""
    import mido

    timed = []  # (tick, 0 = off first at a tick, pitch)
    for k, event in enumerate(events):
        for p in pitches_of(event):
            timed += [(k * TICKS_PER_STEP, 1, p), ((k + 1) * TICKS_PER_STEP, 0, p)]
    timed.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    now = 0
    for tick, on, p in timed:
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, channel=DRUM_CHANNEL, note=p,
                                  velocity=velocity if on else 0, time=tick - now))
        now = tick
    end = len(events) * TICKS_PER_STEP
    track.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))
    mid = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_STEP * steps_per_quarter)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()
