"""Melody and performance codecs, MIDI in/out, rendering, and a tiny melody model end to end."""

from __future__ import annotations

import json
import math
import wave
from collections import Counter
from pathlib import Path

import mido
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import shared_file

import creative_rnn as cr
from creative_rnn.codecs.midi import render
from creative_rnn.codecs.midi.io import Note, read_midi, write_midi
from creative_rnn.codecs.midi.melody import NO_EVENT, NOTE_OFF, canonical, transpose_into
from creative_rnn.errors import SamplingError

FAST = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- melody ----------------------------------------------------------------------------------
def test_melody_vocabulary_is_the_fixed_130_classes():
    codec = cr.codecs.get("melody")
    assert codec.vocab_size == 134  # 130 classes + 4 specials, before seeing any data
    assert codec.encode([60, NO_EVENT, NOTE_OFF]) == [64, 133, 132]
    codec.fit([[70, 71]])  # fitting changes nothing: the encoding fixes the vocabulary
    assert codec.vocab_size == 134 and codec.encode([0]) == [4]


melody_steps = st.lists(st.integers(0, 129), min_size=1, max_size=80).map(canonical).filter(
    lambda s: any(v < NOTE_OFF for v in s))


@FAST
@given(steps=melody_steps)
def test_melody_round_trips_through_ids_and_midi(tmp_path_factory, steps):
    codec = cr.codecs.get("melody", transpose=False)
    ids = codec.encode(steps)
    assert codec.decode(ids) == steps
    assert codec.encode(codec.decode(ids)) == ids
    path = tmp_path_factory.mktemp("mel") / "m.mid"
    codec.write(steps, path)
    assert codec.read(path) == steps  # MIDI write -> read gives the same steps


def test_waltzing_matilda_reads_as_a_melody_with_the_files_notes(tmp_path):
    path = shared_file("midi/waltzing-matilda.mid")
    codec = cr.codecs.get("melody", transpose=False)
    steps = codec.read(path)
    mid = mido.MidiFile(path)
    file_pitches = [m.note for m in mid if m.type == "note_on" and m.velocity > 0]
    assert [v for v in steps if v < NOTE_OFF] == file_pitches
    assert len(steps) == round(mid.length * 2 * 4)  # 120 bpm: 8 sixteenths a second
    codec.write(steps, tmp_path / "again.mid")
    assert codec.read(tmp_path / "again.mid") == steps
    assert [n.pitch for n in codec.notes(steps)] == file_pitches


def test_pitch_range_transposes_by_octaves_and_is_a_sampling_constraint():
    low = [30, NO_EVENT, 34, NOTE_OFF, 37, 30]
    moved = transpose_into(low, 48, 84)
    assert moved == [54, NO_EVENT, 58, NOTE_OFF, 61, 54]  # two octaves up, intervals kept
    wide = transpose_into([40, 100], 48, 84)  # wider than the range: outliers fold in
    assert all(48 <= p <= 84 for p in wide) and all((a - b) % 12 == 0
                                                     for a, b in zip(wide, [40, 100]))
    codec = cr.codecs.get("melody")
    assert codec.from_steps(low) == moved
    (forbid,) = codec.logits_processors(complete_bars=False)
    import torch

    out = forbid(torch.zeros(1, codec.vocab_size), [[]])
    allowed = [codec.vocab.token(i) for i in range(codec.vocab_size) if out[0, i] > -math.inf]
    assert allowed[0] == "<pad>"  # specials are the generator's business
    assert {int(t) for t in allowed[4:]} == set(range(48, 85)) | {NOTE_OFF, NO_EVENT}
    with pytest.raises(SamplingError, match="complete_bars"):
        codec.logits_processors(complete_bars=True)  # an ABC constraint is refused, not ignored


def test_melody_phrase_prime_and_render_read_each_other():
    codec = cr.codecs.get("melody")
    steps = codec.tokenize("C4:4 e4:2 x - 62 | F#4 Bb3")
    assert [int(t) for t in steps] == [60, 129, 129, 129, 64, 129, 128, 129, 62, 66, 58]
    assert codec.parse_phrase(codec.render([int(t) for t in steps])) == [int(t) for t in steps]
    for bad in ("H4", "C4:0", "C4:x", "200"):
        with pytest.raises(SamplingError):
            codec.tokenize(bad)


# --- performance -----------------------------------------------------------------------------
def test_performance_vocabulary_sizes():
    assert cr.codecs.get("performance").vocab_size == 388 + 4
    assert cr.codecs.get("performance", velocity_bins=0).vocab_size == 356 + 4


@st.composite
def performances(draw):
    """Notes with per-pitch gaps of at least 20 ms (so no two notes of one key merge)."""
    notes = []
    for _ in range(draw(st.integers(1, 12))):
        pitch = draw(st.integers(21, 108))
        start = draw(st.integers(0, 600)) / 100 + draw(st.floats(0, 0.009))
        length = draw(st.floats(0.02, 2.5))
        notes.append(Note(pitch, start, start + length, draw(st.integers(1, 127))))
    kept: list[Note] = []
    for n in sorted(notes, key=lambda n: n.start):
        if all(k.pitch != n.pitch or n.start > k.end + 0.02 or k.start > n.end + 0.02
               for k in kept):
            kept.append(n)
    return kept


@FAST
@given(notes=performances())
def test_performance_round_trip_keeps_timing_within_10ms_and_velocity_within_a_bin(
        tmp_path_factory, notes):
    codec = cr.codecs.get("performance", trim_start=False)  # keep absolute times to compare
    path = tmp_path_factory.mktemp("perf") / "p.mid"
    write_midi(notes, path)  # a generated MIDI file, as any program would write it
    read = codec.read(path)
    ids = codec.encode(read)
    decoded = codec.decode(ids)
    assert codec.encode(decoded) == ids  # encode -> decode -> encode is stable
    assert len(decoded) == len(notes)
    key = lambda n: (n.pitch, n.start)  # noqa: E731
    for want, got in zip(sorted(notes, key=key), sorted(decoded, key=key)):
        assert want.pitch == got.pitch
        assert abs(want.start - got.start) <= 0.01 and abs(want.end - got.end) <= 0.01
        assert abs(codec.velocity_bin(want.velocity) - codec.velocity_bin(got.velocity)) <= 1


@FAST
@given(ids=st.lists(st.integers(0, 391), max_size=200))
def test_performance_decoding_tolerates_any_ids_and_writes_valid_midi(tmp_path_factory, ids):
    codec = cr.codecs.get("performance", hanging_note_s=0.5)
    notes = codec.decode(ids)
    assert all(0 <= n.pitch <= 127 and n.end > n.start and 1 <= n.velocity <= 127
               for n in notes)
    path = tmp_path_factory.mktemp("fuzz") / "f.mid"
    codec.write(notes, path)
    back = read_midi(path)  # a valid MIDI file, whatever the ids said
    assert len(back.notes) == len(notes)


def test_tolerant_decoding_rules():
    codec = cr.codecs.get("performance", hanging_note_s=2.0)
    notes = codec.detokenize(["off60", "vel31", "on60", "shift50", "on60", "shift10", "off60",
                              "on62"])
    assert notes == [Note(60, 0.0, 0.5, 126), Note(60, 0.5, 0.6, 126), Note(62, 0.6, 2.6, 126)]


def _pedal_file(path: Path) -> None:
    """120 bpm, 480 ticks a beat: 960 ticks a second."""
    def msgs(*events):
        out, now = [], 0
        for tick, msg in sorted(events, key=lambda e: e[0]):
            out.append(msg.copy(time=tick - now))
            now = tick
        return out
    on = lambda p: mido.Message("note_on", note=p, velocity=100)  # noqa: E731
    off = lambda p: mido.Message("note_off", note=p)  # noqa: E731
    pedal = lambda v: mido.Message("control_change", control=64, value=v)  # noqa: E731
    track = mido.MidiTrack(msgs((0, on(60)), (240, pedal(127)), (480, off(60)), (960, on(64)),
                                (1152, off(64)), (1440, on(60)), (1600, off(60)),
                                (1920, pedal(0)), (2400, on(67)), (2880, off(67))))
    mid = mido.MidiFile()
    mid.tracks.append(track)
    mid.save(path)


def test_sustain_pedal_lengthens_notes_until_release_or_restrike(tmp_path):
    _pedal_file(tmp_path / "pedal.mid")
    got = cr.codecs.get("performance").read(tmp_path / "pedal.mid")
    assert [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in got] == [
        (60, 0.0, 1.5),  # released under the pedal, cut when the key is struck again
        (64, 1.0, 2.0),  # held by the pedal until it comes up at 2 s
        (60, 1.5, 2.0),
        (67, 2.5, 3.0),  # after the pedal: as played
    ]
    dry = cr.codecs.get("performance", sustain=False).read(tmp_path / "pedal.mid")
    assert [round(n.end, 3) for n in dry] == [0.5, 1.2, 1.667, 3.0]


def test_performance_phrase_prime():
    codec = cr.codecs.get("performance")
    assert codec.tokenize("C4:0.25 on64 shift10 off64") == [
        "vel20", "on60", "shift25", "off60", "on64", "shift10", "off64"]
    with pytest.raises(SamplingError, match="performance prime"):
        codec.tokenize("on60 nonsense")


# --- quality and rendering -------------------------------------------------------------------
def test_quality_figures():
    codec = cr.codecs.get("melody")
    scale = [60, NO_EVENT, 62, NO_EVENT, 64, NO_EVENT, 65, NOTE_OFF] * 2  # one bar, 8 notes
    row = codec.quality([scale], reference=[scale])
    assert row == {"pc_distance": 0.0, "notes_per_bar": 8.0, "mean_bars": 1.0, "in_range": 1.0}
    other = codec.quality([[61, 30]], reference=[scale])
    assert other["pc_distance"] == 1.0 and other["in_range"] == 0.5  # disjoint classes
    perf = cr.codecs.get("performance")
    row = perf.quality([[Note(60, 0, 1, 80), Note(67, 1, 2, 80)]], reference=[[Note(60, 0, 1, 80)]])
    assert row == {"pc_distance": 0.5, "notes_per_s": 1.0, "mean_seconds": 2.0}


def test_piano_roll_png_is_written(tmp_path):
    out = render.piano_roll_png([(60, 0.0, 0.5, 100), (64, 0.5, 1.0, 40)], tmp_path / "r.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    render.piano_roll_png([], tmp_path / "empty.png")  # an empty sample still gets a picture
    assert (tmp_path / "empty.png").stat().st_size > 0


def _loudest_sample(path: Path) -> int:
    import array

    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnframes() > 0
        frames = array.array("h", w.readframes(w.getnframes()))
    return max(abs(x) for x in frames)


def test_wav_rendering_is_not_silent(tmp_path):
    try:
        render.find_fluidsynth()
        render.find_soundfont()
    except render.RenderError as e:
        pytest.skip(f"no FluidSynth here: {e}")
    write_midi([Note(60, 0, 0.5, 100), Note(67, 0.5, 1.0, 100)], tmp_path / "a.mid")
    wav = render.render_wav(tmp_path / "a.mid", tmp_path / "a.wav")
    assert _loudest_sample(wav) > 1000


def test_missing_fluidsynth_or_soundfont_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(render.RenderError, match="apt-get install fluidsynth"):
        render.render_wav(tmp_path / "a.mid", tmp_path / "a.wav")
    monkeypatch.delenv(render.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(render, "SOUNDFONTS", ())
    with pytest.raises(render.RenderError, match="fluid-soundfont-gm"):
        render.find_soundfont()
    codec = cr.codecs.get("melody")  # checked before anything is written
    with pytest.raises(render.RenderError):
        codec.outputs([60, 62], tmp_path / "x", ["wav"])
    assert not (tmp_path / "x.mid").exists()


def test_musicxml_output_has_the_melodys_notes(tmp_path):
    codec = cr.codecs.get("melody")
    steps = codec.parse_phrase("C4:4 D4:4 E4:8 G4:4")
    with pytest.raises(SamplingError, match="cannot write"):
        codec.outputs(steps, tmp_path / "t", ["mp3"])
    written = codec.outputs(steps, tmp_path / "t", ["musicxml"])
    assert [p.name for p in written] == ["t.mid", "t.musicxml"]
    from music21 import converter

    score = converter.parse(written[1], forceSource=True, storePickle=False)
    assert [n.pitch.midi for n in score.flatten().notes] == [60, 62, 64, 67]


# --- a tiny melody model, end to end ---------------------------------------------------------
@pytest.fixture(scope="module")
def melody_run(tmp_path_factory):
    source = shared_file("melody/melodies.jsonl")
    tmp = tmp_path_factory.mktemp("melody")
    lines = source.read_text().splitlines()[:48]
    (tmp / "subset.jsonl").write_text("\n".join(lines) + "\n")
    env = pytest.MonkeyPatch()
    env.setenv("CREATIVE_RNN_CACHE", str(tmp / "cache"))  # the corpus cache stays in tmp
    out = tmp / "run"
    cr.train(corpus=[str(tmp / "subset.jsonl")], out=out, codec=cr.codecs.get("melody"),
             preset="tiny", documents=True, max_steps=100, batch_size=16, doc_max_len=96,
             hidden_size=32, eval_every=50, checkpoint_every=100, progress_bar=False, seed=3)
    yield out
    env.undo()


def test_tiny_melody_model_beats_the_unigram_entropy(melody_run):
    from creative_rnn.training.evaluation import validation_loss

    metrics = [json.loads(x) for x in (melody_run / "metrics.jsonl").read_text().splitlines()]
    gen = cr.load(melody_run, device="cpu")
    corpus = cr.corpora.load(gen.config["corpus"]["sources"], gen.codec)
    counts = Counter(i for item in corpus.items for i in gen.codec.encode(item))
    total = sum(counts.values())
    unigram = -sum(c / total * math.log(c / total) for c in counts.values())
    val = validation_loss(melody_run)
    assert val < unigram, (val, unigram)
    assert any("val_loss" in m for m in metrics)


def test_sample_cli_writes_midi_wav_and_png(melody_run, tmp_path):
    from creative_rnn import cli

    has_synth = True
    try:
        render.find_fluidsynth()
        render.find_soundfont()
    except render.RenderError:
        has_synth = False
    out = tmp_path / "x.mid"
    rc = cli.main(["sample", str(melody_run), "--out", str(out), "--format", "wav",
                   "--format", "png", "--length", "48", "--seed", "2", "--device", "cpu",
                   "--prime", "C4:4 E4:4 G4:4"])
    if not has_synth:
        assert rc == 2 and not out.exists()
        pytest.skip("no FluidSynth here: checked the clear error instead")
    assert rc == 0
    steps = cr.codecs.get("melody").read(out)
    assert steps[:9] == [60, 129, 129, 129, 64, 129, 129, 129, 67]  # the prime, continued
    assert _loudest_sample(tmp_path / "x.wav") > 0
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_sample_writes_a_piano_roll_and_audio_by_default(melody_run, tmp_path, monkeypatch,
                                                         capsys):
    from creative_rnn import cli

    out = tmp_path / "d.mid"
    args = ["sample", str(melody_run), "--out", str(out), "--length", "32", "--seed", "3",
            "--device", "cpu"]
    assert cli.main(args) == 0
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "d.wav").exists() == render.can_render_wav()
    # without a renderer: MIDI and PNG still come, and a note says how to get audio
    monkeypatch.setattr(render, "can_render_wav", lambda: False)
    out.unlink()
    assert cli.main(args[:3] + [str(tmp_path / "e.mid")] + args[4:]) == 0
    assert (tmp_path / "e.mid").exists() and (tmp_path / "e.png").exists()
    assert not (tmp_path / "e.wav").exists()
    assert "apt-get install fluidsynth" in capsys.readouterr().err


def test_prime_file_and_quality_rows(melody_run, tmp_path):
    gen = cr.load(melody_run, device="cpu")
    codec = gen.codec
    codec.write(codec.parse_phrase("A4:2 B4:2 C5:4"), tmp_path / "phrase.mid")
    prime = codec.read(tmp_path / "phrase.mid")
    (sample,) = gen.generate(prime, length=32, num=1, seed=1)
    assert sample[:len(prime)] == prime and len(sample) == len(prime) + 32
    assert all(48 <= v <= 84 for v in sample[len(prime):] if v < NOTE_OFF)  # range constraint
    from creative_rnn.report import quality_rows

    rows = quality_rows(melody_run, num=2, length=64)
    assert set(rows) == {"generated", "corpus"}
    assert rows["corpus"]["pc_distance"] == 0.0 and rows["corpus"]["in_range"] == 1.0
    assert 0.0 <= rows["generated"]["pc_distance"] <= 1.0


def test_leading_silence_is_trimmed_by_default(tmp_path):
    write_midi([Note(60, 2.0, 2.5, 90), Note(64, 2.5, 3.0, 90)], tmp_path / "late.mid")
    trimmed = cr.codecs.get("performance").read(tmp_path / "late.mid")
    assert [(n.start, n.end) for n in trimmed] == [(0.0, 0.5), (0.5, 1.0)]
    kept = cr.codecs.get("performance", trim_start=False).read(tmp_path / "late.mid")
    assert kept[0].start == 2.0


def test_performance_model_trains_and_samples_playable_midi(tmp_path, monkeypatch):
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))
    for k in range(6):  # a small folder of arpeggios in different keys
        notes = [Note(48 + k + p, i * 0.2, i * 0.2 + 0.3, 60 + 10 * (i % 3))
                 for i, p in enumerate((0, 4, 7, 12, 7, 4, 0))]
        write_midi(notes, tmp_path / "midi" / f"arp-{k}.mid")
    run = cr.train(corpus=[str(tmp_path / "midi")], out=tmp_path / "run", codec="performance",
                   preset="tiny", documents=True, max_steps=20, hidden_size=32,
                   eval_every=10, checkpoint_every=20, progress_bar=False)
    assert run.val_loss is not None and math.isfinite(run.val_loss)
    gen = cr.load(run.path, device="cpu")
    samples = gen.generate("C4:0.2 E4:0.2", length=60, num=2, seed=1)
    for i, notes in enumerate(samples):
        assert notes[:2] == [Note(60, 0.0, 0.2, 82), Note(64, 0.2, 0.4, 82)]  # the prime
        gen.codec.write(notes, tmp_path / f"s{i}.mid")
        assert len(read_midi(tmp_path / f"s{i}.mid").notes) == len(notes)
