"""`creative-rnn demo` (issue 31): tunes from the shipped folk starter before any training,
then a fine-tune of it on jigs that records its parent, tunes from the fine-tuned model, and
the share of tunes in 6/8 before and after as counted from the files it wrote; how far the
fine-tune got is said honestly (steps, loss against the starter's, what to run when slow).

The real train() fine-tunes the real starter, for 1 step, on the 20 jigs of one book of
O'Neill's (instead of all 660); a result is replaced where a test needs a given outcome."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re

import pytest

from creative_rnn import demo as demo_module
from creative_rnn import rundir
from creative_rnn.codecs.abc.bars import bars
from creative_rnn.codecs.abc.codec import AbcCodec, split_tunes
from creative_rnn.codecs.abc.tokens import tokenize_tune
from creative_rnn.corpora import folk_files

pytestmark = pytest.mark.usefixtures("one_thread")

JIG_BOOK = "0701-0720.abc"  # O'Neill's 701-720: twenty tunes, every one in 6/8


def six_eight(text: str) -> tuple[int, int]:
    """(tunes whose header says M:6/8, tunes) of an ABC book, read here, not by the demo."""
    tunes = split_tunes(text)
    return sum(bool(re.search(r"^M:\s*6/8\s*$", t, re.MULTILINE)) for t in tunes), len(tunes)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, one_thread):
    """The demo once, with two tunes a set; what it printed; the before/ book as it was when
    training began."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    real_train = demo_module.train
    seen = {}

    def train(**kw):
        book = out / "before" / "tunes.abc"
        seen["before"] = book.read_text() if book.exists() else None
        seen["kw"] = dict(kw)
        return real_train(**{**kw, "max_steps": 1, "eval_every": 1})

    said, err = io.StringIO(), io.StringIO()
    formats = AbcCodec.default_formats
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo_module, "train", train)
        # no audio: FluidSynth's rendering is tested with the codecs and costs seconds a tune
        mp.setattr(AbcCodec, "default_formats",
                   lambda self: [f for f in formats(self) if f != "wav"])
        mp.setattr(demo_module, "folk_files",
                   lambda names: [f for f in folk_files(names) if f.name == JIG_BOOK])
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(err):
            made = demo_module.demo(out=out, minutes=1.0, num=2, progress_bar=False)
    return {"out": out, "made": made, "said": said.getvalue(), "err": err.getvalue(),
            "seen": seen}


def test_tunes_are_written_from_the_starter_before_any_training(demo_run):
    said = demo_run["said"]
    assert said.index("writing 2 tunes from the folk starter") < said.index("fine-tuning the "
                                                                             "folk starter")
    before = demo_run["seen"]["before"]
    assert before is not None, "no tune was written before training began"
    tunes = split_tunes(before)
    assert tunes
    for tune in tunes:  # whole tunes: every bar as long as its meter
        found = bars(tokenize_tune(tune))
        assert found and all(b.length == b.target for b in found), tune
    files = sorted(p.suffix for p in (demo_run["out"] / "before" / "tunes").iterdir())
    assert ".abc" in files and ".mid" in files and ".png" in files


def test_the_fine_tuned_run_records_the_folk_parent_and_trained_on_jigs(demo_run):
    run = demo_run["made"]["run"]
    parent = rundir.read_config(run)["parent"]
    assert parent["name"] == "folk"
    assert demo_run["seen"]["kw"]["init_from"] == "folk"
    jigs = (demo_run["out"] / "jigs.abc").read_text()
    assert six_eight(jigs)[0] == six_eight(jigs)[1] == 20  # only jigs, all of the book's
    assert (run / rundir.WEIGHTS).exists() and (demo_run["out"] / "after" / "tunes.abc").exists()


def test_the_printed_shares_of_6_8_are_counted_from_the_written_files(demo_run):
    out = demo_run["out"]
    found = re.search(r"tunes in 6/8: (\d+) of (\d+) .*before \(the starter\), (\d+) of (\d+) "
                      r".*after \(fine-tuned on jigs\)", demo_run["said"])
    assert found, demo_run["said"]
    printed = [int(g) for g in found.groups()]
    counted = [*six_eight((out / "before" / "tunes.abc").read_text()),
               *six_eight((out / "after" / "tunes.abc").read_text())]
    assert printed == counted
    assert counted[1] >= 1 and counted[3] >= 1  # each set has tunes to count


def _report(demo_run, capsys, **changes):
    result = dataclasses.replace(_result(demo_run), **changes)
    demo_module._report(result, 3.0, demo_run["made"]["run"], demo_run["out"])
    said = capsys.readouterr()
    return said.out, said.err


def _result(demo_run):
    from creative_rnn.training.loop import RunResult

    return RunResult(demo_run["made"]["run"], step=2, train_loss=1.5, val_loss=1.5,
                     best_val_loss=1.5, stopped="max_steps", unigram_loss=3.1, learned=True,
                     elapsed_s=60.0)


def test_a_busy_machine_is_told_how_far_the_fine_tune_got_and_what_to_run(demo_run, capsys):
    out, err = _report(demo_run, capsys, step=20, elapsed_s=180.0, stopped="max_minutes")
    assert "fine-tuned 20 steps" in out  # (of the stand-in's 2 planned)
    quiet = round(demo_module.QUIET_STEPS_PER_MINUTE * 3)
    assert f"in 3.0 minutes (the time ran out; a quiet machine makes about {quiet} steps in 3)" \
        in out
    start = float(re.search(r"held-out jigs: ([\d.]+) nats/token from the starter alone",
                            out).group(1))
    assert start > 0
    assert "this machine was too slow for 3 minute(s): 20 steps" in err
    run, folder = demo_run["made"]["run"], demo_run["out"]
    assert f"creative-rnn train --resume {run} --max-minutes 10" in err
    assert f"creative-rnn demo --out {folder}" in err


def test_the_verdict_compares_the_fine_tune_with_the_starter_on_held_out_jigs(demo_run,
                                                                               capsys):
    out, _ = _report(demo_run, capsys)
    start = float(re.search(r"held-out jigs: ([\d.]+) nats/token from the starter alone",
                            out).group(1))
    better, err = _report(demo_run, capsys, best_val_loss=start - 0.2, stopped="early_stopping")
    assert f"{start - 0.2:.3f} after fine-tuning" in better
    assert "verdict: it learned the style" in better
    assert "stopped early" in better and "too slow" not in err and "--resume" not in err
    same, _ = _report(demo_run, capsys, best_val_loss=start)
    assert "verdict: it has barely moved from the starter" in same


def test_a_fine_tune_that_did_not_learn_is_warned_and_one_that_learned_is_not(demo_run,
                                                                              capsys):
    _, err = _report(demo_run, capsys, learned=False,
                     warning="the model did not learn: its loss is the baseline's\ntrain it")
    assert "warning: the model did not learn" in err and "train it" not in err
    _, err = _report(demo_run, capsys)
    assert "warning" not in err


def test_a_second_call_reuses_the_fine_tuned_run(demo_run, capsys, monkeypatch):
    def no_training(**kw):
        raise AssertionError("the second call trained again")

    monkeypatch.setattr(demo_module, "train", no_training)
    formats = AbcCodec.default_formats
    monkeypatch.setattr(AbcCodec, "default_formats",
                        lambda self: [f for f in formats(self) if f != "wav"])
    demo_module.demo(out=demo_run["out"], minutes=1.0, num=1, progress_bar=False)
    again = capsys.readouterr().out
    assert "already fine-tuned" in again and "it fine-tuned 1 step;" in again
    assert "tunes in 6/8:" in again
