"""The verdict on a run (training/verdict.py): the unigram baseline, and a warning from
train, the CLI and the demo when the best validation loss is not clearly below it."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

import creative_rnn as cr
from creative_rnn.cli import main
from creative_rnn.training import verdict
from creative_rnn.training.loop import RunResult

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models

TINY = dict(preset="tiny", progress_bar=False)


def test_unigram_loss_is_the_entropy_of_the_targets(monkeypatch):
    assert verdict.unigram_loss([np.array([5, 5, 7, 7])]) == pytest.approx(math.log(2))
    # pieces add up, negative ids are no targets, a table maps ids to classes
    assert verdict.unigram_loss([np.array([5, -100]), np.array([7])]) == pytest.approx(
        math.log(2))
    table = np.array([-100, 0, 0, 1])  # ids 1 and 2 stand for class 0, id 3 for class 1
    assert verdict.unigram_loss([np.array([1, 2, 3, 3])], table) == pytest.approx(math.log(2))
    assert verdict.unigram_loss([np.array([0, 0])], table) is None  # no target at all
    assert verdict.unigram_loss([]) is None
    monkeypatch.setattr(verdict, "MAX_COUNTED", 1000)  # a big corpus is sampled evenly
    big = np.tile(np.arange(4), 100_000)
    assert verdict.unigram_loss([big]) == pytest.approx(math.log(4), abs=1e-3)


def test_learned_means_clearly_below_the_baseline():
    assert verdict.learned(2.0, 3.0) is True
    assert verdict.learned(2.95, 3.0) is False  # 1.7% below: not clearly
    assert verdict.learned(3.5, 3.0) is False
    assert verdict.learned(None, 3.0) is None and verdict.learned(2.0, None) is None


def test_a_run_that_learns_gets_no_warning(tmp_path, startrek):
    result = cr.train(corpus=[str(startrek)], out=tmp_path / "r", max_steps=120,
                      eval_every=120, **TINY)
    counts = Counter(startrek.read_text())  # the stream's targets are its characters
    n = sum(counts.values())
    entropy = -sum(c / n * math.log(c / n) for c in counts.values())
    assert result.unigram_loss == pytest.approx(entropy, abs=0.02)  # the train split's
    assert result.learned is True and result.warning is None
    assert result.best_val_loss < verdict.LEARNED_SHARE * result.unigram_loss


def test_a_run_stopped_after_two_steps_is_told_it_did_not_learn(tmp_path, startrek):
    result = cr.train(corpus=[str(startrek)], out=tmp_path / "r", max_steps=2, **TINY)
    assert result.learned is False and result.best_val_loss > result.unigram_loss
    lines = result.warning.splitlines()
    assert len(lines) == 2
    assert "did not learn" in lines[0] and "after 2 step(s)" in lines[0]
    assert f"{result.unigram_loss:.3f}" in lines[0]
    assert "--max-minutes" in lines[1] and "--preset" in lines[1] and "corpus" in lines[1]


def test_documents_and_ensemble_targets_give_a_baseline(tmp_path, startrek):
    """Documents: the targets leave out each document's <s>; ensembles: the classes the
    next input stands for (target_table)."""
    docs = cr.train(corpus=[str(startrek)], out=tmp_path / "d", documents=True, max_steps=2,
                    **TINY)
    assert docs.unigram_loss is not None and docs.learned is False
    perf = tmp_path / "duo.csv"
    perf.write_text("".join(f"{i % 3},{(i // 2) % 3}\n" for i in range(400)))
    codec = cr.codecs.get("ensemble", performers=2, classes=3)
    duo = cr.train(corpus=[str(perf)], out=tmp_path / "e", codec=codec, max_steps=2, **TINY)
    assert 0 < duo.unigram_loss <= math.log(3) + 1e-9  # entropy of 3 output classes at most


def test_the_cli_warns_after_a_run_that_did_not_learn(capsys, tmp_path, startrek):
    assert main(["train", str(startrek), "--out", str(tmp_path / "r"), "--preset", "tiny",
                 "--max-steps", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: the model did not learn" in err
    assert main(["train", str(startrek), "--out", str(tmp_path / "ok"), "--preset", "tiny",
                 "--max-steps", "120", "--set", "eval_every=120", "--quiet"]) == 0
    assert "did not learn" not in capsys.readouterr().err


def test_a_run_that_memorised_a_small_corpus_is_told_so_not_to_train_longer(tmp_path,
                                                                             shakespeare):
    """A 1 KB text and a model of 128 units: the training loss falls far while the
    validation loss climbs from its best. The warning says it memorised, and advises a
    smaller model or more text, not more training."""
    poem = tmp_path / "poem.txt"
    poem.write_text(shakespeare.read_text()[:1000])
    result = cr.train(corpus=[str(poem)], out=tmp_path / "r", preset="tiny", hidden_size=128,
                      max_steps=300, eval_every=25, seq_len=32, batch_size=8,
                      progress_bar=False)
    assert result.train_loss < verdict.MEMORISED_SHARE * result.best_val_loss
    assert result.val_loss > verdict.RISEN_SHARE * result.best_val_loss
    assert verdict.memorised(result)
    what, advice = result.warning.splitlines()
    assert "memorised" in what and f"{result.train_loss:.3f}" in what
    assert f"{result.val_loss:.3f}" in what and "tokens" in what
    assert "will not help" in advice and "--preset tiny" in advice
    assert "--set hidden_size=32" in advice and "more text" in advice
    assert "--max-minutes" not in advice and "--resume" not in advice


def test_memorised_needs_both_signs():
    def run(train, best, last):
        return RunResult(".", 10, train, last, best, "max_steps")

    assert verdict.memorised(run(0.01, 2.5, 5.0))
    assert not verdict.memorised(run(0.01, 2.5, 2.5))  # validation still at its best
    assert not verdict.memorised(run(2.0, 2.5, 5.0))  # training not far below
    assert not verdict.memorised(run(None, 2.5, 5.0))
