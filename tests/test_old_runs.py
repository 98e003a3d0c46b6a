"""Run directories written before the package re-layout (tests/fixtures/old_runs, made by
commit 3be314a) still load, answer, evaluate and, where they were resumable, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import creative_rnn as cr
from creative_rnn import rundir
from creative_rnn.errors import CheckpointError
from creative_rnn.live import load_stepper
from creative_rnn.report import evaluate

OLD = Path(__file__).parent / "fixtures" / "old_runs"
KINDS = json.loads((OLD / "kinds.json").read_text())


@pytest.fixture
def old_run(request, tmp_path, monkeypatch):
    """A copy of one kind's folder (corpus and run), entered: its config names the corpus
    by a relative path, as a user who trained there would have."""
    kind = request.param
    shutil.copytree(OLD / kind, tmp_path / kind)
    monkeypatch.chdir(tmp_path / kind)
    return kind, Path("run")


@pytest.mark.parametrize("old_run", sorted(KINDS), indirect=True)
def test_an_old_run_answers(old_run):
    kind, run = old_run
    info = KINDS[kind]
    if info["task"] == "classify":
        assert cr.Classifier(run).predict(info["input"]) in rundir.read_config(run)["labels"]
    elif info["task"] == "seq2seq":
        (answer,) = cr.Responder(run).respond(info["input"], greedy=True, length=10)
        assert isinstance(answer, str) and len(answer) <= 10
    elif kind == "ensemble":
        stepper = load_stepper(run, seed=1)
        answer = stepper.step([info["input"]])
        assert len(answer) == 1 and 0 <= int(answer[0]) < 9  # one value for the follower
    else:
        gen = cr.load(run, device="cpu")
        (item,) = gen.generate(info["sample_prime"], length=12, num=1, seed=1)
        assert gen.codec.encode(item, unknown="skip")  # an item the codec reads back
        assert gen.codec.name == info["codec"]


@pytest.mark.parametrize("old_run", sorted(KINDS), indirect=True)
def test_an_old_run_evaluates_to_its_logged_loss(old_run):
    """The one evaluator gives the validation loss the old training log printed for the
    same (best) weights."""
    kind, run = old_run
    logged = min(r["val_loss"] for r in rundir.read_metrics(run) if "val_loss" in r)
    assert evaluate(run, num=2)["val_loss"] == pytest.approx(logged, abs=2e-5)


@pytest.mark.parametrize("old_run", sorted(KINDS), indirect=True)
def test_an_old_run_resumes_where_it_could(old_run):
    kind, run = old_run
    step = rundir.read_metrics(run)[-1]["step"]
    if not KINDS[kind]["resumable"]:
        with pytest.raises(CheckpointError, match="before resumable tasks"):
            cr.train(resume=run, max_steps=step + 3, progress_bar=False)
        return
    result = cr.train(resume=run, max_steps=step + 3, progress_bar=False)
    assert result.step == step + 3
    assert [r["step"] for r in rundir.read_metrics(run)][-1] == step + 3
