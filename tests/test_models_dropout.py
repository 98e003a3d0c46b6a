"""fast_dropout and the layer-by-layer CPU training path that uses it."""

import math

import pytest
import torch

from creative_rnn.config import ModelConfig
from creative_rnn.models import SequenceModel
from creative_rnn.models.dropout import FastDropout, fast_dropout


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.9])
def test_keep_share_and_scale(p):
    torch.manual_seed(3)
    n = 400_001  # odd: the last 64-bit word is only partly used
    out = fast_dropout(torch.ones(n), p)
    kept = out != 0
    share = kept.double().mean().item()
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(share - (1 - p)) < 5 * sigma
    # each of the four 16-bit words drawn from one 64-bit number is a fair coin too
    for lane in range(4):
        lane_share = kept[lane::4].double().mean().item()
        assert abs(lane_share - (1 - p)) < 5 * sigma * 2
    # survivors are scaled so the expected value is unchanged
    assert torch.allclose(out[kept], torch.full_like(out[kept], out[kept][0].item()))
    assert abs(out[kept][0].item() - 1 / (1 - p)) < 1e-3
    assert abs(out.double().mean().item() - 1.0) < 5 * sigma / (1 - p)


def test_gradient_is_the_mask():
    torch.manual_seed(0)
    x = torch.randn(64, 33, requires_grad=True)
    out = fast_dropout(x, 0.3)
    out.sum().backward()
    kept = out != 0
    assert torch.equal(x.grad != 0, kept)
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 1 / 0.7), atol=1e-4)


def test_identity_when_off_and_reproducible():
    x = torch.randn(10, 10)
    assert fast_dropout(x, 0.5, training=False) is x
    assert fast_dropout(x, 0.0) is x
    m = FastDropout(0.5).eval()
    assert m(x) is x
    assert torch.equal(fast_dropout(x, 1.0), torch.zeros_like(x))
    torch.manual_seed(7)
    a = fast_dropout(x, 0.5)
    torch.manual_seed(7)
    assert torch.equal(a, fast_dropout(x, 0.5))


def _model(cell, layers):
    torch.manual_seed(1)
    return SequenceModel(ModelConfig(cell=cell, num_layers=layers, hidden_size=12,
                                     embedding_size=6, dropout=0.0, vocab_size=9)).double()


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("given_state", [False, True])
def test_layer_by_layer_equals_the_stacked_module(cell, layers, given_state):
    """With dropout rounded to nothing, the CPU training path computes exactly what
    nn.RNN/GRU/LSTM computes: outputs, final states and gradients."""
    m = _model(cell, layers)
    x = torch.randint(0, 9, (3, 11))
    state = None
    if given_state:
        state = m.init_state(3)
        state = tuple(torch.randn_like(s).double() for s in state) if isinstance(state, tuple) \
            else torch.randn_like(state).double()
    m.train()
    ref_logits, ref_state = m(x, state)
    ref_grads = torch.autograd.grad(ref_logits.square().sum(), list(m.parameters()))
    m.rnn.dropout = 1e-9  # takes the layer-by-layer path; rounds to no dropout at all
    logits, new_state = m(x, state)
    grads = torch.autograd.grad(logits.square().sum(), list(m.parameters()))
    assert torch.allclose(logits, ref_logits, atol=1e-12)
    pairs = zip(ref_state, new_state) if isinstance(ref_state, tuple) \
        else [(ref_state, new_state)]
    for a, b in pairs:
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-12)
    for a, b in zip(ref_grads, grads):
        assert torch.allclose(a, b, atol=1e-10)


def test_dropout_between_layers_is_applied_in_training_only():
    torch.manual_seed(2)
    m = SequenceModel(ModelConfig(cell="lstm", num_layers=2, hidden_size=12, embedding_size=6,
                                  dropout=0.5, vocab_size=9))
    x = torch.randint(0, 9, (4, 10))
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    assert torch.equal(a, b)
    m.train()
    c, _ = m(x)
    d, _ = m(x)
    assert not torch.equal(c, d)  # fresh masks each call
    assert not torch.allclose(c, a)
