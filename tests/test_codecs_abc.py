"""The ABC codec: tokens, round trips through music21, transposition, complete bars, quality,
broken input, and a tiny model that learns folk tunes."""

from __future__ import annotations

import json
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
from creative_rnn import codecs, corpora, starters
from creative_rnn.cli import main
from creative_rnn.codecs.abc.bars import BarState, bars, durations_of
from creative_rnn.codecs.abc.codec import AbcCodec, split_tunes
from creative_rnn.codecs.abc.pitch import by_semitones, midi_pitches
from creative_rnn.codecs.abc.tokens import (
    ACCIDENTALS,
    AbcError,
    detokenize_tune,
    is_duration,
    is_pitch,
    parse_duration,
    tokenize_tune,
)
from creative_rnn.codecs.abc.units import to_unit
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
    assert tunes and len(tunes) + len(tunes.unfinished) == 6
    for tune in tunes:  # whole: it ended at </s>, which only a closing bar line allows
        found = bars(tokenize_tune(tune))
        assert found and all(b.length == b.target for b in found), tune
    for tune in tunes.unfinished:  # 300 tokens and no </s>: the last bar may be unfinished
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


# --- bounded input (issue 20) ---------------------------------------------------------------
HUGE = "9" * 5000  # beyond int()'s 4300-digit limit: a ValueError, not an AbcError, before


@pytest.mark.parametrize("text, message", [
    (f"K:G\nA{HUGE}|", "note length"),
    (f"K:G\nA/{HUGE}|", "note length"),
    (f"K:G\nA{HUGE}/{HUGE}|", "note length"),
    ("K:G\nA/0|", "note length"),
    ("K:G\nA" + "/" * 5000 + "|", "note length"),
    ("K:G\nA2/3 B|", "note length"),  # only halves, quarters, ...: thirds are tuplets
    (f"K:G\n[CE]{HUGE}|", "note length"),
    (f"K:G\nz{HUGE}|", "note length"),
    (f"L:1/{HUGE}\nK:G\nA|", "L:"),
    (f"M:{HUGE}/8\nK:G\nA|", "M:"),
    (f"M:1/{HUGE}\nK:G\nA|", "M:"),
    ("M:" + "+".join(["1"] * 2000) + "/8\nK:G\nA|", "M:"),
    (f"K:G\nA [L:1/{HUGE}] B|", "L:"),
    (f"K:G\n(3:{HUGE} ABC|", "tuplet"),
    (f"K:G\n(3:2:{HUGE} ABC|", "tuplet"),
    ("K:G\n(3:2:99 ABC|", "tuplet"),
    (f"K:G\nAB |{HUGE} c|", "ending"),
    (f"K:G\nAB [{HUGE} c|", "ending"),
    ("K:G\nAB |1," + ",".join(["2"] * 50) + " c|", "ending"),
])
def test_every_number_a_user_types_is_bounded(text, message):
    """Note lengths, unit lengths, meters, tuplets and endings: a one-line AbcError (a
    UserError) before any work, never a ValueError or a huge loop."""
    with pytest.raises(AbcError, match=message) as e:
        tokenize_tune(text)
    assert "\n" not in str(e.value) and len(str(e.value)) < 200
    codec = AbcCodec()
    codec.fit(["X:1\nK:G\nGABc|\n"])
    with pytest.raises(cr.UserError):  # the same through the codec, as a --prime
        codec.encode(text)


def test_a_tune_with_a_5000_digit_number_is_skipped_with_a_reason(tmp_path, capsys):
    """Reading a corpus: the bad tune is skipped and named, its neighbours are kept (the
    whole file used to be lost to a ValueError)."""
    book = tmp_path / "book.abc"
    book.write_text("X:1\nT:Good\nK:G\nGABc|\n\n"
                    f"X:2\nT:Huge\nK:G\nA{HUGE}|\n\n"
                    "X:3\nT:Also good\nK:D\nDEFG|\n")
    tunes = AbcCodec().read_items(book)
    assert [t.splitlines()[1] for t in tunes] == ["T:Good", "T:Also good"]
    err = capsys.readouterr().err
    assert "skipped 1 of 3" in err and "'Huge'" in err and "note length" in err
    corpus = corpora.load([str(book)], AbcCodec())
    assert len(corpus.items) == 2 and not corpus.skipped


def test_the_abc_reader_refuses_what_is_not_a_regular_file(tmp_path):
    import os

    fifo = tmp_path / "endless.abc"
    os.mkfifo(fifo)  # reading would block for ever
    with pytest.raises(AbcError, match="not a regular file"):
        AbcCodec().read(fifo)


NEAR_ABC = st.one_of(  # pieces of tunes with numbers of any size where a number may go
    st.sampled_from(["A", "^c", "_B,", "z", "|", "|:", ":|", "[", "]", "{", "}", ">", "<",
                     "-", "(3", " ", "\n", "[1", "|2", "\\n", "c'", "x", "[K:D]", "[M:3/4]"]),
    st.builds(lambda n, d: f"A{n}/{d}", st.integers(0, 10**6), st.integers(0, 10**6)),
    st.builds(lambda n: f"B{n}", st.integers(0, 10**6)),
    st.builds(lambda s: f"c{'/' * s}", st.integers(0, 40)),
    st.builds(lambda p, q, r: f"({p}:{q}:{r}", st.integers(0, 12), st.integers(0, 10**4),
              st.integers(0, 10**4)),
    st.builds(lambda e: f"|{e}", st.integers(0, 10**8)),
    st.builds(lambda n, d: f"\n[M:{n}/{d}]", st.integers(0, 10**5), st.integers(0, 10**5)),
    st.builds(lambda d: f"\n[L:1/{d}]", st.integers(0, 10**5)),
    st.builds(lambda digits: f"D{'7' * digits}", st.integers(4000, 6000)),
)
HEADERS = st.builds(lambda m, l, k: f"X:1\nM:{m}\nL:{l}\nK:{k}\n",
                    st.sampled_from(["6/8", "4/4", "C|", "3/4", "2+3/8", "9" * 5000 + "/8",
                                     "none", "7/3", "0/4"]),
                    st.sampled_from(["1/8", "1/16", "1/4", "1/0", "1/" + "9" * 5000, "2/8"]),
                    st.sampled_from(["G", "Ador", "F#m", "Bb", "HP", "none"]))


@pytest.fixture(scope="module")
def fitted_abc(oneill) -> list[AbcCodec]:
    out = []
    for options in ({}, {"transpose_to_c": True}, {"normalize_unit": False}):
        codec = AbcCodec(**options)
        codec.fit(oneill[:50])
        out.append(codec)
    return out


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=300),
                      st.builds(lambda h, body: h + "".join(body), HEADERS,
                                st.lists(NEAR_ABC, max_size=40))),
       which=st.integers(0, 2), unknown=st.sampled_from(["error", "skip"]))
def test_fuzzed_primes_give_bounded_valid_ids_or_a_user_error(fitted_abc, text, which,
                                                               unknown):
    codec = fitted_abc[which]
    try:
        ids = codec.encode(text, unknown=unknown)
    except cr.UserError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert len(ids) <= 4 * len(text) + 10  # a few tokens per character at most
    assert all(isinstance(i, int) and 0 <= i < codec.vocab_size for i in ids)


# --- one unit note length (issue 15) ---------------------------------------------------------
def test_normalize_unit_rewrites_lengths_in_eighths():
    """L:1/16 lengths halve, L:1/4 lengths double; inline [L:] goes. Version 2: a chord of
    equal notes carries its whole length after "]", graces are scaled like notes. Version 1
    (old runs, the folk starter) scaled only a chord's multiplier and left graces as written."""
    tokens = tokenize_tune("X:1\nM:2/4\nL:1/16\nK:D\nA2B c/2d/2 [ce]4 [c2e2]2 (3def z4 {g}f2"
                           " [L:1/4] A B2|\n")
    head = ["M:2/4", "L:1/8", "K:Dmaj", "A", "B", "/2", "c", "/4", "d", "/4", "[", "c", "e",
            "]", "2"]
    tail = ["(3", "d", "/2", "e", "/2", "f", "/2", "z", "2"]
    assert to_unit(tokens) == [*head, "[", "c", "e", "]", "2", *tail,
                               "{", "g", "/2", "}", "f", "A", "2", "B", "4", "|"]
    assert to_unit(tokens, version=1) == [*head, "[", "c", "2", "e", "2", "]", *tail,
                                          "{", "g", "}", "f", "A", "2", "B", "4", "|"]
    assert to_unit(tokenize_tune("X:1\nL:1/8\nK:G\nGA2B|\n")) == ["M:4/4", "L:1/8", "K:Gmaj",
                                                                  "G", "A", "2", "B", "|"]
    with pytest.raises(AbcError, match="L:1/8"):  # 64 quarters are 128 eighths: too long
        to_unit(tokenize_tune("X:1\nL:1/4\nK:G\nG64|\n"))


def test_one_rhythm_has_one_spelling_whatever_the_unit():
    """The same bar written under L:1/8, L:1/16 and L:1/4, with its chords spelled each way
    ABC allows ([c2e2], [ce]2, [c4e4]/2; accidentals inside), graces, tuplets and an unequal
    chord, gives the same tokens: the chords in the one spelling the complete-bars constraint
    can sample."""
    eighths = "X:1\nM:4/4\nL:1/8\nK:G\n{g}f (3def [ce2] [c2^e2] [c^e]2|\n"
    sixteenths = "X:1\nM:4/4\nL:1/16\nK:G\n{g2}f2 (3d2e2f2 [c2e4] [c8^e8]/2 [c2^e2]2|\n"
    quarters = "X:1\nM:4/4\nL:1/4\nK:G\n{g/2}f/2 (3d/2e/2f/2 [c/2e] [c2^e2]/2 [c/2^e/2]2|\n"
    spelled = {tuple(to_unit(tokenize_tune(t))) for t in (eighths, sixteenths, quarters)}
    assert len(spelled) == 1
    tokens = list(spelled.pop())
    equal = ["[", "c", "^", "e", "]", "2"]
    assert tokens[3:] == ["{", "g", "}", "f", "(3", "d", "e", "f", "[", "c", "e", "2", "]",
                          *equal, *equal, "|"]
    # the constraint takes the equal chords' spelling, and no length inside a chord
    state = BarState(durations=durations_of(tokens))
    assert all(state.feed(t) for t in [*tokens[:11], "[", "c", "e", "]", *tokens[16:]])
    inside = BarState(durations=durations_of(tokens))
    assert [inside.feed(t) for t in ["[", "c", "e", "2"]] == [True, True, True, False]


def test_a_chord_is_as_long_as_its_first_note():
    """ABC 2.1, 4.17 (and music21): [E G/2] lasts as long as its E; bars() took the G's."""
    text = "X:1\nM:2/4\nL:1/8\nK:C\n[EG/2] [E/2G] [E2G]/2 z|\n"
    [bar] = bars(tokenize_tune(text))
    assert bar.length == 1 + Fraction(1, 2) + 1 + 1  # eighths
    assert sum(length for _, length in m21_notes(text)) == bar.length / 2  # quarters


def _irish_tunes() -> list[str]:
    files = corpora.resolve_files(["folk:irish"])[0]
    return [t for f in files for t in split_tunes(f.read_text(encoding="latin-1"))]


def chord_spellings(tokens: list[str], seen: dict) -> None:
    """Adds to ``seen`` each chord of equal notes in the tune: its length in eighths -> the
    (note length, multiplier) tokens that spell it. Chords of unequal notes, or with ties
    inside, are spelled as written and left out."""
    for i, t in enumerate(tokens):
        if t != "[" or "]" not in tokens[i:]:
            continue
        close = tokens.index("]", i)
        inside = [x for x in tokens[i + 1:close] if x not in ACCIDENTALS]
        lengths = [inside[j + 1] if j + 1 < len(inside) and is_duration(inside[j + 1]) else ""
                   for j, x in enumerate(inside) if is_pitch(x)]
        if not lengths or len(set(lengths)) != 1 or \
                len(lengths) + sum(map(bool, lengths)) != len(inside):
            continue
        mult = tokens[close + 1] if close + 1 < len(tokens) and is_duration(tokens[close + 1]) \
            else ""
        whole = (parse_duration(lengths[0]) if lengths[0] else 1) * \
            (parse_duration(mult) if mult else 1)
        seen.setdefault(whole, set()).add((lengths[0], mult))


def _shape(tokens: list[str]) -> list[tuple]:
    """Each bar's length as a share of its meter and its notes; and every sounding pitch."""
    return [(b.length / b.target if b.target else b.length, b.notes) for b in bars(tokens)], \
        midi_pitches(tokens)


def test_the_irish_corpus_has_one_unit_after_normalising():
    """After transpose_to_c, hundreds of Irish tunes kept L:1/16, so one rhythm had two
    spellings. Normalised: every tune is in L:1/8, no tune is lost, and every bar is as long
    (against its meter) with the same notes and pitches; a sample is checked in music21."""
    tunes = _irish_tunes()
    before, after = AbcCodec(transpose_to_c=True, normalize_unit=False), \
        AbcCodec(transpose_to_c=True)
    units, kept, sixteenths, inline = Counter(), 0, [], 0
    spellings: dict = {}  # a chord rhythm -> how it is spelled (issue 34)
    for tune in tunes:
        try:
            old = before.tokenize(tune)
        except AbcError:
            continue
        new = after.tokenize(tune)  # no tune the old tokens had is refused
        chord_spellings(new, spellings)
        kept += 1
        units.update(t.strip("[]") for t in new if t.strip("[]").startswith("L:"))
        if "L:1/16" in old:
            sixteenths.append((tune, old, new))
        if any(t.startswith("[L:") for t in old):
            # bars() adds lengths of one bar in its current L: across an inline change only
            # music21 can compare
            assert m21_notes(after.detokenize(new)) == m21_notes(before.detokenize(old))
            inline += 1
        elif _shape(old) != _shape(new):
            # free meter (M:none) bars are measured in units of L: compare them in eighths
            scale = Fraction(next(t for t in old if t.startswith("L:"))[2:]) / Fraction(1, 8)
            assert [(x * scale, n) for x, n in _shape(old)[0]] == _shape(new)[0], tune[:80]
    assert kept > 2500 and units == {"L:1/8": kept} and inline > 0
    assert {k: v for k, v in spellings.items() if len(v) > 1} == {}  # one spelling per rhythm
    assert spellings[Fraction(2)] == {("", "2")}  # [ce]2: what the constraint can write
    assert len(sixteenths) > 500  # the spellings that used to differ
    for tune, old, new in sixteenths[::len(sixteenths) // 12][:12]:
        assert m21_notes(after.detokenize(new)) == m21_notes(before.detokenize(old)), tune[:80]


def test_old_runs_keep_their_unit_lengths():
    """A codec.json written before the option existed reads back with it off, one written
    with ``true`` (before version 2: the folk starter) reads back as version 1, so an old
    run's tokens stay what its model learned; new codecs have version 2 and say so."""
    old = codecs.from_json({"name": "abc", "options": {"transpose_to_c": False,
                                                       "augment_transpositions": 0,
                                                       "keep_titles": False},
                            "vocab": ["<pad>", "<s>", "</s>", "<unk>", "A", "L:1/16"]})
    assert old.options["normalize_unit"] == 0
    assert "L:1/16" in old.tokenize("X:1\nL:1/16\nK:C\nA|\n")
    new = AbcCodec()
    new.fit(["X:1\nK:C\nA|\n"])
    assert new.options["normalize_unit"] == 2
    assert new.to_json()["options"]["normalize_unit"] == 2
    assert "L:1/16" not in new.tokenize("X:1\nL:1/16\nK:C\nA|\n")
    tune = "X:1\nL:1/16\nK:C\n[c4e4]2 {g}A4|\n"
    assert new.tokenize(tune)[3:] == ["[", "c", "e", "]", "4", "{", "g", "/2", "}", "A", "2",
                                      "|"]
    # the folk starter, trained with normalize_unit=true: version 1, its tokens as they were
    folk = codecs.from_json(json.loads((starters.path("folk") / "codec.json").read_text()))
    assert folk.options["normalize_unit"] == 1
    assert folk.tokenize(tune)[3:] == ["[", "c", "4", "e", "4", "]", "{", "g", "}", "A", "2",
                                       "|"]


def test_warnings_about_the_bundled_corpus_are_short_and_plain(capsys, tmp_path,
                                                                 monkeypatch):
    """The collection and file, not the site-packages path; the symbol and its line, not
    the tokenizer's column."""
    f = next(x for x in corpora.folk_files(["oneills1850"]) if x.name == "0351-0400.abc")
    AbcCodec().read_items(f)
    err = capsys.readouterr().err.strip()
    assert err.startswith("warning: oneills1850/0351-0400.abc: skipped 1 of 50 tune(s)")
    assert "'Z' on line 15 is ABC these tokens do not cover" in err
    assert "site-packages" not in err and "column" not in err
    # a file of the user's: relative to the current folder
    mine = tmp_path / "songs" / "mine.abc"
    mine.parent.mkdir()
    mine.write_text("X:1\nK:G\nGABc|\n\nX:2\nK:G\nGAZ2Bc|\n")
    monkeypatch.chdir(tmp_path)
    AbcCodec().read_items(mine)
    assert capsys.readouterr().err.startswith("warning: songs/mine.abc: skipped 1 of 2")


def test_a_bundled_file_with_no_readable_tune_is_named_without_site_packages():
    """The demo printed 'skipped: /…/site-packages/music21/corpus/ryansMammoth/….abc'."""
    unreadable = None
    for f in corpora.folk_files(["ryansMammoth"]):
        if f.name == "BellsOfLewistonReel.abc":
            unreadable = f
    assert unreadable is not None
    with pytest.raises(AbcError) as e:
        AbcCodec().read_items(unreadable)
    assert str(e.value).startswith("ryansMammoth/BellsOfLewistonReel.abc: no readable tune")
    assert "site-packages" not in str(e.value)
