"""Training: it learns, it is reproducible, and a killed run resumes bit-identically."""

import json
import math
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from support import cli_killed_at_checkpoint

import creative_rnn as cr
from creative_rnn.core import tensors as ckpt
from creative_rnn.errors import (
    CheckpointError,
    ConfigError,
    CorpusError,
    TrainingDiverged,
    UserError,
)
from creative_rnn.training.loop import Trainer

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(preset="tiny", hidden_size=32, num_layers=2, dropout=0.1, batch_size=8, seq_len=32,
             eval_every=10, checkpoint_every=10, log_every=5, progress_bar=False)


def unigram_entropy(text: str) -> float:
    counts = Counter(text)
    n = sum(counts.values())
    return -sum(c / n * math.log(c / n) for c in counts.values())


def weights(run: Path, name: str = "model.safetensors") -> dict:
    return ckpt.load_tensors(run / name)[0]


def losses(run: Path) -> list:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r.get("train_loss"), r.get("val_loss"), r["tokens"]) for r in rows]


def test_learns_star_trek_titles_below_unigram_entropy(tmp_path, startrek):
    result = cr.train(corpus=[str(startrek)], out=tmp_path / "run", preset="tiny",
                      max_steps=300, eval_every=100, progress_bar=False)
    baseline = unigram_entropy(startrek.read_text())
    assert result.best_val_loss < baseline - 0.4, (result.best_val_loss, baseline)
    run = tmp_path / "run"
    for name in ("config.json", "codec.json", "model.safetensors", "optimizer.safetensors",
                 "state.json", "metrics.jsonl", "loss.png", "best/model.safetensors"):
        assert (run / name).is_file(), name
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"step", "elapsed_s", "tokens", "train_loss"} <= set(rows[0])
    assert any("val_loss" in r for r in rows)
    assert json.loads((run / "state.json").read_text())["step"] == 300


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_each_cell_trains_and_samples(tmp_path, startrek, cell):
    cr.train(corpus=[str(startrek)], out=tmp_path / cell, cell=cell, **{**SMALL,
             "max_steps": 20})
    first = weights(tmp_path / cell)
    assert all(torch.isfinite(v).all() for v in first.values())
    text = cr.load(tmp_path / cell).generate(prime="Star", length=20, seed=0)[0]
    assert text.startswith("Star") and len(text) == 24


def test_same_seed_same_run(tmp_path, startrek):
    for name in ("a", "b"):
        cr.train(corpus=[str(startrek)], out=tmp_path / name, max_steps=20, seed=7, **SMALL)
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)
    cr.train(corpus=[str(startrek)], out=tmp_path / "c", max_steps=20, seed=8, **SMALL)
    c = weights(tmp_path / "c")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "creative_rnn", *args], capture_output=True,
                          text=True, **kw)


TRAIN_ARGS = ["--preset", "tiny", "--set", "hidden_size=32", "--set", "num_layers=2",
              "--set", "dropout=0.1", "--set", "batch_size=8", "--set", "seq_len=32",
              "--set", "eval_every=10", "--set", "checkpoint_every=10", "--set", "log_every=5",
              "--quiet"]


@pytest.mark.parametrize("documents", [False, True])
def test_killed_mid_checkpoint_then_resumed_is_bit_identical(tmp_path, startrek, documents):
    """SIGKILL in the middle of the step-30 checkpoint (after the resume file is committed,
    before the weights file), then --resume: the final parameters equal an uninterrupted run's."""
    extra = ["--documents"] if documents else []
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    r = _cli("train", str(startrek), "--out", str(ref), "--max-steps", "50", *TRAIN_ARGS, *extra)
    assert r.returncode == 0, r.stderr
    r = cli_killed_at_checkpoint(3, "train", str(startrek), "--out", str(killed),
                                 "--max-steps", "50", *TRAIN_ARGS, *extra)
    assert r.returncode == -9, r.stderr
    assert ckpt.load_tensors(killed / "optimizer.safetensors")[1]["step"] == 30
    assert ckpt.load_tensors(killed / "model.safetensors")[1]["step"] == 20  # older, still valid
    r = _cli("train", "--resume", str(killed), "--quiet")
    assert r.returncode == 0, r.stderr
    a, b = weights(ref), weights(killed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert losses(ref) == losses(killed)


def test_sigkill_at_any_moment_then_resume_is_bit_identical(tmp_path, startrek):
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    steps = "400"
    r = _cli("train", str(startrek), "--out", str(ref), "--max-steps", steps, *TRAIN_ARGS)
    assert r.returncode == 0, r.stderr
    proc = subprocess.Popen([sys.executable, "-m", "creative_rnn", "train", str(startrek),
                             "--out", str(killed), "--max-steps", steps, *TRAIN_ARGS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait for the first checkpoint to appear, then kill without warning
    state = killed / "state.json"
    while proc.poll() is None and not state.exists():
        pass
    proc.kill()
    proc.wait()
    r = _cli("train", "--resume", str(killed), "--quiet")
    assert r.returncode == 0, r.stderr
    a, b = weights(ref), weights(killed)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_can_extend_max_steps(tmp_path, startrek):
    run = tmp_path / "run"
    cr.train(corpus=[str(startrek)], out=run, max_steps=20, **SMALL)
    result = cr.train(resume=run, max_steps=30, progress_bar=False)
    assert result.step == 30
    cr.train(corpus=[str(startrek)], out=tmp_path / "straight", max_steps=30, **SMALL)
    # a longer budget changes the schedule, so only the step count is compared here
    assert json.loads((run / "state.json").read_text())["step"] == 30


def test_ctrl_c_saves_and_exits_cleanly(tmp_path, startrek):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "creative_rnn", "train", str(startrek),
                             "--out", str(run), "--max-steps", "100000", *TRAIN_ARGS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and not (run / "state.json").exists():
        pass
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "stopped (interrupted)" in out
    step = json.loads((run / "state.json").read_text())["step"]
    assert step >= 10
    assert ckpt.load_tensors(run / "optimizer.safetensors")[1]["step"] == step


def test_stop_event_from_another_thread(tmp_path, startrek):
    stop = threading.Event()
    stop.set()
    result = cr.train(corpus=[str(startrek)], out=tmp_path / "r", max_steps=50, stop=stop,
                      **SMALL)
    assert result.stopped == "interrupted" and result.step == 0


def test_early_stopping(tmp_path, startrek):
    # a huge learning rate makes validation worse at once; patience 2 stops the run early
    result = cr.train(corpus=[str(startrek)], out=tmp_path / "r", max_steps=500,
                      patience=2, **{**SMALL, "lr": 5.0, "grad_clip": 100.0, "warmup_steps": 0})
    assert result.stopped == "early_stopping"
    assert result.step < 500


def test_max_minutes_budget_stops_and_validates(tmp_path, startrek):
    result = cr.train(corpus=[str(startrek)], out=tmp_path / "r", max_minutes=0.02, **SMALL)
    assert result.stopped == "max_minutes"
    assert result.val_loss is not None


def test_small_corpus_shrinks_the_batch(tmp_path, capsys):
    f = tmp_path / "small.txt"
    f.write_text("a tiny corpus of a few words, repeated. " * 3)
    result = cr.train(corpus=[str(f)], out=tmp_path / "r", max_steps=5, **SMALL)
    assert result.step == 5
    assert "corpus is small" in capsys.readouterr().err


def test_bad_inputs_raise_user_errors(tmp_path, startrek):
    with pytest.raises(CorpusError, match="does not exist"):
        cr.train(corpus=[str(tmp_path / "missing.txt")], out=tmp_path / "r", **SMALL)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(CorpusError, match="empty"):
        cr.train(corpus=[str(empty)], out=tmp_path / "r", **SMALL)
    with pytest.raises(ConfigError, match="unknown config key"):
        cr.train(corpus=[str(startrek)], out=tmp_path / "r", colour="red", **SMALL)
    cr.train(corpus=[str(startrek)], out=tmp_path / "r2", max_steps=2, **SMALL)
    with pytest.raises(UserError, match="already holds a run"):
        cr.train(corpus=[str(startrek)], out=tmp_path / "r2", max_steps=2, **SMALL)
    with pytest.raises(UserError, match="only max_minutes, max_steps"):
        cr.train(resume=tmp_path / "r2", hidden_size=3)
    with pytest.raises(CheckpointError):
        cr.train(resume=tmp_path / "nothing")


def test_resume_refuses_a_changed_corpus(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("some text to learn from, " * 40)
    cr.train(corpus=[str(f)], out=tmp_path / "r", max_steps=2, **SMALL)
    f.write_text("text some to learn from, " * 40)  # same characters, other order
    with pytest.raises(CheckpointError, match="changed"):
        cr.train(resume=tmp_path / "r", max_steps=4, progress_bar=False)


def test_run_directory_holds_only_json_safetensors_and_png(tiny_text_run):
    for p in tiny_text_run.rglob("*"):
        if not p.is_file():
            continue
        if p.suffix == ".safetensors":
            ckpt.load_tensors(p)  # verified by checksum, no pickle involved
        elif p.suffix in (".json", ".jsonl"):
            for line in p.read_text().splitlines() if p.suffix == ".jsonl" else [p.read_text()]:
                json.loads(line)
        else:
            assert p.suffix == ".png" and p.read_bytes().startswith(b"\x89PNG"), p


def test_the_loss_plot_is_an_end_of_run_hook_and_a_failing_hook_costs_only_a_note(
        tmp_path, capsys, monkeypatch):
    """training/ never imports viz/: the package root hands the loop viz's loss plot (the
    loss.png of every run, asserted above); a hook that fails leaves a note and the others run."""
    from creative_rnn.training import loop
    from creative_rnn.viz.curves import loss_plot

    assert loss_plot in loop._END_OF_RUN

    def broken(run):
        raise OSError("disk full")

    seen = []
    monkeypatch.setattr(loop, "_END_OF_RUN", [broken, seen.append])
    Trainer._end_of_run(SimpleNamespace(run_dir=tmp_path))
    assert seen == [tmp_path]
    assert "broken failed (disk full)" in capsys.readouterr().err


def test_a_run_stopped_before_its_first_checkpoint_starts_again(tmp_path, startrek):
    """No weights yet: --resume says there is nothing to resume, and the same --out trains."""
    out = tmp_path / "r"
    cr.train(corpus=[str(startrek)], out=out, preset="tiny", max_steps=2, progress_bar=False)
    for name in ("model.safetensors", "optimizer.safetensors"):  # as if killed before them
        (out / name).unlink()
    assert (out / "best" / "model.safetensors").is_file()  # an evaluation came first
    with pytest.raises(CheckpointError, match="before its first checkpoint"):
        cr.train(resume=out, max_steps=4, progress_bar=False)
    result = cr.train(corpus=[str(startrek)], out=out, preset="tiny", max_steps=2,
                      progress_bar=False)
    assert result.step == 2 and (out / "optimizer.safetensors").is_file()


# --- divergence (issue 20) -------------------------------------------------------------------
def finite_tensors(path: Path) -> bool:
    tensors = ckpt.load_tensors(path)[0]
    return all(torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point())


def test_a_diverged_run_stops_with_one_clear_line_and_writes_no_bad_weights(tmp_path, startrek):
    """lr=1e30 used to "finish" and leave weights that sample nothing."""
    out = tmp_path / "r"
    with pytest.raises(TrainingDiverged, match=r"diverged at step \d+ \(loss") as e:
        cr.train(corpus=[str(startrek)], out=out, max_steps=50,
                 **{**SMALL, "lr": 1e30, "warmup_steps": 0})
    message = str(e.value)
    assert "\n" not in message and "lower lr (now 1e+30)" in message and str(out) in message
    assert isinstance(e.value, UserError)
    saved = list(out.rglob("*.safetensors"))
    assert all(finite_tensors(p) for p in saved), saved


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, startrek, monkeypatch):
    """Weights turned NaN after the step-10 checkpoint: the run stops at the next step's
    loss, says which checkpoint is kept, and that checkpoint (and best/) stay as they were."""
    real_step = Trainer._step

    def step(self):
        out = real_step(self)
        if self.step == 12:  # the 13th step: its own loss was finite, the weights are not
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("nan"))
        return out

    monkeypatch.setattr(Trainer, "_step", step)
    run = tmp_path / "r"
    with pytest.raises(TrainingDiverged, match=r"at step 14 \(loss nan\).*checkpoint \(step "
                                               r"10\) is kept"):
        cr.train(corpus=[str(startrek)], out=run, max_steps=30, **SMALL)
    assert json.loads((run / "state.json").read_text())["step"] == 10
    assert ckpt.load_tensors(run / "model.safetensors")[1]["step"] == 10
    assert finite_tensors(run / "model.safetensors") and finite_tensors(run / "best" /
                                                                        "model.safetensors")
    monkeypatch.undo()
    assert cr.train(resume=run, max_steps=12, progress_bar=False).step == 12  # still resumes


def test_non_finite_weights_are_never_saved(tmp_path, startrek, monkeypatch):
    """Weights that turn NaN on the very step of a checkpoint (its loss still finite) are
    not written: the step-10 checkpoint stays the one on disk."""
    real_step = Trainer._step

    def step(self):
        out = real_step(self)
        if self.step == 19:  # the 20th step, which ends with a checkpoint and an evaluation
            with torch.no_grad():
                next(self.model.parameters()).fill_(float("inf"))
        return out

    monkeypatch.setattr(Trainer, "_step", step)
    run = tmp_path / "r"
    with pytest.raises(TrainingDiverged, match="at step 20"):
        cr.train(corpus=[str(startrek)], out=run, max_steps=30, **SMALL)
    assert ckpt.load_tensors(run / "model.safetensors")[1]["step"] == 10
    assert finite_tensors(run / "model.safetensors")
    assert finite_tensors(run / "best" / "model.safetensors")


def test_grad_clip_zero_turns_clipping_off(tmp_path, startrek):
    """0 used to clip every gradient to nothing, so nothing was learned."""
    run = tmp_path / "r"
    cr.train(corpus=[str(startrek)], out=run, max_steps=30, grad_clip=0.0, **SMALL)
    train_losses = [t for _, t, _, _ in losses(run) if t is not None]
    assert train_losses[-1] < train_losses[0] - 0.3, train_losses
