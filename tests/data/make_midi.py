"""Write tests/data/midi/multitrack_gm_made.mid: a General MIDI arrangement made here (our own
composition, MIT like the project) for the Magenta parity tests.

It has what those tests need from a real multitrack file: one type-0 track holding several
instruments on their own channels, drums on channel 10, hundreds of tempo changes (rubato at
uneven microsecond values, so ticks -> seconds is exercised), a sustain pedal (CC 64 on and off
at every chord change of the piano), pitch bends and other controllers, and overlapping notes:
instruments doubling each other's pitches, legato melody notes, piano chords struck again while
they sound. Deterministic: run it again and the bytes are the same.

    python tests/data/make_midi.py          # any Python with mido

The reference files in tests/data/reference are made from its output by
make_note_seq_reference.py; regenerate them whenever this file changes.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import mido

OUT = Path(__file__).resolve().parent / "midi" / "multitrack_gm_made.mid"
TPB = 96  # ticks per beat, as in common GM files
BEAT = TPB

# channel: (GM program, name); channel 9 is GM's drum channel (no program)
PIANO, BASS, STRINGS, LEAD, GUITAR, ORGAN, DRUMS = 0, 1, 2, 3, 4, 5, 9
PROGRAMS = {PIANO: 0, BASS: 33, STRINGS: 48, LEAD: 73, GUITAR: 25, ORGAN: 16}
KICK, SNARE, HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 42, 46, 49, 51
TOMS = (50, 47, 45, 43)

# chords as (root pitch class, minor?) in C major
I, II, III, IV, V, VI = (0, False), (2, True), (4, True), (5, False), (7, False), (9, True)
VERSE = [I, VI, IV, V, I, VI, II, V]
CHORUS = [IV, V, III, VI, II, V, I, I]
BRIDGE = [VI, III, IV, I, II, VI, IV, V]

# (name, bars, beats per bar, chords, base tempo in bpm, rubato, instruments playing)
SECTIONS = [
    ("intro", 8, 4, VERSE, 72, 0.12, {PIANO}),
    ("verse", 16, 4, VERSE, 92, 0.03, {PIANO, BASS, LEAD, DRUMS}),
    ("chorus", 16, 4, CHORUS, 96, 0.03, {PIANO, BASS, LEAD, DRUMS, STRINGS, GUITAR}),
    ("bridge", 16, 3, BRIDGE, 84, 0.08, {PIANO, STRINGS, ORGAN, LEAD}),
    ("verse", 16, 4, VERSE, 94, 0.03, {PIANO, BASS, LEAD, DRUMS, GUITAR}),
    ("chorus", 16, 4, CHORUS, 100, 0.03, {PIANO, BASS, LEAD, DRUMS, STRINGS, GUITAR, ORGAN}),
    ("verse", 16, 4, VERSE, 98, 0.03, {PIANO, BASS, LEAD, DRUMS, GUITAR, STRINGS}),
    ("chorus", 16, 4, CHORUS, 104, 0.03, {PIANO, BASS, LEAD, DRUMS, STRINGS, GUITAR, ORGAN}),
    ("outro", 8, 4, VERSE, 80, 0.15, {PIANO, STRINGS}),
]


def chord_pitches(chord, octave: int) -> list[int]:
    root, minor = chord
    base = 12 * octave + root
    return [base, base + (3 if minor else 4), base + 7]


class Song:
    """Events at absolute ticks; written out as one type-0 track."""

    def __init__(self) -> None:
        self.events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []

    def add(self, tick: int, msg, order: int = 1) -> None:
        # at one tick: meta first, then controllers, note-offs, note-ons (order 0..3)
        self.events.append((tick, order, msg))

    def note(self, ch: int, pitch: int, start: int, length: int, vel: int) -> None:
        vel = max(1, min(127, vel))
        self.add(start, mido.Message("note_on", channel=ch, note=pitch, velocity=vel), 3)
        self.add(start + max(1, length), mido.Message("note_off", channel=ch, note=pitch), 2)

    def track(self) -> mido.MidiTrack:
        track, now = mido.MidiTrack(), 0
        for tick, _, msg in sorted(self.events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=BEAT * 4))
        return track


def setup(song: Song) -> None:
    song.add(0, mido.MetaMessage("track_name", name="creative_rnn test arrangement"), 0)
    song.add(0, mido.MetaMessage("text", text="made by tests/data/make_midi.py (MIT)"), 0)
    song.add(0, mido.Message("sysex", data=(0x7E, 0x7F, 0x09, 0x01)), 0)  # GM system on
    for ch, program in PROGRAMS.items():
        song.add(0, mido.Message("program_change", channel=ch, program=program))
    for ch in (*PROGRAMS, DRUMS):
        for control, value in ((7, 100), (10, 64 + 12 * (ch % 3 - 1)), (91, 40), (93, 10)):
            song.add(0, mido.Message("control_change", channel=ch, control=control,
                                     value=value))


def tempo(song: Song, rng: random.Random, tick: int, bpm: float, beats: int, rubato: float,
          ritardando: bool) -> None:
    """A tempo change on every beat: a slow swell plus a little jitter (uneven values)."""
    for b in range(beats):
        swing = math.sin((tick / BEAT + b) / 5.0) * rubato + rng.uniform(-0.01, 0.01)
        slow = 1.0 - (0.5 * b / beats if ritardando else 0.0)
        t = bpm * (1.0 + swing) * slow
        song.add(tick + b * BEAT, mido.MetaMessage("set_tempo", tempo=round(6e7 / t)), 0)


def piano(song: Song, rng: random.Random, tick: int, beats: int, chord, vel: int,
          style: str) -> None:
    """Chords in both hands; the pedal is lifted at the chord change and pressed again just
    after (legato pedalling). "restrike": the chord is struck again while it sounds;
    "beats": struck on every beat, short (the pedal holds it)."""
    song.add(tick, mido.Message("control_change", channel=PIANO, control=64, value=0), 1)
    song.add(tick + 8, mido.Message("control_change", channel=PIANO, control=64, value=127), 1)
    left = chord_pitches(chord, 3)
    right = chord_pitches(chord, 5)
    song.note(PIANO, left[0] - 12, tick, BEAT * beats - 4, vel)
    restrike = style == "restrike"
    step = {"restrike": 2, "beats": 1}.get(style, beats)
    for b in range(0, beats, step):
        length = BEAT * (step + 1 if restrike else step) - 10
        if style == "beats":
            length = BEAT // 3
        for p in right:
            song.note(PIANO, p, tick + b * BEAT + rng.randint(0, 3), length, vel - 6 + b)
        song.note(PIANO, left[1], tick + b * BEAT + BEAT // 2, BEAT * step // 2, vel - 10)


def bass(song: Song, rng: random.Random, tick: int, beats: int, chord, vel: int) -> None:
    root = chord_pitches(chord, 2)
    for b in range(beats):
        p = root[0] if b % 2 == 0 else rng.choice(root)
        song.note(BASS, p, tick + b * BEAT, BEAT - 12, vel + rng.randint(-8, 8))
    if rng.random() < 0.3:  # a pickup eighth into the next bar
        song.note(BASS, root[2], tick + beats * BEAT - BEAT // 2, BEAT // 2 - 6, vel)


def strings(song: Song, tick: int, beats: int, chord, vel: int) -> None:
    """Long pads; their upper notes double the piano's right hand (same pitches, overlapping)."""
    for p in chord_pitches(chord, 5):
        song.note(STRINGS, p, tick, BEAT * beats + BEAT // 4, vel)
    for i, value in enumerate((40, 70, 100, 70)):  # an expression swell through the bar
        song.add(tick + i * BEAT * beats // 4,
                 mido.Message("control_change", channel=STRINGS, control=11, value=value))


def organ(song: Song, tick: int, beats: int, chord, vel: int) -> None:
    for p in chord_pitches(chord, 4):
        song.note(ORGAN, p, tick, BEAT * beats - 2, vel)


def guitar(song: Song, rng: random.Random, tick: int, beats: int, chord, vel: int) -> None:
    """Eighth-note arpeggios, each note left ringing into the next two."""
    tones = chord_pitches(chord, 4) + chord_pitches(chord, 5)[:1]
    for e in range(beats * 2):
        p = tones[e % len(tones)]
        song.note(GUITAR, p, tick + e * BEAT // 2, BEAT + BEAT // 3, vel + rng.randint(-10, 6))


def lead(song: Song, rng: random.Random, tick: int, beats: int, chord, vel: int,
         state: dict) -> None:
    """A melody walking over the chord's tones, legato (each note overlaps the next), with a
    pitch bend now and then."""
    scale = [0, 2, 4, 5, 7, 9, 11]
    chord_pcs = {p % 12 for p in chord_pitches(chord, 0)}
    t, end = tick, tick + beats * BEAT
    while t < end:
        length = rng.choice((BEAT // 2, BEAT // 2, BEAT, BEAT, BEAT * 2, BEAT // 4))
        length = min(length, end - t)
        if rng.random() < 0.15:  # a rest
            t += length
            continue
        p = state["pitch"] + rng.choice((-2, -1, -1, 1, 1, 2, 0, 3, -3))
        p = max(67, min(88, p))
        while p % 12 not in scale:
            p += 1
        if t == tick and rng.random() < 0.7:  # downbeats land on a chord tone
            while p % 12 not in chord_pcs:
                p -= 1
        state["pitch"] = p
        song.note(LEAD, p, t, length + BEAT // 8, vel + rng.randint(-12, 12))
        if length >= BEAT and rng.random() < 0.25:
            for i, bend in enumerate((0, 1024, 2048, 1024, 0)):
                song.add(t + length // 4 + i * 6,
                         mido.Message("pitchwheel", channel=LEAD, pitch=bend))
            song.add(t, mido.Message("control_change", channel=LEAD, control=1, value=60))
            song.add(t + length, mido.Message("control_change", channel=LEAD, control=1,
                                              value=0))
        t += length


def drums(song: Song, rng: random.Random, tick: int, beats: int, vel: int, fill: bool,
          crash: bool) -> None:
    hit = BEAT // 8
    if crash:
        song.note(DRUMS, CRASH, tick, BEAT * 2, vel + 10)
    for e in range(beats * 2):
        t = tick + e * BEAT // 2
        if fill and e >= beats * 2 - 4:  # the last two beats: a run down the toms
            for s in range(2):
                song.note(DRUMS, TOMS[(e * 2 + s) % 4], t + s * BEAT // 4, hit, vel + 4)
            continue
        song.note(DRUMS, OPEN_HAT if e == beats * 2 - 1 else HAT, t, hit,
                  vel - 20 + rng.randint(-6, 6) + (8 if e % 2 == 0 else 0))
        if e % 4 == 0 or (e == 5 and rng.random() < 0.5):
            song.note(DRUMS, KICK, t, hit, vel + 6)
        if e % 4 == 2:
            song.note(DRUMS, SNARE, t, hit, vel + rng.randint(-4, 8))
        if e % 4 == 2 and rng.random() < 0.2:  # a ghost note just after the backbeat
            song.note(DRUMS, SNARE, t + BEAT // 4, hit, 30)


def compose() -> mido.MidiFile:
    rng = random.Random(2026)
    song = Song()
    setup(song)
    tick, state, last_meter = 0, {"pitch": 76}, None
    for n, (name, bars, beats, chords, bpm, rubato, plays) in enumerate(SECTIONS):
        if beats != last_meter:
            song.add(tick, mido.MetaMessage("time_signature", numerator=beats, denominator=4), 0)
            last_meter = beats
        if name == "bridge":  # a general pause: two silent bars at a slow tempo (long shifts)
            song.add(tick, mido.MetaMessage("set_tempo", tempo=1_250_000), 0)
            tick += 2 * beats * BEAT
        for bar in range(bars):
            chord = chords[bar % len(chords)]
            phrase_end = bar % 8 == 7
            vel = 64 + 20 * (bar % 8) // 8 + (12 if name == "chorus" else 0)
            tempo(song, rng, tick, bpm, beats, rubato,
                  ritardando=name == "outro" or (bar == bars - 1 and n + 1 < len(SECTIONS)))
            if PIANO in plays:
                piano(song, rng, tick, beats, chord, vel,
                      style={"chorus": "restrike", "verse": "beats"}.get(name, "held"))
            if BASS in plays:
                bass(song, rng, tick, beats, chord, vel)
            if STRINGS in plays:
                strings(song, tick, beats, chord, vel - 10)
            if ORGAN in plays:
                organ(song, tick, beats, chord, vel - 20)
            if GUITAR in plays:
                guitar(song, rng, tick, beats, chord, vel - 8)
            if LEAD in plays:
                lead(song, rng, tick, beats, chord, vel + 8, state)
            if DRUMS in plays:
                drums(song, rng, tick, beats, vel, fill=phrase_end, crash=bar % 8 == 0)
            tick += beats * BEAT
    # the last chord, held under the pedal, which is lifted after it is released
    song.note(PIANO, 36, tick, BEAT * 4, 70)
    for p in chord_pitches(I, 5):
        song.note(PIANO, p, tick, BEAT * 3, 70)
    song.add(tick + BEAT * 6, mido.Message("control_change", channel=PIANO, control=64,
                                           value=0), 1)
    mid = mido.MidiFile(type=0, ticks_per_beat=TPB)
    mid.tracks.append(song.track())
    return mid


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    compose().save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
