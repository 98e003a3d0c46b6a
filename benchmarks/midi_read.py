"""Reading MIDI files grows linearly with their size: the time per note of reading files of
1k to 16k notes (each note with a sustain-pedal change and every eighth note with a tempo
change, the worst case for pairing notes, applying the pedal and the tempo map), read as
performances and as melodies, best of `--repeats`. The last line is the ratio of the
largest file's time per note to the smallest's: about 1 for a linear reader (the pedal
was once applied in O(N^2): 0.19 s for 1k notes, 4.0 s for 4k). mido's own parse is
linear but its time per message grows on a loaded machine, hence the separate 'notes'
column: the pedal, the tempo map and the sort alone.

    python benchmarks/midi_read.py [--sizes 1000 2000 4000 8000 16000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import io
import tempfile
import time
from pathlib import Path

import mido

from creative_rnn import codecs
from creative_rnn.bench.common import machine
from creative_rnn.codecs.midi.io import read_midi


def pedal_file(notes: int) -> bytes:
    """``notes`` eighth notes in one track, the pedal down at each note and up just before
    the next one, a tempo change every 8 notes."""
    track = mido.MidiTrack()
    step = 240  # ticks: an eighth at 480 ticks a beat
    for i in range(notes):
        if i % 8 == 0:
            track.append(mido.MetaMessage("set_tempo", tempo=400_000 + 1000 * (i % 64), time=0))
        track.append(mido.Message("note_on", note=40 + (i * 7) % 48, velocity=30 + i % 90,
                                  time=0))
        track.append(mido.Message("control_change", control=64, value=127, time=10))
        track.append(mido.Message("note_off", note=40 + (i * 7) % 48, time=step // 2))
        track.append(mido.Message("control_change", control=64, value=0, time=step // 2 - 20))
        track.append(mido.Message("note_on", note=0, velocity=0, time=10))  # a stray note-off
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()  # start each read with the same heap: a collection owed by the last
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 8000, 16000])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    readers = {name: codecs.get(name) for name in ("performance", "melody")}
    perf = readers["performance"]
    print(f"machine: {machine()}; best of {args.repeats}; a pedal change on every note; "
          "'notes' is the performance reader after parsing (pedal, tempo map, order)")
    per_note: dict[str, list[float]] = {name: [] for name in (*readers, "notes")}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"pedal-{n}.mid"
            path.write_bytes(pedal_file(n))
            row = [f"{n:>7,} notes"]
            for name, codec in readers.items():
                seconds = best_of(lambda c=codec, p=path: c.read(p), args.repeats)
                per_note[name].append(seconds / n)
                row.append(f"{name} {seconds:7.3f} s = {seconds / n * 1e6:6.1f} us/note")
            midi = read_midi(path)
            seconds = best_of(lambda m=midi: perf.from_midi(m), args.repeats)
            per_note["notes"].append(seconds / n)
            row.append(f"notes {seconds:6.3f} s = {seconds / n * 1e6:5.1f} us/note")
            print("   ".join(row))
    for name, times in per_note.items():
        print(f"{name}: time per note at {args.sizes[-1]:,} notes / at {args.sizes[0]:,} notes "
              f"= {times[-1] / times[0]:.2f} (1.0 is linear)")


if __name__ == "__main__":
    main()
