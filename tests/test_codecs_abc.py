"""The ABC codec: tokens, round trips through music21, transposition, complete bars, quality,
broken input, and a tiny model that learns folk tunes."""

from __future__ import annotations

import math
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import creative_rnn as cr
from creative_rnn import codecs, corpora
from creative_rnn.cli import main
from creative_rnn.codecs.abc.bars import BarState, bars, durations_of
from creative_rnn.codecs.abc.codec import AbcCodec, split_tunes
from creative_rnn.codecs.abc.pitch import by_semitones, midi_pitches
from creative_rnn.codecs.abc.tokens import AbcError, detokenize_tune, tokenize_tune
from creative_rnn.config import ModelConfig
from creative_rnn.errors import CorpusError
from creative_rnn.models import SequenceModel
from creative_rnn.sampling.generator import Generator

BROKEN = Path(__file__).parent / "fixtures" / "abc_broken"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models


@pytest.fixture(scope="module")
def oneill() -> list[str]:
    """The first 150 tunes of O'Neill's Music of Ireland (music21's corpus)."""
    files = corpora.folk_files(["oneills1850"])[:3]
    return [t for f in files for t in split_tunes(f.read_text(encoding="latin-1"))][:150]


def m21_notes(abc: str) -> list[tuple[tuple[int, ...], Fraction]]:
    from music21 import converter, harmony

    s = converter.parse(abc, format="abc")
    return [(tuple(p.midi for p in n.pitches), Fraction(n.quarterLength))
            for n in s.recurse().notesAndRests if not isinstance(n, harmony.ChordSymbol)]


# --- tokens --------------------------------------------------------------------------------
def test_tokens_of_a_tune():
    tokens = tokenize_tune('X:3\nT:Demo\nM:6/8\nL:1/8\nK:Ador\n|:"Am"A>B ^c/d/ (3efg [CE]2 '
                           "{ag}f2-f z|1 e3 :|2 E3 |]\n")
    assert tokens == ["M:6/8", "L:1/8", "K:Ador", "|:", "A", ">", "B", "^", "c", "/2", "d",
                      "/2", "(3", "e", "f", "g", "[", "C", "E", "]", "2", "{", "a", "g", "}",
                      "f", "2", "-", "f", "z", "|", "[1", "e", "3", ":|", "[2", "E", "3", "|]"]
    assert tokenize_tune("X:1\nT:Demo\nK:G\nGAB|\n", keep_titles=True)[:6] == \
        ["T:", "@D", "@e", "@m", "@o", "M:4/4"]


def test_round_trip_parses_to_the_same_notes_in_music21(oneill):
    """ABC -> tokens -> ABC: music21 reads the same pitches and durations. Tunes that
    music21 itself misreads (decorations H, T, quoted text; a broken rhythm before a slur's
    end or start, "A>)B") are left out of this check."""
    plain = [t for t in oneill if not any(c in t.split("K:", 1)[1] for c in 'HTkM"!+')
             and not re.search(r"[<>]\s*[()]", t)][:12]
    assert len(plain) >= 10
    for tune in plain:
        assert m21_notes(detokenize_tune(tokenize_tune(tune))) == m21_notes(tune), tune[:80]


def test_detokenize_then_tokenize_is_stable(oneill):
    for tune in oneill:
        tokens = tokenize_tune(tune, keep_titles=True)
        assert tokenize_tune(detokenize_tune(tokens), keep_titles=True) == tokens


def test_transpose_to_c_keeps_mode_and_intervals():
    codec = AbcCodec(transpose_to_c=True)
    for key, mode in (("Gm", "K:Cmin"), ("Ador", "K:Cdor"), ("D", "K:Cmaj"), ("Emix", "K:Cmix"),
                      ("F#m", "K:Cmin"), ("Bb", "K:Cmaj")):
        tune = f"X:1\nM:4/4\nL:1/8\nK:{key}\nGABc d^efg|=f_B,C'z A2 c2|\n"
        moved = codec.tokenize(tune)
        assert mode in moved
        before = [p for p, _ in m21_notes(tune) if p]
        after = [p for p, _ in m21_notes(codec.detokenize(moved)) if p]
        shifts = {a[0] - b[0] for a, b in zip(after, before)}
        assert len(shifts) == 1 and abs(shifts.pop()) <= 7, key  # one interval for every note
        assert [d for _, d in m21_notes(tune)] == [d for _, d in m21_notes(codec.detokenize(moved))]


def test_augmentation_moves_every_note_by_the_shift(oneill):
    tokens = tokenize_tune(oneill[5])
    for shift in (2, -5, 6):
        moved = by_semitones(tokens, shift)
        diffs = {b - a for a, b in zip(midi_pitches(tokens), midi_pitches(moved))}
        assert diffs == {shift}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_tokenizer_never_crashes_on_arbitrary_text(text):
    try:
        tokens = tokenize_tune(text)
    except AbcError as e:
        assert str(e)  # a clear message, not an empty one
        return
    assert all(isinstance(t, str) and t for t in tokens)
    assert tokenize_tune(detokenize_tune(tokens)) == tokens


@pytest.mark.parametrize("garbage, message", [
    ("X:1\nK:G\nAB?? cd|\n", "unexpected '?'"), ("", "no notes"), ("X:1\nM:7/3\nK:G\nA|", "meter"),
    ("X:1\nK:G\nA0 B|\n", "zero"), ("%%%%\n#!/bin/sh\n", "unexpected '#'")])
def test_garbage_is_rejected_clearly(garbage, message):
    with pytest.raises(AbcError, match=message):
        tokenize_tune(garbage)


# --- corpora and bad input -----------------------------------------------------------------
def test_broken_files_are_skipped_named_and_counted(tmp_path, oneill):
    folder = tmp_path / "tunes"
    folder.mkdir()
    for f in BROKEN.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "good.abc").write_text("\n\n".join(oneill[:3]) + "\n\n" + "X:99\nK:HP\nAB|\n")
    corpus = corpora.load([str(folder)], AbcCodec())
    assert len(corpus.items) == 3  # the good file's bad fourth tune is skipped too
    assert len(corpus.skipped) == len(list(BROKEN.iterdir()))
    notes = " ".join(corpus.skipped)
    for f in BROKEN.iterdir():
        assert f.name in notes
    assert "unsupported file type" in notes and "looks binary" in notes


def test_a_corpus_where_every_file_fails_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="no usable abc items"):
        corpora.load([str(BROKEN)], AbcCodec())


def test_folk_sub_collections_by_name():
    files = corpora.resolve_files(["folk:oneills1850"])[0]
    assert files and all("oneills1850" in str(f) for f in files)
    irish = corpora.resolve_files(["folk:irish"])[0]
    assert {"oneills1850", "ryansMammoth"} <= {f.parent.name for f in irish} | {
        p.name for f in irish for p in f.parents}
    with pytest.raises(CorpusError, match="unknown folk collection"):
        corpora.resolve_files(["folk:nowhere"])


# --- quality and outputs -------------------------------------------------------------------
def test_quality_of_the_corpus_itself(oneill):
    q = AbcCodec().quality(oneill[:40], reference=oneill)
    assert q["parse_share"] == 1.0
    assert q["bars_complete"] > 0.9
    assert q["pc_distance"] < 0.1
    assert 2 < q["notes_per_bar"] < 12 and q["mean_notes"] > 20
    assert AbcCodec().quality(oneill[:20], reference=oneill[:20])["pc_distance"] == 0.0


def test_outputs_abc_and_midi_that_music21_reads_back(tmp_path):
    codec = AbcCodec()
    tune = "X:1\nM:4/4\nL:1/8\nK:G\nG2-G2 AB^cd|[GB]4 z2 d>c|B8|]\n"
    paths = codec.outputs(tune, tmp_path / "tune", ["musicxml"])
    assert [p.suffix for p in paths] == [".abc", ".mid", ".musicxml"]
    assert paths[0].read_text() == tune
    from music21 import converter

    midi = converter.parse(paths[1]).stripTies().flatten().notes
    notes = codec.notes(tune)  # ties joined, at 120 quarters a minute
    assert [p.midi for n in midi for p in n.pitches] == [p for p, *_ in notes]
    assert notes[0] == (67, 0.0, 1.0, 80)  # G2-G2: one note of two beats
    assert len(notes) == 10 and notes[-1] == (71, 4.0, 6.0, 80)  # B8 from beat 8, 2 s
    assert converter.parse(paths[2]).flatten().notes  # MusicXML opens too


# --- sampling with complete bars -----------------------------------------------------------
def test_complete_bars_from_an_untrained_model(oneill):
    codec = AbcCodec()
    codec.fit(oneill)
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell="lstm", num_layers=1, hidden_size=32,
                                      embedding_size=16, dropout=0.0,
                                      vocab_size=codec.vocab_size)).eval()
    gen = Generator(model, codec, {"train": {"documents": True}})
    tunes = gen.generate(length=300, num=6, seed=3, temperature=1.0,
                         constraints={"complete_bars": True})
    for tune in tunes:  # 300 tokens and no </s> yet: the last bar may be unfinished
        found = bars(tokenize_tune(tune))
        closed = found if tune.rstrip().endswith(("|", "|]", ":|", "||", "::")) else found[:-1]
        assert closed and all(b.length == b.target for b in closed), tune
    # a prime that leaves a bar open is continued into complete bars
    primed = gen.generate(prime="M:3/4\nL:1/8\nK:G\n|:GA", length=200, num=2, seed=1,
                          constraints={"complete_bars": True})
    for tune in primed:
        body = bars(tokenize_tune(tune))
        assert all(b.length == Fraction(6) for b in body[:-1])


def test_bar_state_refuses_overflow_early_bars_and_early_ends():
    st = BarState(durations_of(["2", "3", "/2"]))
    for t in ["M:6/8", "L:1/8", "K:Gmaj", "|:", "G", "A"]:
        assert st.feed(t), t
    assert not st.copy().feed("|")  # two of six eighths: too early
    assert st.copy().feed("(3")  # a triplet of eighths fits (two units)
    assert not st.can_end()
    st.feed("B")
    assert not st.copy().feed("6")  # B6 would overflow the bar (1 + 1 + 6 > 6)
    assert st.copy().feed("3") and st.feed("2") and st.feed(">")  # B2>c2 = B3 c1: fits
    st.feed("c")
    assert not st.copy().feed("3")  # the second of a broken pair has the first's length
    assert st.feed("2") and st.feed(":|") and st.can_end()
    assert not st.copy().feed("|")  # an empty bar
    assert not st.copy().feed("[M:3/4]")  # no meter changes inside a constrained tune


# --- a tiny model learns ------------------------------------------------------------------
@pytest.fixture(scope="module")
def folk_run(tmp_path_factory, oneill) -> Path:
    base = tmp_path_factory.mktemp("abc")
    book = base / "book.abc"
    book.write_text("\n\n".join(oneill[:120]) + "\n")
    out = base / "run"
    cr.train(corpus=[str(book)], out=out, codec="abc", preset="tiny", max_steps=250,
             batch_size=16, eval_every=125, checkpoint_every=250, progress_bar=False)
    return out


def test_tiny_model_beats_the_unigram_entropy(folk_run):
    import json

    cfg = json.loads((folk_run / "config.json").read_text())
    assert cfg["train"]["documents"] is True  # --codec abc implies documents mode
    gen = cr.load(folk_run)
    book = Path(cfg["corpus"]["sources"][0]).read_text()
    counts = Counter(t for tune in split_tunes(book) for t in gen.codec.tokenize(tune))
    total = sum(counts.values())
    unigram = -sum(c / total * math.log(c / total) for c in counts.values())
    val = [json.loads(line)["val_loss"] for line in (folk_run / "metrics.jsonl").open()
           if "val_loss" in line]
    assert min(val) < unigram - 0.3, (min(val), unigram)


def test_cli_sample_with_complete_bars_prime_and_files(folk_run, tmp_path, capsys):
    prime = tmp_path / "prime.abc"
    prime.write_text("X:1\nM:6/8\nL:1/8\nK:D\n|:d2f")
    out = tmp_path / "s.abc"
    assert main(["sample", str(folk_run), "--complete-bars", "--num", "3", "--seed", "2",
                 "--prime-file", str(prime), "--out", str(out), "--length", "300"]) == 0
    written = sorted(tmp_path.glob("s-*"))
    from creative_rnn.codecs.midi import render

    audio = {".wav"} if render.can_render_wav() else set()  # a piano roll always, audio if it can
    assert {p.suffix for p in written} == {".abc", ".mid", ".png"} | audio
    for p in written:
        if p.suffix == ".abc":
            found = bars(tokenize_tune(p.read_text()))
            assert all(b.length == 6 for b in found[:-1])
    assert main(["sample", str(folk_run), "--prime", "K:D\\n|:d2 fd", "--length", "30",
                 "--seed", "1"]) == 0
    assert main(["sample", str(folk_run), "--prime", "K:D\\n|:d2 ?!", "--length", "5"]) == 2
    assert "unexpected" in capsys.readouterr().err


def test_evaluate_prints_the_quality_table_with_complete_bars(folk_run, capsys):
    assert main(["evaluate", str(folk_run), "--num", "4", "--complete-bars"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line.split() for line in lines if "bars_complete" in line)
    rows = {line.split()[0]: line.split()[1:] for line in lines
            if line.split()[:1] in (["generated"], ["corpus"])}
    at = header.index("bars_complete")
    assert float(rows["generated"][at]) == 1.0
    assert float(rows["corpus"][header.index("parse_share")]) == 1.0


def test_codec_round_trips_through_json():
    codec = AbcCodec(transpose_to_c=True, keep_titles=True)
    codec.fit(["X:1\nT:A\nK:G\nGABc|\n"])
    again = codecs.from_json(codec.to_json())
    assert again.options == codec.options and again.vocab.tokens == codec.vocab.tokens
    with pytest.raises(cr.UserError):
        codecs.get("abc", transpose_to_c=True, augment_transpositions=2)
