"""--max-copy N: with the constraint the meter never finds a longer copy (eager step and the
compiled engine stepping the network), and evaluate reports it beside free samples."""

from __future__ import annotations

import pytest
import torch

import creative_rnn as cr
from creative_rnn.cli import main
from creative_rnn.core.logits import forbid_by_history
from creative_rnn.errors import SamplingError
from creative_rnn.library import Library
from creative_rnn.novelty import novelty
from creative_rnn.report import evaluate

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("engine", ["torch", "fast"])
@pytest.mark.parametrize("n", [2, 3])
def test_max_copy_is_never_exceeded(tiny_text_run, engine, n):
    gen = cr.load(tiny_text_run, engine=engine)
    samples = gen.generate(length=150, num=3, seed=5, temperature=1.5, max_copy=n)
    for s in samples:
        # the prime (a line break) is part of what the constraint saw
        assert novelty(gen, "\n" + s).longest <= n
    free = gen.generate(length=150, num=3, seed=5, temperature=1.5)
    assert max(novelty(gen, "\n" + s).longest for s in free) > n  # it had work to do


@pytest.fixture(scope="module")
def docs_run(tmp_path_factory, startrek):
    """Star Trek titles in documents mode, a few steps: the constraint needs a run, not a
    good one."""
    out = tmp_path_factory.mktemp("runs") / "docs"
    cr.train(corpus=[str(startrek)], out=out, preset="tiny", hidden_size=16, documents=True,
             max_steps=4, batch_size=16, eval_every=4, checkpoint_every=4, progress_bar=False)
    return out


def test_max_copy_in_documents_mode(docs_run):
    gen = cr.load(docs_run)
    for s in gen.generate(length=60, num=4, seed=2, max_copy=3):
        assert novelty(gen, s).longest <= 3


def test_max_copy_is_checked(tiny_text_run):
    gen = cr.load(tiny_text_run)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(SamplingError, match="max_copy"):
            gen.generate(length=5, max_copy=bad)


def test_forbid_by_history_bans_per_row_and_never_leaves_nothing():
    logits = torch.zeros(2, 5)
    banned = forbid_by_history(lambda h: [h[-1]] if h[-1] < 5 else list(range(5)), "no token")
    out = banned(logits, [[0, 3], [1]])
    assert torch.isinf(out[0, 3]) and torch.isinf(out[1, 1]) and torch.isfinite(out).sum() == 8
    with pytest.raises(SamplingError, match="no token"):
        banned(logits, [[0], [9]])


def test_evaluate_rows(tiny_text_run):
    row = evaluate(tiny_text_run, num=3, max_copy=3, length=120)
    rows = row["novelty"]
    assert list(rows) == ["sampled", "max_copy=3", "validation"]
    assert rows["max_copy=3"]["longest_copy_max"] <= 3
    for figures in rows.values():
        assert figures["model_loss"] > 0 and 0 <= figures["ngram_share_10"] <= 1
    assert row["music"] == {}  # text


def test_cli_sample_novelty_and_max_copy(tiny_text_run, capsys, tmp_path, monkeypatch):
    assert main(["sample", str(tiny_text_run), "--length", "60", "--seed", "1", "--novelty",
                 "--max-copy", "4"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("novelty: ")
    monkeypatch.setenv("CREATIVE_RNN_LIBRARY", str(tmp_path / "lib.sqlite"))
    assert main(["sample", str(tiny_text_run), "--length", "40", "--num", "2", "--novelty"]) == 0
    printed = [x for x in capsys.readouterr().out.splitlines() if x.startswith("novelty: ")]
    assert len(printed) == 2
    with Library(tmp_path / "lib.sqlite") as lib:  # the meter's reading, as printed, kept
        kept = [lib.get(p["id"])["novelty"] for p in sorted(lib.list(), key=lambda p: p["id"])]
    for line, meter in zip(printed, kept, strict=True):
        assert f"% of {meter['ngram']}-grams" in line and f"({meter['tokens']} tokens)" in line
        assert f"{100 * meter['ngram_share']:.1f}%" in line
    assert main(["sample", str(tiny_text_run), "--max-copy", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: max_copy") and "\n" not in err
