"""minGRU and minLSTM (models/minimal.py): the window's forms (the log-space parallel scan and
the step-by-step loop) equal the step form token by token, from any carried state; stacking,
dropout and bf16; they learn, save, load, sample and perform; the engine gives the torch
path's tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import creative_rnn as cr
from creative_rnn import config, config_layers, rundir
from creative_rnn.config import ModelConfig
from creative_rnn.engine import StepEngine
from creative_rnn.errors import ConfigError
from creative_rnn.live import load_stepper
from creative_rnn.models import SequenceModel, minimal
from creative_rnn.models.seq2seq import Seq2Seq, Tagger

MIN_CELLS = ["mingru", "minlstm"]
V = 13


def make(cell, layers=2, hidden=16, dropout=0.0, dtype=torch.float32, seed=0, **kw):
    torch.manual_seed(seed)
    m = SequenceModel(ModelConfig(cell=cell, num_layers=layers, hidden_size=hidden,
                                  embedding_size=8, dropout=dropout, vocab_size=V, **kw))
    with torch.no_grad():  # biases and weights of a trained net's size, not tiny ones
        for p in m.parameters():
            p.add_(0.5 * torch.randn_like(p))
    return m.to(dtype)


def stepwise(m, x, state):
    """Logits (batch, T, V) and the final state from model.step, one token at a time."""
    out = []
    for t in range(x.size(1)):
        logits, state = m.step(x[:, t], state)
        out.append(logits)
    return torch.stack(out, 1), state


@pytest.mark.parametrize("scan", ["log", "loop"])
@pytest.mark.parametrize("cell", MIN_CELLS)
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-11), (torch.float32, 2e-5)])
def test_the_window_equals_the_step_form_from_any_state(cell, scan, dtype, tol, monkeypatch):
    """Logits of forward over 100 tokens (longer than one scan chunk), from a nonzero state of
    both signs, equal model.step's one token at a time, and so do the final states."""
    monkeypatch.setattr(minimal, "SCAN", scan)
    m = make(cell, dtype=dtype).eval()
    x = torch.randint(0, V, (3, 100), generator=torch.Generator().manual_seed(1))
    h0 = torch.randn(2, 3, 16, generator=torch.Generator().manual_seed(2), dtype=dtype)
    with torch.no_grad():
        want, want_state = stepwise(m, x, h0)
        got, state = m(x, h0)
    assert minimal.CHUNK < 100
    assert torch.allclose(got, want, rtol=tol, atol=tol)
    assert torch.allclose(state, want_state, rtol=tol, atol=tol)
    assert not torch.allclose(m(x[:, :5])[0], m(x[:, :5], h0)[0], atol=1e-3)  # h0 matters


@pytest.mark.parametrize("cell", MIN_CELLS)
def test_truncated_bptt_windows_carry_the_state(cell):
    """Windows fed one after another, state carried, give the whole stream's logits."""
    m = make(cell).eval()
    x = torch.randint(0, V, (2, 90))
    with torch.no_grad():
        whole, _ = m(x)
        state, parts = None, []
        for s in range(0, 90, 37):
            logits, state = m(x[:, s: s + 37], state)
            parts.append(logits)
    assert torch.allclose(torch.cat(parts, 1), whole, atol=1e-5)


def test_scans_against_a_plain_loop_and_their_gradients():
    """log_scan and recurrence compute h_t = a_t h_{t-1} + b_t (h_0 of any sign), and the
    recurrence's hand-written backward equals autograd through the log-space scan and
    finite differences (gradcheck)."""
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(2, 70, 5, generator=gen, dtype=torch.float64) * 0.98 + 0.01
    b = torch.rand(2, 70, 5, generator=gen, dtype=torch.float64) + 0.01
    h0 = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    h, want = h0, []
    for t in range(70):
        h = a[:, t] * h + b[:, t]
        want.append(h)
    want = torch.stack(want, 1)
    assert torch.allclose(minimal.log_scan(a.log(), b.log(), h0), want, atol=1e-12)
    assert torch.allclose(minimal.recurrence(a, b, h0), want, atol=1e-12)
    small = [t[:, :9].clone().requires_grad_() for t in (a, b)] + [h0.clone().requires_grad_()]
    assert torch.autograd.gradcheck(minimal.recurrence, small)
    w = torch.randn(2, 9, 5, dtype=torch.float64, generator=gen)
    (minimal.recurrence(*small) * w).sum().backward()
    loop_grads = [t.grad.clone() for t in small]
    for t in small:
        t.grad = None
    (minimal.log_scan(small[0].log(), small[1].log(), small[2]) * w).sum().backward()
    for got, want in zip(loop_grads, (t.grad for t in small)):
        assert torch.allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("scan", ["log", "loop"])
@pytest.mark.parametrize("cell", MIN_CELLS)
def test_gradients_of_both_window_forms_agree(cell, scan, monkeypatch):
    """Training's gradients (through the window form) equal the step form's, float64."""
    m = make(cell, dtype=torch.float64)
    x = torch.randint(0, V, (2, 40))
    h0 = torch.randn(2, 2, 16, dtype=torch.float64)

    def grads(loss):
        m.zero_grad()
        loss.backward()
        return {n: p.grad.clone() for n, p in m.named_parameters()}

    monkeypatch.setattr(minimal, "SCAN", scan)
    window = grads(m(x, h0)[0].square().mean())
    steps = grads(stepwise(m, x, h0)[0].square().mean())
    for name in window:
        assert torch.allclose(window[name], steps[name], atol=1e-10), name


@pytest.mark.parametrize("cell", MIN_CELLS)
def test_stacking_dropout_and_bf16(cell):
    m = make(cell, layers=2, dropout=0.5)
    x = torch.randint(0, V, (4, 30))
    m.train()
    a, _ = m(x)
    b, _ = m(x)
    assert not torch.allclose(a, b)  # dropout draws new masks
    a.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())
    m.eval()
    with torch.no_grad():
        c, s = m(x)
        assert torch.equal(c, m(x)[0])  # no dropout in eval mode
        assert torch.allclose(c, stepwise(m, x, None)[0], atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            d, s16 = m(x)
    assert torch.isfinite(d).all() and s16.dtype == torch.float32
    assert (d.float() - c).abs().max() < 0.5  # bf16 matrix products, float32 recurrence


@pytest.mark.parametrize("cell", MIN_CELLS)
def test_hidden_state_stays_between_its_inputs(cell):
    """h_t is a weighted average of h_{t-1} and h̃_t > 0: from h_0 = 0 it stays positive and
    below the largest candidate, so it cannot blow up over a long stream."""
    m = make(cell, layers=1).eval()
    with torch.no_grad():
        _, state = m(torch.randint(0, V, (2, 2000)))
    assert (state > 0).all() and torch.isfinite(state).all()


def test_config_accepts_the_minimal_cells_and_refuses_what_does_not_apply():
    assert {"mingru", "minlstm"} <= set(config.CELLS)
    model_cfg, _ = config_layers.resolve(overrides=config_layers.parse_set(["cell=mingru"]))
    assert model_cfg.cell == "mingru"
    with pytest.raises(ConfigError, match="cell='lstn' is not one of"):
        config_layers.resolve(overrides={"cell": "lstn"})
    cfg = ModelConfig(cell="minlstm", vocab_size=5, weight_drop=0.2)
    with pytest.raises(ConfigError, match="weight_drop=0"):
        SequenceModel(cfg)  # no weights on h_(t-1) to drop
    for build in (lambda c: Tagger(c, 3), lambda c: Seq2Seq(c)):
        with pytest.raises(ConfigError, match="language models"):
            build(ModelConfig(cell="mingru", vocab_size=5))


@pytest.fixture(scope="module")
def min_runs(tmp_path_factory, startrek):
    """A 2-layer run of each minimal cell, a few dozen steps on Star Trek titles."""
    runs = {}
    for cell in MIN_CELLS:
        out = tmp_path_factory.mktemp("min") / cell
        result = cr.train(corpus=[str(startrek)], out=out, preset="tiny", cell=cell,
                          num_layers=2, hidden_size=48, embedding_size=16, dropout=0.1,
                          lr=1e-2, warmup_steps=5, max_steps=60, eval_every=30,
                          checkpoint_every=30, progress_bar=False)
        runs[cell] = (out, result)
    return runs


@pytest.mark.parametrize("cell", MIN_CELLS)
def test_a_run_learns_saves_loads_samples_and_performs(cell, min_runs):
    out, result = min_runs[cell]
    # learned: below what knowing only the tokens' frequencies gives
    assert result.best_val_loss < result.unigram_loss
    model, codec, cfg = rundir.load_run(out)
    assert cfg["model"]["cell"] == cell and isinstance(model.rnn.layers[0], minimal._InputOnly)
    fast, eager = cr.load(out, engine="fast"), cr.load(out, engine="torch")
    assert fast.generate("Star", length=80, num=2, greedy=True) == \
        eager.generate("Star", length=80, num=2, greedy=True)
    text = eager.generate("Star", length=50, seed=3)[0]
    assert text.startswith("Star") and len(text) == 54
    assert fast.generate("Star", length=50, seed=3) == fast.generate("Star", length=50, seed=3)
    for engine in ("auto", "torch"):  # perform: the engine's step, or the model's
        stepper = load_stepper(out, greedy=True, engine=engine)
        assert (stepper.fast is not None) == (engine == "auto")
        answers = list(stepper.play(list("Star Trek")))
        assert len(answers) == 9
    assert answers == list(load_stepper(out, greedy=True).play(list("Star Trek")))


@pytest.mark.parametrize("cell", MIN_CELLS)
def test_the_engine_steps_a_trained_run_as_torch_does(cell, min_runs):
    """The compiled engine's logits along a long carried stream equal the torch step's."""
    model, codec, _ = rundir.load_run(min_runs[cell][0])
    ids = torch.tensor([codec.encode("Star Trek: The Next Generation\n" * 8)])
    with torch.no_grad():
        want, want_state = stepwise(model, ids, None)
    eng = StepEngine.from_model(model)
    state, worst = None, 0.0
    for t in range(ids.size(1)):
        logits, state = eng.step(ids[:, t: t + 1].numpy(), state)
        worst = max(worst, float(np.abs(logits - want[:, t].numpy()).max()))
    assert worst < 1e-4
    assert torch.allclose(eng.to_torch(state), want_state, atol=1e-5)
