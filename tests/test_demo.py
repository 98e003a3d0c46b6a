"""`creative-rnn demo` says how far it got (steps, validation loss against its yardsticks, a
verdict, and what to run on a machine too slow for its minutes), writes only whole tunes
and points at the studio. The real train() on a small book with a tiny model stands in
for the 3-minute run; its result is replaced where a test needs a given outcome."""

from __future__ import annotations

import dataclasses

import pytest

from creative_rnn import demo as demo_module
from creative_rnn.codecs.abc.bars import bars
from creative_rnn.codecs.abc.codec import split_tunes
from creative_rnn.codecs.abc.tokens import tokenize_tune

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models


def score_notes(abc: str) -> int:
    from music21 import converter

    return len(converter.parse(abc, format="abc").flatten().notes)


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """The demo's train() on one book of O'Neill's tunes, a tiny model, 2 steps; set
    ``outcome["replace"]`` to change the result it returns."""
    from creative_rnn.corpora import folk_files

    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))
    book = tmp_path / "book.abc"
    book.write_text(folk_files(["oneills1850"])[0].read_text(encoding="latin-1"))
    real_train = demo_module.train
    outcome = {}

    def train(**kw):
        kw.update(corpus=str(book), hidden_size=16, embedding_size=8, num_layers=1,
                  max_minutes=0.0, max_steps=2, eval_every=2)
        return outcome.get("replace", lambda r: r)(real_train(**kw))

    monkeypatch.setattr(demo_module, "train", train)
    return outcome


def test_a_busy_machine_is_told_how_far_it_got_and_what_to_run(tmp_path, capsys, stand_in):
    """Issue 29: 126 steps in 3 minutes, validation 2.909, below the baseline (so no
    warning), and ten tunes without a word. Now: the steps against a quiet machine's, the
    loss against its yardsticks, the verdict, and the command that gives it more time."""
    stand_in["replace"] = lambda r: dataclasses.replace(
        r, step=126, elapsed_s=180.0, best_val_loss=2.909, unigram_loss=3.4, learned=True,
        warning=None)
    out = tmp_path / "demo"
    demo_module.demo(out=out, minutes=3.0, num=2, progress_bar=False)
    said = capsys.readouterr()
    text = said.out + said.err
    assert "trained 126 steps in 3.0 minutes (a quiet machine makes about 390 in 3)" in text
    assert "validation loss 2.909 nats/token" in text and "gives 3.400" in text
    assert f"about {demo_module.QUIET_LOSS} in 3 minutes on a quiet machine" in text
    assert "verdict: it learned only a little" in text
    assert "this machine was too slow for 3 minute(s): 126 steps" in said.err
    assert f"creative-rnn train --resume {out / 'run'} --max-minutes 10" in said.err
    assert f"creative-rnn demo --out {out}" in said.err
    # the other commands: sampling more writes inside the demo's folder; the studio
    assert f"--out {out / 'tunes' / 'more.abc'}" in said.out
    assert f"creative-rnn serve {out / 'run'}" in said.out


def test_a_run_that_did_well_gets_a_plain_verdict_and_no_advice(tmp_path, capsys, stand_in):
    stand_in["replace"] = lambda r: dataclasses.replace(
        r, step=420, elapsed_s=180.0, best_val_loss=1.93, unigram_loss=3.4, learned=True,
        warning=None)
    demo_module.demo(out=tmp_path / "demo", minutes=3.0, num=2, progress_bar=False)
    said = capsys.readouterr()
    assert "trained 420 steps" in said.out and "validation loss 1.930" in said.out
    assert "verdict: it learned: the tunes should have the shape of folk tunes" in said.out
    assert "too slow" not in said.err and "--resume" not in said.err


def test_a_model_that_did_not_learn_says_so_and_its_tunes_are_whole(tmp_path, capsys,
                                                                    stand_in):
    out = tmp_path / "demo"
    made = demo_module.demo(out=out, minutes=0.1, num=3, progress_bar=False)
    said = capsys.readouterr()
    assert "trained 2 steps" in said.out and "verdict: it did not learn" in said.out
    assert "warning: the model did not learn" in said.err and "--resume" in said.err
    # whole tunes only: what is written ended on a complete bar, the rest is counted
    written = split_tunes((out / "tunes.abc").read_text()) if "tunes" in made else []
    left = 3 - len(written)
    assert (f"{left} of 3 samples did not end" in said.out) == (left > 0)
    assert written or "no tune written" in said.err
    for tune in written:  # music21 reads it; every bar as long as its meter
        assert score_notes(tune), tune
        found = bars(tokenize_tune(tune))
        assert found and all(b.length == b.target for b in found), tune
    # a second call reuses the run and still says how far it got
    demo_module.demo(out=out, minutes=0.1, num=1, progress_bar=False)
    again = capsys.readouterr().out
    assert "already trained" in again and "it trained 2 steps" in again
    assert "validation loss" in again and "verdict:" in again
