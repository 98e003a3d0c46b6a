"""SequenceModel: the lecture's equations, each cell, state handling, initialisation."""

import pytest
import torch

from creative_rnn.config import ModelConfig
from creative_rnn.models import SequenceModel


def make(cell, layers=2, hidden=16, vocab=11, **kw):
    torch.manual_seed(0)
    return SequenceModel(ModelConfig(cell=cell, num_layers=layers, hidden_size=hidden,
                                     embedding_size=8, dropout=0.0, vocab_size=vocab, **kw))


CELLS = ["rnn", "gru", "lstm", "mingru", "minlstm"]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers", [1, 3])
def test_shapes_and_state_carry(cell, layers):
    m = make(cell, layers)
    x = torch.randint(0, 11, (3, 7))
    logits, state = m(x)
    assert logits.shape == (3, 7, 11)
    # feeding in two halves with the state carried equals feeding the whole sequence
    a, s = m(x[:, :4])
    b, _ = m(x[:, 4:], s)
    assert torch.allclose(torch.cat([a, b], 1), logits, atol=1e-6)
    h = m.hidden(state)
    assert h.shape == (layers, 3, 16)


def test_vanilla_rnn_is_the_lecture_recurrence():
    """h_t = tanh(U x_t + V h_{t-1} + b),  y_hat_t = softmax(c + W h_t)."""
    m = make("rnn", layers=1)
    x = torch.randint(0, 11, (1, 5))
    logits, _ = m(x)
    U, V = m.rnn.weight_ih_l0, m.rnn.weight_hh_l0
    b = m.rnn.bias_ih_l0 + m.rnn.bias_hh_l0
    W, c = m.head.weight, m.head.bias
    h = torch.zeros(16)
    for t in range(5):
        h = torch.tanh(U @ m.embedding.weight[x[0, t]] + V @ h + b)
        assert torch.allclose(c + W @ h, logits[0, t], atol=1e-5)


@pytest.mark.parametrize("forget_bias", [1.0, 0.0])
def test_lstm_forget_gate_bias_is_set_at_init(forget_bias):
    m = make("lstm", layers=2, forget_bias=forget_bias)
    H = 16
    for layer in range(2):
        total = getattr(m.rnn, f"bias_ih_l{layer}") + getattr(m.rnn, f"bias_hh_l{layer}")
        assert torch.all(total[H:2 * H] == forget_bias)
        assert not torch.all(total[:H] == total[0])  # the other gates keep torch's init


def test_initial_weights_have_unit_inputs_and_bounded_recurrence():
    m = make("gru", layers=1)
    assert 0.8 < m.embedding.weight.std().item() < 1.2
    assert m.rnn.weight_hh_l0.abs().max().item() <= 1 / 16 ** 0.5 + 1e-6


@pytest.mark.parametrize("cell", CELLS)
def test_the_step_form_is_forward_one_token_at_a_time(cell):
    """model.step (one token per row, state carried) gives forward's logits at every step."""
    m = make(cell).eval()
    x = torch.randint(0, 11, (2, 9))
    with torch.no_grad():
        want, want_state = m(x)
        state, got = None, []
        for t in range(9):
            logits, state = m.step(x[:, t], state)
            got.append(logits)
    assert torch.allclose(torch.stack(got, 1), want, atol=1e-5)
    got_state, want_parts = m.state_tensors(state), m.state_tensors(want_state)
    assert got_state.keys() == want_parts.keys()  # every part (the LSTM's c too) carried
    for part, value in want_parts.items():
        assert torch.allclose(got_state[part], value, atol=1e-5), part


def test_state_tensors_round_trip_and_detach():
    m = make("lstm")
    _, state = m(torch.randint(0, 11, (2, 3)))
    again = m.state_from_tensors(m.state_tensors(state))
    assert all(torch.equal(a, b) for a, b in zip(state, again))
    detached = m.detach_state(state)
    assert all(not s.requires_grad for s in detached)
    picked = m.select_state(state, torch.tensor([1]))
    assert picked[0].shape == (2, 1, 16)


def test_separate_output_vocabulary():
    m = make("gru", output_size=5)
    logits, _ = m(torch.randint(0, 11, (2, 4)))
    assert logits.shape == (2, 4, 5)



@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_minimal_cells_keep_one_state_part(cell):
    m = make(cell)
    _, state = m(torch.randint(0, 11, (2, 3)))
    assert isinstance(state, torch.Tensor) and state.shape == (2, 2, 16)
    assert m.state_tensors(state).keys() == {"h"}
    assert torch.equal(m.state_from_tensors(m.state_tensors(state)), state)
    assert m.select_state(state, torch.tensor([1])).shape == (2, 1, 16)
