"""One trainer for every task: classify and seq2seq runs resume bit-identically after a
SIGKILL, honour the training keys a language model honours, and train under torchrun."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from support import ROOT, cli_killed_at_checkpoint

import creative_rnn as cr
from creative_rnn import rundir
from creative_rnn.core.tensors import load_tensors
from creative_rnn.report import evaluate

ALPHABET = "abcd"
# fp32 and no dropout keep the runs exact; warm-up past the run keeps the rate moving
ARGS = ["--preset", "tiny", "--device", "cpu", "--quiet", "--set", "hidden_size=16",
        "--set", "embedding_size=8", "--set", "batch_size=8", "--set", "eval_every=5",
        "--set", "checkpoint_every=5", "--set", "log_every=5", "--set", "dropout=0.1"]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """A classify corpus (the most frequent letter) and a seq2seq one (the reversed call)."""
    rng, folder = random.Random(0), tmp_path_factory.mktemp("task-corpora")
    words = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(3, 7))) for _ in range(160)]
    label = folder / "label.jsonl"
    label.write_text("".join(json.dumps({"input": w, "label": max(ALPHABET, key=w.count)})
                             + "\n" for w in words))
    pairs = folder / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"call": w, "response": w[::-1]}) + "\n"
                             for w in words))
    return {"classify": label, "seq2seq": pairs}


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "creative_rnn", *args], capture_output=True,
                          text=True, env=env)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_tensors(run / rundir.WEIGHTS)[0]


@pytest.mark.parametrize("task", ["classify", "seq2seq"])
def test_a_killed_task_run_resumes_bit_identically(tmp_path, corpora, task):
    """SIGKILL during the step-10 checkpoint, then --resume: the parameters and the logged
    losses equal those of a run that was never interrupted."""
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    common = [str(corpora[task]), "--task", task, "--max-steps", "20", *ARGS]
    r = _cli("train", *common, "--out", str(ref))
    assert r.returncode == 0, r.stderr
    r = cli_killed_at_checkpoint(2, "train", *common, "--out", str(killed))
    assert r.returncode == -9, r.stderr
    assert load_tensors(killed / rundir.RESUME)[1]["step"] == 10
    r = _cli("train", "--resume", str(killed), "--quiet")
    assert r.returncode == 0, r.stderr
    a, b = _weights(ref), _weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert rundir.read_metrics(ref) == [
        {**row, "elapsed_s": ref_row["elapsed_s"]}
        for row, ref_row in zip(rundir.read_metrics(killed), rundir.read_metrics(ref))]


@pytest.mark.parametrize("task", ["classify", "seq2seq"])
def test_task_runs_honour_the_training_keys(tmp_path, corpora, task):
    common = dict(corpus=[str(corpora[task])], task=task, preset="tiny", hidden_size=16,
                  embedding_size=8, batch_size=8, device="cpu", progress_bar=False)
    # early stopping: a learning rate this high makes validation worse, and patience ends it
    r = cr.train(out=tmp_path / "patience", lr=3.0, warmup_steps=0, eval_every=1,
                 patience=2, max_steps=200, **common)
    assert r.stopped == "early_stopping" and r.step < 200
    # weight averaging: the averages are kept for the resume; best/ is judged on them
    r = cr.train(out=tmp_path / "ema", ema=0.9, max_steps=10, eval_every=5, **common)
    tensors, _ = load_tensors(tmp_path / "ema" / rundir.RESUME)
    assert any(k.startswith("average.") for k in tensors)
    # bf16 autocast trains; a stop event ends the run at once, saved and resumable
    stop = threading.Event()
    stop.set()
    r = cr.train(out=tmp_path / "stop", precision="bf16", max_steps=10, stop=stop, **common)
    assert r.stopped == "interrupted" and rundir.can_resume(tmp_path / "stop")
    r = cr.train(resume=tmp_path / "stop", max_steps=4, progress_bar=False)
    assert r.step == 4 and r.val_loss is not None
    # a time budget
    r = cr.train(out=tmp_path / "minutes", max_minutes=1e-4, **common)
    assert r.stopped == "max_minutes"
    # a key no task knows is refused, not ignored
    with pytest.raises(cr.ConfigError, match="unknown config key"):
        cr.train(out=tmp_path / "typo", patients=3, **common)


@pytest.mark.parametrize("task", ["classify", "seq2seq"])
def test_evaluate_prints_the_logged_number(tmp_path, corpora, task):
    """The one evaluator: `evaluate` on the best weights gives the best logged loss."""
    r = cr.train([str(corpora[task])], tmp_path / "run", task=task, preset="tiny",
                 hidden_size=16, embedding_size=8, batch_size=8, max_steps=20, eval_every=5,
                 precision="bf16", device="cpu", progress_bar=False)
    logged = [row for row in rundir.read_metrics(r.path) if "val_loss" in row]
    best = min(logged, key=lambda row: row["val_loss"])
    row = evaluate(r.path)
    assert round(row["val_loss"], 5) == best["val_loss"]
    assert round(row["val_accuracy"], 5) == best["val_accuracy"]
    assert row["val_loss"] < logged[0]["val_loss"] or best is logged[0]


def test_classify_trains_under_torchrun(tmp_path, corpora):
    """Two processes (gloo) train a classify run and it resumes in one process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(k, None)
    out = tmp_path / "ddp"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", "-m", "creative_rnn", "train",
                           str(corpora["classify"]), "--task", "classify", "--out", str(out),
                           "--max-steps", "10", *ARGS], env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert rundir.read_metrics(out)[-1]["step"] == 10
    assert (out / rundir.PLOT).is_file()  # rank 0 ran the end-of-run hooks (the loss plot)
    assert cr.train(resume=out, max_steps=15, progress_bar=False).step == 15
