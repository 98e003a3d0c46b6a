"""MIDI files in and out, shared by the melody and performance codecs.

We use mido (not pretty_midi) because it is a small, pure-Python, maintained library that
reads and writes the Standard MIDI File format and nothing more; pretty_midi adds a numpy
object model and pulls in more dependencies, while the little we need on top of mido (a
tempo map, note pairing, the sustain pedal) is a few dozen lines here that we can make
tolerant of broken files in exactly the way a corpus loader needs.

Notes leave this module as ``Note(pitch, start, end, velocity)`` with times in seconds, or as
``TickNote`` (times in ticks) where musical time matters (melodies quantise by beats).
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ...core.files import atomic_write_bytes
from ...errors import CorpusError

DRUM_CHANNEL = 9  # General MIDI channel 10 (0-based 9) is percussion, not pitches
DEFAULT_TEMPO = 500_000  # microseconds per quarter note: 120 bpm, the MIDI default
MAX_SECONDS = 6 * 3600.0  # longer than any real piece: a time beyond this is a corrupt tick value
SUSTAIN_CC = 64  # the sustain (damper) pedal controller; values >= 64 mean down


class Note(NamedTuple):
    """One note in seconds."""

    pitch: int
    start: float
    end: float
    velocity: int


class TickNote(NamedTuple):
    """One note in ticks, with its channel (drums are channel 9)."""

    pitch: int
    start: int
    end: int
    velocity: int
    channel: int


@dataclass
class MidiData:
    """What a MIDI file holds that the codecs use.

    Every lookup is a binary search over lists built once, so reading a file is
    O(N log N) in its events however many tempo changes and pedal presses it has.
    """

    ticks_per_beat: int
    notes: list[TickNote]
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, us per quarter)
    pedals: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)  # channel -> changes
    end_tick: int = 0
    source: Any = None  # the parsed mido.MidiFile, for readers that pair notes their own way

    def seconds(self, tick: int) -> float:
        """Tick -> seconds through the tempo map (tempo changes apply from their tick on)."""
        ticks, points = self._tempo_map()
        t0, s0, tempo = points[max(bisect.bisect_right(ticks, tick) - 1, 0)]
        return s0 + (tick - t0) * tempo / 1e6 / self.ticks_per_beat

    def _tempo_map(self) -> tuple[list[int], list[tuple[int, float, int]]]:
        """(ticks, points): each point is (tick, seconds at that tick, tempo from there on)."""
        if getattr(self, "_map", None) is None:
            points = [(0, 0.0, DEFAULT_TEMPO)]
            for tick, tempo in sorted(self.tempos):
                t0, s0, old = points[-1]
                s = s0 + (tick - t0) * old / 1e6 / self.ticks_per_beat
                if tick == t0:
                    points[-1] = (tick, s0, tempo)
                else:
                    points.append((tick, s, tempo))
            self._map = ([p[0] for p in points], points)
        return self._map

    def sustained(self) -> list[TickNote]:
        """Notes with the sustain pedal applied: a note released while the pedal is down
        sounds until the pedal comes up, or until the same key is struck again."""
        intervals = {ch: _pedal_intervals(changes, self.end_tick)
                     for ch, changes in self.pedals.items()}
        downs = {ch: [down for down, _ in iv] for ch, iv in intervals.items()}
        notes = []
        for n in self.notes:
            end = n.end
            if n.channel in intervals:  # the one interval that can hold n.end: the last
                i = bisect.bisect_right(downs[n.channel], n.end) - 1  # pressed by then
                if i >= 0 and n.end < intervals[n.channel][i][1]:
                    end = max(end, intervals[n.channel][i][1])
            notes.append(n._replace(end=end))
        # a re-struck key cuts the sustained earlier note (one string per key on a piano)
        notes.sort(key=lambda n: (n.channel, n.pitch, n.start))
        for i in range(len(notes) - 1):
            a, b = notes[i], notes[i + 1]
            if (a.channel, a.pitch) == (b.channel, b.pitch) and a.start < b.start < a.end:
                notes[i] = a._replace(end=b.start)
        return sorted(notes, key=lambda n: (n.start, n.pitch))

    def notes_seconds(self, sustain: bool = True, drums: bool = False) -> list[Note]:
        """Pitched notes in seconds, sorted by start then pitch."""
        source = self.sustained() if sustain else self.notes
        out = [Note(n.pitch, self.seconds(n.start), self.seconds(n.end), n.velocity)
               for n in source if drums or n.channel != DRUM_CHANNEL]
        return sorted(out, key=lambda n: (n.start, n.pitch))


def _pedal_intervals(changes: list[tuple[int, bool]], end_tick: int) -> list[tuple[int, int]]:
    """(down, up) ticks of each press, sorted and disjoint; a pedal never released is up at
    the end of the file."""
    intervals, down_at = [], None
    for tick, down in sorted(changes):
        if down and down_at is None:
            down_at = tick
        elif not down and down_at is not None:
            intervals.append((down_at, tick))
            down_at = None
    if down_at is not None:
        intervals.append((down_at, max(end_tick, down_at)))
    return intervals


def _describe(e: Exception) -> str:
    if isinstance(e, EOFError):
        return "truncated: the file ends in the middle of a track"
    text = str(e).strip() or type(e).__name__
    return text.rstrip(".")


def read_midi(path: str | Path | None = None, data: bytes | None = None) -> MidiData:
    """Parse a Standard MIDI File (from ``path`` or raw ``data``) into ticks-based notes.

    Tolerant of the usual oddities (note-offs without note-ons are ignored, notes still on at
    the end are ended there, a note-on with velocity 0 is a note-off); refuses corrupt files
    with a CorpusError naming the file and the reason.
    """
    import mido

    name = str(path) if path is not None else "<MIDI data>"
    try:
        if data is None:
            data = Path(path).read_bytes()
        if not data:
            raise CorpusError(f"{name}: empty file (0 bytes)")
        mid = mido.MidiFile(file=io.BytesIO(data))
    except CorpusError:
        raise
    except OSError as e:
        raise CorpusError(f"{name}: not a readable MIDI file ({_describe(e)})") from None
    except Exception as e:  # mido raises EOFError, ValueError, KeyError... on corrupt bytes
        raise CorpusError(f"{name}: corrupt MIDI file ({_describe(e)})") from None
    tpb = mid.ticks_per_beat
    if not 0 < tpb < 0x8000:
        raise CorpusError(f"{name}: unsupported time division {tpb} (SMPTE or zero ticks per "
                          "beat); re-export it with ticks per quarter note")
    out = MidiData(ticks_per_beat=tpb, notes=[], source=mid)
    for track in mid.tracks:
        tick = 0
        on: dict[tuple[int, int], tuple[int, int]] = {}  # (channel, pitch) -> (start, velocity)
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                out.tempos.append((tick, msg.tempo))
            elif msg.type == "note_on" and msg.velocity > 0:
                key = (msg.channel, msg.note)
                if key in on:  # re-struck before its note-off: the first note ends here
                    start, vel = on.pop(key)
                    out.notes.append(TickNote(msg.note, start, tick, vel, msg.channel))
                on[key] = (tick, msg.velocity)
            elif msg.type in ("note_off", "note_on"):
                key = (msg.channel, msg.note)
                if key in on:  # a note-off without a note-on is ignored
                    start, vel = on.pop(key)
                    out.notes.append(TickNote(msg.note, start, tick, vel, msg.channel))
            elif msg.type == "control_change" and msg.control == SUSTAIN_CC:
                out.pedals.setdefault(msg.channel, []).append((tick, msg.value >= 64))
        for (channel, pitch), (start, vel) in on.items():
            out.notes.append(TickNote(pitch, start, tick, vel, channel))
        out.end_tick = max(out.end_tick, tick)
    if out.seconds(out.end_tick) > MAX_SECONDS:
        raise CorpusError(f"{name}: absurd tick value: an event {out.end_tick} ticks in "
                          f"({out.seconds(out.end_tick) / 3600:.0f} hours); the file is corrupt")
    out.notes.sort(key=lambda n: (n.start, n.pitch))
    return out


def midi_bytes(notes: Sequence[Note], bpm: float = 120.0, ticks_per_beat: int = 480,
               end: float | None = None, program: int = 0) -> bytes:
    """A type-0 MIDI file of ``notes`` (seconds) at a fixed tempo, as bytes.

    ``end`` (seconds) places the end-of-track marker, so silence after the last note is kept.
    """
    import mido

    ticks_per_s = ticks_per_beat * bpm / 60.0
    events: list[tuple[int, int, int, int]] = []  # (tick, order, pitch, velocity)
    for n in notes:
        s = int(round(n.start * ticks_per_s))
        e = max(int(round(n.end * ticks_per_s)), s)
        # at one tick: note-offs first, so a key released and struck again sounds twice
        events.append((s, 1, int(n.pitch), max(1, min(127, int(n.velocity)))))
        events.append((e, 0, int(n.pitch), 0))
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.Message("program_change", program=program, time=0))
    now = 0
    for tick, _, pitch, vel in events:
        kind = "note_on" if vel else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=vel or 64, time=tick - now))
        now = tick
    last = int(round(end * ticks_per_s)) if end is not None else now
    track.append(mido.MetaMessage("end_of_track", time=max(last - now, 0)))
    mid = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def write_midi(notes: Sequence[Note], path: str | Path, **options) -> Path:
    """Write ``notes`` as a MIDI file atomically (see ``midi_bytes`` for the options)."""
    atomic_write_bytes(path, midi_bytes(notes, **options))
    return Path(path)


def score_midi_bytes(score) -> bytes:
    """A music21 score (from MusicXML or ABC) as MIDI bytes, through music21's own writer."""
    from music21.midi import translate

    return translate.music21ObjectToMidiFile(score).writestr()
