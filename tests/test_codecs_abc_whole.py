"""Whole tunes with complete bars (sampling/generator.py WHOLE_DRAWS, codecs/abc/complete.py):
a tune is returned or written only if it ended at its own end token, on a complete bar;
one cut off at its length is left out and counted. Checked in music21."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

import creative_rnn as cr
from creative_rnn import corpora
from creative_rnn.cli import main
from creative_rnn.codecs.abc.bars import bars
from creative_rnn.codecs.abc.codec import split_tunes
from creative_rnn.codecs.abc.tokens import tokenize_tune
from creative_rnn.sampling import generator

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def abc_run(tmp_path_factory) -> Path:
    """A tiny model trained briefly on 120 of O'Neill's tunes."""
    files = corpora.folk_files(["oneills1850"])[:3]
    tunes = [t for f in files for t in split_tunes(f.read_text(encoding="latin-1"))][:120]
    base = tmp_path_factory.mktemp("whole")
    book = base / "book.abc"
    book.write_text("\n\n".join(tunes) + "\n")
    out = base / "run"
    cr.train(corpus=[str(book)], out=out, codec="abc", preset="tiny", max_steps=150,
             batch_size=16, eval_every=150, checkpoint_every=150, progress_bar=False)
    return out


def short_bars(abc: str) -> tuple[int, list]:
    """The bars music21 reads in a tune, and those whose length is not the meter's. music21
    makes no measures of some very short tunes that open with a repeat sign (two bars after
    "|:"); then the tune must last a whole number of bars, and our own bar arithmetic
    (bars.py) gives the bars."""
    from music21 import converter, meter, stream

    score = converter.parse(abc, format="abc")
    measures = list(score.recurse().getElementsByClass(stream.Measure))
    if not measures:
        bar = Fraction(score.recurse().getElementsByClass(meter.TimeSignature)[0]
                       .barDuration.quarterLength)
        total = Fraction(score.flatten().notesAndRests.stream().highestTime)
        found = bars(tokenize_tune(abc))
        return len(found), [b for b in found if b.length != b.target] + \
            ([("total", total)] if total % bar else [])
    return len(measures), [(m.number, m.duration.quarterLength) for m in measures
                           if Fraction(m.duration.quarterLength)
                           != Fraction(m.barDuration.quarterLength)]


def test_every_tune_ends_at_its_end_token_on_a_complete_bar(abc_run):
    # the check itself sees a last bar cut short, in music21's measures and in ours
    cut = "X:1\nM:3/4\nL:1/8\nK:C\n|A2GA2B|c2^G2c2|A2GA2B|c2\n"
    assert short_bars(cut)[1] and short_bars("X:1\nM:3/4\nL:1/8\nK:C\n|:A2GA2B|c2\n")[1]
    gen = cr.load(abc_run)
    eos = gen.codec.vocab.eos
    assert gen.whole_items({"complete_bars": True}) and not gen.whole_items({})
    # 60 tokens: many tunes are longer, so some samples are cut off before their end
    ids, left = gen.sample_ids(length=60, num=8, seed=4, temperature=1.0,
                               constraints={"complete_bars": True})
    assert left, "expected some samples cut off at 60 tokens"
    assert all(s[-1] == eos for s in ids) and not any(s[-1] == eos for s in left)
    tunes = gen.generate(length=400, num=8, seed=4, temperature=1.0,
                         constraints={"complete_bars": True})
    assert len(tunes) + len(tunes.unfinished) == 8 and len(tunes) >= 4
    for tune in tunes:
        measures, short = short_bars(tune)
        assert measures and not short, tune
    # without complete bars nothing is held back (a tune may stop where it likes)
    free = gen.generate(length=60, num=4, seed=4)
    assert len(free) == 4 and free.unfinished == []


def test_sample_writes_only_whole_tunes_and_counts_the_rest(abc_run, tmp_path, capsys):
    out = tmp_path / "s.abc"
    assert main(["sample", str(abc_run), "--complete-bars", "--num", "6", "--seed", "2",
                 "--length", "60", "--temperature", "1.0", "--out", str(out),
                 "--format", "mid"]) == 0
    said = capsys.readouterr().out
    written = sorted(tmp_path.glob("s-*.abc"))
    left = 6 - len(written)
    assert left > 0 and f"{left} of 6 sample(s) did not reach their end token" in said
    assert f"in {generator.WHOLE_DRAWS} draws" in said
    for p in written:
        measures, short = short_bars(p.read_text())
        assert measures and not short, p.read_text()
    # one streamed sample that is cut off says so
    assert main(["sample", str(abc_run), "--complete-bars", "--seed", "1",
                 "--length", "5"]) == 0
    assert "unfinished: no end token within --length 5" in capsys.readouterr().err
