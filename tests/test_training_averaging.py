"""Weight averaging (``ema``): the moving average's arithmetic, what the run directory holds
with it, and an exact resume."""

import json
import threading

import pytest
import torch

import creative_rnn as cr
from creative_rnn.core import tensors as ckpt
from creative_rnn.errors import ConfigError
from creative_rnn.training.averaging import WeightAverage
from creative_rnn.training.loop import Trainer

SMALL = dict(preset="tiny", hidden_size=32, num_layers=2, dropout=0.1, batch_size=8, seq_len=32,
             eval_every=10, checkpoint_every=10, log_every=5, progress_bar=False, ema=0.9)


def test_average_follows_the_update_rule_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    avg = WeightAverage(model, decay=0.9)
    expected = [p.detach().clone() for p in model.parameters()]
    for step in range(1, 30):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        d = min(0.9, (1 + step) / (10 + step))
        expected = [d * e + (1 - d) * p.detach() for e, p in zip(expected, model.parameters())]
        avg.update(step)
    own = [p.detach().clone() for p in model.parameters()]
    for a, e in zip(avg.average, expected):
        torch.testing.assert_close(a, e)
    with avg.applied():
        for p, e in zip(model.parameters(), expected):
            torch.testing.assert_close(p.detach(), e)
    assert all(torch.equal(p.detach(), o) for p, o in zip(model.parameters(), own))


def test_readers_get_the_averaged_weights(tmp_path, startrek):
    run = tmp_path / "run"
    cr.train(corpus=[str(startrek)], out=run, max_steps=30, **SMALL)
    saved, _ = ckpt.load_tensors(run / "optimizer.safetensors")
    readers, _ = ckpt.load_tensors(run / "model.safetensors")
    for name, value in readers.items():
        if f"average.{name}" in saved:  # parameters: the average, not the raw weights
            assert torch.equal(value, saved[f"average.{name}"]), name
            assert not torch.equal(value, saved[f"model.{name}"]), name
    # the logged validation loss is the loss of the weights in best/ (the average)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    best = min(r["val_loss"] for r in rows if "val_loss" in r)
    gen = cr.load(run)
    val = gen.model.state_dict()
    kept, meta = ckpt.load_tensors(run / "best" / "model.safetensors")
    assert meta["val_loss"] == pytest.approx(best, abs=1e-5)
    assert all(torch.equal(val[k], kept[k]) for k in kept)


def test_stopped_run_with_averaging_resumes_to_the_same_tensors(tmp_path, startrek,
                                                                 monkeypatch):
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    cr.train(corpus=[str(startrek)], out=ref, max_steps=40, **SMALL)
    # the same 40-step run, stopped after step 20 (as Ctrl-C does), then resumed
    stop, real_step = threading.Event(), Trainer._step

    def step_then_stop_at_20(self):
        out = real_step(self)
        if self.step + 1 == 20:
            stop.set()
        return out

    monkeypatch.setattr(Trainer, "_step", step_then_stop_at_20)
    result = cr.train(corpus=[str(startrek)], out=cut, max_steps=40, stop=stop, **SMALL)
    monkeypatch.setattr(Trainer, "_step", real_step)
    assert result.stopped == "interrupted" and result.step == 20
    cr.train(resume=cut, progress_bar=False)
    a, _ = ckpt.load_tensors(ref / "optimizer.safetensors")
    b, _ = ckpt.load_tensors(cut / "optimizer.safetensors")
    assert any(k.startswith("average.") for k in a)
    for k in a:
        if k.startswith(("model.", "average.")):
            assert torch.equal(a[k], b[k]), k
    ra, rb = (ckpt.load_tensors(r / "model.safetensors")[0] for r in (ref, cut))
    assert all(torch.equal(ra[k], rb[k]) for k in ra)


@pytest.mark.parametrize("bad", [-0.1, 1.0])
def test_ema_out_of_range_is_refused(tmp_path, startrek, bad):
    with pytest.raises(ConfigError, match="ema must be in"):
        cr.train(corpus=[str(startrek)], out=tmp_path / "r", max_steps=5,
                 **{**SMALL, "ema": bad})
