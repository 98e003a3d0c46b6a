"""Reading MIDI stays O(N log N): the sustain pedal and the tempo map are looked up by binary
search over lists built once (benchmarks/midi_read.py times it). Checked here without timing:
against the obvious quadratic rule on random files, and by counting how often the pedal and
tempo lists are built."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creative_rnn.codecs.midi import io
from creative_rnn.codecs.midi.io import MidiData, TickNote

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def slow_sustained(midi: MidiData) -> list[TickNote]:
    """The rule as first written: every note against every pedal interval of its channel."""
    notes = []
    for n in midi.notes:
        end = n.end
        for down, up in io._pedal_intervals(midi.pedals.get(n.channel, []), midi.end_tick):
            if down <= n.end < up:
                end = max(end, up)
                break
        notes.append(n._replace(end=end))
    notes.sort(key=lambda n: (n.channel, n.pitch, n.start))
    for i in range(len(notes) - 1):
        a, b = notes[i], notes[i + 1]
        if (a.channel, a.pitch) == (b.channel, b.pitch) and a.start < b.start < a.end:
            notes[i] = a._replace(end=b.start)
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def slow_seconds(midi: MidiData, tick: int) -> float:
    """Tick -> seconds by walking the tempo changes from the start."""
    seconds, at, tempo = 0.0, 0, io.DEFAULT_TEMPO
    for t, new in sorted(midi.tempos):
        if t > tick:
            break
        seconds += (t - at) * tempo / 1e6 / midi.ticks_per_beat
        at, tempo = t, new
    return seconds + (tick - at) * tempo / 1e6 / midi.ticks_per_beat


@st.composite
def midi_data(draw) -> MidiData:
    notes = []
    for _ in range(draw(st.integers(0, 40))):
        start = draw(st.integers(0, 2000))
        notes.append(TickNote(draw(st.integers(58, 62)), start,
                              start + draw(st.integers(1, 400)), 64, draw(st.sampled_from([0, 1]))))
    pedals = {ch: draw(st.lists(st.tuples(st.integers(0, 2400), st.booleans()), max_size=30))
              for ch in draw(st.sets(st.sampled_from([0, 1, 9])))}
    tempos = draw(st.lists(st.tuples(st.integers(0, 2400), st.integers(200_000, 900_000)),
                           max_size=20))
    end = max([n.end for n in notes] + [t for ch in pedals.values() for t, _ in ch] + [0])
    return MidiData(ticks_per_beat=draw(st.sampled_from([96, 480])), notes=notes,
                    tempos=tempos, pedals=pedals, end_tick=end + draw(st.integers(0, 50)))


@SETTINGS
@given(midi=midi_data())
def test_the_fast_pedal_and_tempo_map_give_what_the_slow_rules_give(midi):
    assert midi.sustained() == slow_sustained(midi)
    for tick in {0, midi.end_tick, *(n.start for n in midi.notes), *(t for t, _ in midi.tempos)}:
        assert abs(midi.seconds(tick) - slow_seconds(midi, tick)) < 1e-9


def test_pedal_and_tempo_lists_are_built_once_per_file_not_per_note(monkeypatch):
    n = 2000  # a pedal change and a tempo change for every note: the old worst case
    midi = MidiData(ticks_per_beat=480,
                    notes=[TickNote(60 + i % 12, 240 * i, 240 * i + 100, 80, 0) for i in range(n)],
                    tempos=[(240 * i, 500_000 + i) for i in range(n)],
                    pedals={0: [(240 * i + 50 + 150 * (k % 2), k % 2 == 0) for i in range(n)
                                for k in range(2)]},
                    end_tick=240 * n)
    built = {"pedal": 0}
    real = io._pedal_intervals
    monkeypatch.setattr(io, "_pedal_intervals",
                        lambda *a: built.__setitem__("pedal", built["pedal"] + 1) or real(*a))
    notes = midi.notes_seconds(sustain=True)
    assert len(notes) == n and built["pedal"] == 1  # one channel: its presses listed once
    assert midi.sustained()[0].end == 200  # released at 100 under the pedal, up at 200
    assert midi._tempo_map() is midi._tempo_map()  # the tempo map is built once and kept
