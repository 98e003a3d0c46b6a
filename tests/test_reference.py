"""The NumPy reference (creative_rnn.reference): hand-written BPTT checked by finite
differences and against PyTorch autograd, and logits checked against trained torch runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import creative_rnn as cr
from creative_rnn import reference
from creative_rnn.config import ModelConfig
from creative_rnn.models import SequenceModel
from creative_rnn.rundir import load_run

CELLS = ["rnn", "gru", "lstm", "mingru", "minlstm"]


# the package's own finite differences and error measure (reference/check.py), so the tests
# and a student's check of a new cell use the same arithmetic
numerical_grads, rel_error = reference.check.numerical_grads, reference.check.rel_error


@pytest.mark.parametrize("cell", CELLS)
def test_bptt_matches_finite_differences(cell):
    ref = reference.random_model(cell, vocab=7, D=3, H=4, num_layers=2, seed=3)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, 6)
    ids[4] = ids[1]  # a repeated token: its embedding row must collect both gradients
    targets = rng.integers(0, 7, 6)
    targets[2] = -1  # a step without loss
    grads, deltas = ref.backward(ids, targets)
    num = numerical_grads(ref, ids, targets)
    assert set(grads) == set(num)
    flat = np.concatenate([grads[k].ravel() for k in num])
    flat_num = np.concatenate([num[k].ravel() for k in num])
    assert rel_error(flat, flat_num) < 1e-6
    for k in num:  # no single tensor may hide inside the overall norm
        assert rel_error(grads[k], num[k]) < 1e-5, k
    assert deltas.shape == (2, 6, 4)


@pytest.mark.parametrize("cell", CELLS)
def test_hand_gradients_equal_autograd(cell):
    """Same weights, same data: the reference and torch agree on loss and every gradient."""
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell=cell, num_layers=2, hidden_size=5, embedding_size=3,
                                      vocab_size=9, dropout=0.0)).double()
    with torch.no_grad():  # move off the tidy initialisation (zero biases) to test every term
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ref = reference.from_torch(model)
    rng = np.random.default_rng(1)
    ids, targets = rng.integers(0, 9, 12), rng.integers(0, 9, 12)
    logits, _ = model(torch.tensor(ids)[None])
    loss = torch.nn.functional.cross_entropy(logits[0], torch.tensor(targets), reduction="sum")
    loss.backward()
    grads, _ = ref.backward(ids, targets)
    assert ref.loss(ids, targets) == pytest.approx(loss.item(), rel=1e-12)
    mapped = reference.torch_grads(ref, grads)
    assert set(mapped) == {n for n, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        np.testing.assert_allclose(mapped[name], p.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_gru_keeps_the_hidden_candidate_bias_apart():
    """torch's GRU applies r to (W_hn h + b_hn): folding b_hn into b_n would change the maths."""
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell="gru", num_layers=1, hidden_size=4, embedding_size=3,
                                      vocab_size=6, dropout=0.0)).double()
    with torch.no_grad():
        model.rnn.bias_hh_l0.normal_()
    ref = reference.from_torch(model)
    ids = np.array([4, 5, 1, 2, 3])
    good = ref.forward(ids)
    layer = ref.layers[0]
    layer["b_n"], layer["bh_n"] = layer["b_n"] + layer["bh_n"], np.zeros_like(layer["bh_n"])
    with torch.no_grad():
        expected = model(torch.tensor(ids)[None])[0][0].numpy()
    np.testing.assert_allclose(good, expected, atol=1e-12)
    assert np.abs(ref.forward(ids) - expected).max() > 1e-4


@pytest.fixture(scope="module")
def cell_runs(tmp_path_factory, startrek):
    """Tiny 2-layer runs of each cell, trained for a few dozen steps on Star Trek titles."""
    runs = {}
    for cell in CELLS:
        out = tmp_path_factory.mktemp("ref") / cell
        cr.train(corpus=[str(startrek)], out=out, preset="tiny", cell=cell, num_layers=2,
                 hidden_size=16, embedding_size=8, dropout=0.1, batch_size=8, seq_len=32,
                 max_steps=40, eval_every=40, checkpoint_every=40, progress_bar=False)
        runs[cell] = out
    return runs


@pytest.mark.parametrize("cell", CELLS)
def test_reference_logits_equal_trained_torch_model(cell, cell_runs, startrek):
    model, codec, _ = load_run(cell_runs[cell])
    assert model.config.cell == cell and model.config.num_layers == 2
    ref, ref_codec = reference.load(cell_runs[cell])
    ids = codec.encode(startrek.read_text(encoding="utf-8")[:300])
    assert ref_codec.encode("Star Trek") == codec.encode("Star Trek")
    with torch.no_grad():
        expected = model(torch.tensor([ids]))[0][0].double().numpy()
    got = ref.forward(np.array(ids))
    assert got.shape == (len(ids), codec.vocab_size)
    assert np.abs(got - expected).max() < 1e-5
    # the trained model predicts better than uniform, and the reference's loss says so too
    loss = ref.loss(np.array(ids[:-1]), np.array(ids[1:])) / (len(ids) - 1)
    assert loss < np.log(codec.vocab_size)


@pytest.mark.parametrize("cell", CELLS)
def test_deltas_are_the_gradient_on_each_hidden_state(cell):
    """deltas[0, t] (what viz-gradients plots) equals autograd's ∂L_T/∂h_t, found by stepping
    the torch layer one token at a time and keeping the gradient of every state."""
    torch.manual_seed(1)
    model = SequenceModel(ModelConfig(cell=cell, num_layers=1, hidden_size=5, embedding_size=3,
                                      vocab_size=9, dropout=0.0)).double()
    ids = np.array([4, 7, 5, 8, 6, 4, 5])
    state, states = None, []
    for t in range(len(ids)):
        out, state = model.rnn(model.embedding(torch.tensor([[ids[t]]])), state)
        h = model.hidden(state)
        h.retain_grad()  # reaches the loss through the next step's recurrence
        states.append(h)
    out.retain_grad()  # the last h_t reaches the loss through the head
    loss = torch.nn.functional.cross_entropy(model.head(out)[0], torch.tensor([3]),
                                             reduction="sum")
    loss.backward()
    targets = np.full(len(ids), -1)
    targets[-1] = 3  # the loss only at the last step, L_T
    _, deltas = reference.from_torch(model).backward(ids, targets)
    expected = [h.grad[0, 0].numpy() for h in states[:-1]] + [out.grad[0, 0].numpy()]
    np.testing.assert_allclose(deltas[0], np.stack(expected), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_the_parallel_form_equals_the_recurrence(cell):
    """The minimal cells' log-space scan (reference/scan.py) gives the recurrence's h_t, from a
    carried h_0 of either sign, without a loop over time."""
    layer = getattr(reference, cell)
    rng = np.random.default_rng(4)
    p = layer.init(3, 5, rng, scale=1.0)
    xs, h0 = rng.normal(size=(60, 3)), rng.normal(size=5)
    hs, _ = layer.forward(p, xs, h0)
    np.testing.assert_allclose(layer.parallel(p, xs, h0), hs, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(layer.parallel(p, xs), layer.forward(p, xs)[0], atol=1e-12)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_the_gradient_through_time_is_a_product_of_gates(cell):
    """No V: δ_{t-1} gets δ_t times the gate (1 − z_t or f'_t) elementwise, so with a loss
    only at the last step, δ_t is exactly the product of those gates."""
    ref = reference.random_model(cell, vocab=6, D=3, H=4, num_layers=1, seed=2)
    ids = np.array([1, 4, 2, 5, 3, 0, 1])
    targets = np.full(7, -1)
    targets[-1] = 2
    _, deltas = ref.backward(ids, targets)
    c = ref.caches[0]
    keep = 1 - c["z"] if cell == "mingru" else c["f"] / (c["f"] + c["i"])
    for t in range(6):
        np.testing.assert_allclose(deltas[0, t], deltas[0, -1] * np.prod(keep[t + 1:], 0),
                                   rtol=1e-12)


def test_check_functions_catch_a_wrong_backward(monkeypatch):
    """reference.check (what a student runs on a new cell) passes the shipped cells and fails
    a backward pass with one wrong term."""
    assert max(reference.check.finite_differences("mingru").values()) < 1e-6
    assert max(reference.check.against_torch("minlstm").values()) < 1e-9
    right = reference.mingru.g_prime
    monkeypatch.setattr(reference.mingru, "g_prime", lambda a: 0.5 * right(a))
    errors = reference.check.finite_differences("mingru")
    assert errors["l1.U_h"] > 0.1 and errors["W"] < 1e-6  # the head is above the mistake
