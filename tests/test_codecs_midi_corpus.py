"""Music corpora: melody JSONL, Bach chorales, folders with broken files, the cache, the
parallel reader and its per-file time limit."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import threading
import time
from pathlib import Path

import mido
import pytest
from support import shared_file

import creative_rnn as cr
from creative_rnn.codecs.midi.io import Note, midi_bytes
from creative_rnn.codecs.midi.melody import NOTE_OFF, MelodyCodec, canonical
from creative_rnn.corpora import parallel as corpus_loader
from creative_rnn.errors import CorpusError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))


def _absurd_tick_midi() -> bytes:
    """A note-on 2^28 ticks (78 hours at 120 bpm) into the file: the largest delta MIDI allows."""
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=80, time=0x0FFFFFFF),
                            mido.Message("note_off", note=60, time=10)])
    mid = mido.MidiFile()
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


SCALE = [Note(60 + i, i * 0.25, i * 0.25 + 0.2, 90) for i in range(8)]
CHORDS = [Note(p, t, t + 0.5, 70) for t in (0.0, 0.5) for p in (48, 52, 55, 64)]


def broken_folder(root: Path) -> Path:
    """Two valid MIDI files (one nested) and files named after what is wrong with them."""
    (root / "nested").mkdir(parents=True)
    good = midi_bytes(SCALE)
    files = {
        "valid-scale.mid": good,
        "nested/valid-chords.midi": midi_bytes(CHORDS),
        "empty-file.mid": b"",
        "not-a-midi-file.mid": b"these are words, not MIDI bytes\n",
        "truncated-track.mid": good[: len(good) // 2],
        "zero-notes.mid": midi_bytes([]),
        "absurd-tick-value.mid": _absurd_tick_midi(),
        "unsupported-type.txt": b"a stray text file\n",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


REASONS = {  # file -> words its skip message must contain
    "empty-file.mid": "empty file",
    "not-a-midi-file.mid": "not a readable MIDI file",
    "truncated-track.mid": "truncated",
    "zero-notes.mid": "no notes",
    "absurd-tick-value.mid": "absurd tick value",
    "unsupported-type.txt": "unsupported file type",
}


def test_broken_files_are_skipped_counted_and_named(tmp_path, capsys):
    folder = broken_folder(tmp_path / "midi")
    corpus = cr.corpora.load(folder, cr.codecs.get("melody", transpose=False))
    assert corpus.items == [_chords_melody(), _scale_melody()]  # sorted paths: nested/ first
    assert len(corpus.skipped) == len(REASONS)
    for name, words in REASONS.items():
        (note,) = [s for s in corpus.skipped if name in s]
        assert words in note, note
    assert "read 2 of 8 file(s): 2 item(s), 6 skipped" in capsys.readouterr().err


def _scale_melody() -> list[int]:
    # eighth notes of 0.2 s at 120 bpm: on for 2 sixteenths (0.25 s rounds to 2), then next
    return [60, 129, 61, 129, 62, 129, 63, 129, 64, 129, 65, 129, 66, 129, 67, 129]


def _chords_melody() -> list[int]:
    return [64, 129, 129, 129, 64, 129, 129, 129]  # chords reduced to their highest note


def test_exact_melodies_from_the_valid_files(tmp_path):
    folder = broken_folder(tmp_path / "midi")
    codec = cr.codecs.get("melody", transpose=False)
    assert codec.read(folder / "valid-scale.mid") == _scale_melody()
    assert codec.read(folder / "nested" / "valid-chords.midi") == _chords_melody()


def test_a_corpus_where_every_file_fails_is_a_clear_error(tmp_path):
    folder = broken_folder(tmp_path / "midi")
    for f in folder.rglob("valid-*"):
        f.unlink()
    with pytest.raises(CorpusError, match=r"all 6 file\(s\) failed"):
        cr.corpora.load(folder, cr.codecs.get("performance"))
    with pytest.raises(CorpusError, match="truncated"):  # one named file: its own reason
        cr.corpora.load(folder / "truncated-track.mid", cr.codecs.get("melody"))


def test_each_file_has_a_time_limit(tmp_path):
    class Stuck(cr.codecs.get("melody").__class__):
        def read_items(self, path):
            while True:  # a parser that never finishes
                pass

    (tmp_path / "slow.mid").write_bytes(midi_bytes(SCALE))
    status, reason = corpus_loader.read_one(Stuck(), str(tmp_path / "slow.mid"), timeout=0.2)
    assert status == "skip" and "time limit" in reason and "slow.mid" in reason


class Hanging(MelodyCodec):
    """A reader that never finishes. At module level, so a child process can unpickle it."""

    def read_items(self, path):
        Path(path).with_suffix(".pid").write_text(str(os.getpid()))  # who is reading
        while True:
            time.sleep(0.01)


def _in_a_thread(fn):
    """``fn()`` run in a worker thread, as the web studio reads an upload."""
    out = {}
    worker = threading.Thread(target=lambda: out.update(result=fn()))
    worker.start()
    worker.join(180)
    assert not worker.is_alive(), "the read did not end"
    return out["result"]


def test_the_time_limit_holds_off_the_main_thread_and_leaves_no_process(tmp_path):
    path = tmp_path / "slow.mid"
    path.write_bytes(midi_bytes(SCALE))
    status, reason = _in_a_thread(lambda: corpus_loader.read_one(Hanging(), str(path), 1.0))
    assert status == "skip" and "time limit" in reason and "slow.mid" in reason
    pid = int(path.with_suffix(".pid").read_text())
    assert pid != os.getpid()  # the hanging read ran in a child process ...
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ... which is gone: killed and reaped
    assert multiprocessing.active_children() == []


def test_a_corpus_read_in_a_thread_is_the_one_read_in_the_main_thread(tmp_path):
    folder = broken_folder(tmp_path / "midi")
    codec = cr.codecs.get("melody", transpose=False)
    here = corpus_loader.load_files(sorted(f for f in folder.rglob("*") if f.is_file()), set(),
                                    codec, [folder], workers=1, use_cache=False)
    there = _in_a_thread(lambda: corpus_loader.load_files(
        sorted(f for f in folder.rglob("*") if f.is_file()), set(), codec, [folder],
        workers=1, use_cache=False))
    assert there.items == here.items and there.skipped == here.skipped


def test_second_load_comes_from_the_cache_with_identical_ids(tmp_path, monkeypatch):
    folder = broken_folder(tmp_path / "midi")
    codec = cr.codecs.get("performance")
    reads: list[str] = []
    real = codec.read_items
    monkeypatch.setattr(codec, "read_items", lambda path: reads.append(path) or real(path))
    first = cr.corpora.load(folder, codec)
    assert len(reads) == 8
    second = cr.corpora.load(folder, codec)
    assert len(reads) == 8  # nothing read again
    assert [codec.encode(i) for i in second.items] == [codec.encode(i) for i in first.items]
    assert second.skipped == first.skipped and second.sources == first.sources
    # a changed file or different codec options give a new key, so the files are read again
    other = cr.codecs.get("performance", velocity_bins=0)
    assert corpus_loader.cache_key(sorted(folder.rglob("*")), other) != \
        corpus_loader.cache_key(sorted(folder.rglob("*")), codec)
    (folder / "valid-scale.mid").write_bytes(midi_bytes(SCALE[:4]))
    third = cr.corpora.load(folder, codec)
    assert len(reads) == 16 and len(third.items[1]) == 4


def test_parallel_reading_gives_the_serial_result(tmp_path):
    folder = broken_folder(tmp_path / "midi")
    files = sorted(f for f in folder.rglob("*") if f.is_file())
    codec = cr.codecs.get("melody")
    serial = corpus_loader.load_files(files, set(), codec, [folder], workers=1, use_cache=False)
    parallel = corpus_loader.load_files(files, set(), codec, [folder], workers=2,
                                        use_cache=False)
    assert parallel.items == serial.items and parallel.skipped == serial.skipped


def test_melody_jsonl_loader():
    path = shared_file("melody/melodies.jsonl")
    lines = [json.loads(x)["steps"] for x in path.read_text().splitlines() if x.strip()]
    with_notes = [s for s in lines if any(v < NOTE_OFF for v in s)]
    raw = cr.corpora.load(path, cr.codecs.get("melody", transpose=False))
    assert raw.items == [canonical(s) for s in with_notes]  # melodies without notes dropped
    ranged = cr.corpora.load(path, cr.codecs.get("melody"))
    assert all(48 <= v <= 84 for s in ranged.items for v in s if v < NOTE_OFF)
    assert [len(s) for s in ranged.items] == [len(s) for s in raw.items]


def test_bad_jsonl_line_is_named(tmp_path):
    (tmp_path / "m.jsonl").write_text('{"steps": [60, 129, 128]}\n{"steps": [60, 300]}\n')
    with pytest.raises(CorpusError, match="line 2"):
        cr.codecs.get("melody").read_items(tmp_path / "m.jsonl")


def test_bach_chorales_as_soprano_melodies_and_as_performances():
    from music21 import corpus as m21corpus

    codec = cr.codecs.get("melody", transpose=False)
    (melody,) = cr.corpora.load("bach", codec, bach={"names": ["bwv66.6"]}).items
    score = m21corpus.parse("bach/bwv66.6")
    soprano = [n.pitch.midi for n in score.parts[0].stripTies().flatten().notes]
    assert [v for v in melody if v < NOTE_OFF] == soprano
    (perf,) = cr.corpora.load("bach", cr.codecs.get("performance"),
                              bach={"names": ["bwv66.6"]}).items
    assert len({n.pitch for n in perf}) > len(set(soprano))  # all four voices
    with pytest.raises(CorpusError, match="bwv0"):
        cr.corpora.bach_files(names=["bwv0"])


def test_an_abc_file_reads_as_a_melody(tmp_path):
    (tmp_path / "tune.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:C\nC D E G|c4|]\n")
    codec = cr.codecs.get("melody", transpose=False)
    steps = codec.read(tmp_path / "tune.abc")
    assert [v for v in steps if v < NOTE_OFF] == [60, 62, 64, 67, 72]
