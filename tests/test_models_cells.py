"""Your own cell (models/cells.py): the registry, and examples/custom_cell.py's leaky RNN
picked up by config, training, sampling, the activation view and the reference checks with
no edit elsewhere."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import creative_rnn as cr
from creative_rnn import config, config_layers, reference, rundir
from creative_rnn.config import ModelConfig
from creative_rnn.engine import EngineUnsupported, StepEngine
from creative_rnn.errors import ConfigError
from creative_rnn.models import Cell, SequenceModel, cells, register
from creative_rnn.viz.activations import collect, keys_for

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_cell.py"


@pytest.fixture(scope="module")
def example():
    """examples/custom_cell.py imported as a module (which registers cell=leaky)."""
    spec = importlib.util.spec_from_file_location("custom_cell", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_cell"] = module
    spec.loader.exec_module(module)
    return module


def test_registering_adds_the_name_everywhere_a_cell_is_chosen(example):
    assert cells.get("leaky") is example.Leaky
    assert "leaky" in cells.names() and "leaky" in config.CELLS
    model_cfg, _ = config_layers.resolve(overrides=config_layers.parse_set(["cell=leaky"]))  # --set
    assert model_cfg.cell == "leaky"
    with pytest.raises(ConfigError, match="leaky"):  # the message lists registered cells
        config_layers.resolve(overrides={"cell": "leeky"})
    # importing the example again (a notebook re-run) re-registers the same class quietly
    spec = importlib.util.spec_from_file_location("custom_cell", EXAMPLE)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert cells.names().count("leaky") == 1


def test_register_refuses_what_would_break_a_model():
    def make(name, **attrs):
        return type("C", (Cell,), {"name": name, "__module__": __name__, **attrs})

    with pytest.raises(ValueError, match="built-in"):
        register(make("lstm"))
    with pytest.raises(ValueError, match="lower-case identifier"):
        register(make("My Cell"))
    with pytest.raises(ValueError, match="'h' first"):
        register(make("nohidden", state=("c", "h")))
    with pytest.raises(ValueError, match="already registered"):
        register(make("mingru"))
    with pytest.raises(TypeError):
        register(object)
    with pytest.raises(ConfigError, match="import the module"):
        cells.get("nosuchcell")


def test_the_gradient_check_of_the_example(example):
    """The example's hand-written BPTT equals finite differences, and its NumPy reference
    equals torch autograd: the checks the example prints."""
    worst = example.check()
    assert worst["finite differences"] < 1e-6
    assert worst["torch autograd"] < 1e-9
    grads = reference.check.finite_differences("leaky", num_layers=1, seed=5)
    assert set(grads) == {"E", "W", "c", "l0.U", "l0.V", "l0.b", "l0.a"}


def test_the_example_cell_trains_samples_and_is_looked_inside(example, tmp_path, startrek):
    result = example.train(str(startrek), tmp_path / "leaky", steps=6, hidden_size=16,
                           embedding_size=8, dropout=0.2, weight_drop=0.3, batch_size=8,
                           seq_len=24)
    assert result.step == 6 and np.isfinite(result.best_val_loss)
    model, codec, cfg = rundir.load_run(tmp_path / "leaky")
    assert cfg["model"]["cell"] == "leaky" and isinstance(model.rnn.layers[1], cells.get("leaky"))
    gen = cr.load(tmp_path / "leaky")  # auto: the engine refuses the cell, the torch step runs
    text = gen.generate("Star", length=30, seed=2)[0]
    assert text.startswith("Star") and len(text) == 34
    assert text == gen.generate("Star", length=30, seed=2)[0]
    with pytest.raises(EngineUnsupported, match="leaky.*--engine torch"):
        StepEngine.from_model(model)
    acts = collect(model, codec.encode("Star Trek"))
    assert list(acts) == keys_for("leaky") == ["h", "n"]
    assert all(v.shape == (2, 9, 16) for v in acts.values())
    with torch.no_grad():
        out, _ = model.rnn(model.embedding(torch.tensor([codec.encode("Star Trek")])))
    np.testing.assert_allclose(acts["h"][1], out[0].numpy(), atol=1e-6)
    ref, _ = reference.load(tmp_path / "leaky")  # the trained run's logits, in NumPy
    ids = codec.encode("Star Trek: Voyager")
    with torch.no_grad():
        want = model(torch.tensor([ids]))[0][0].double().numpy()
    assert np.abs(ref.forward(np.array(ids)) - want).max() < 1e-5


def test_weight_drop_masks_the_recurrent_weights_in_training_only(example):
    torch.manual_seed(0)
    m = SequenceModel(ModelConfig(cell="leaky", num_layers=2, hidden_size=8, embedding_size=4,
                                  vocab_size=7, dropout=0.0, weight_drop=0.5))
    x = torch.randint(0, 7, (2, 5))
    m.train()
    a, b = m(x)[0], m(x)[0]
    assert not torch.allclose(a, b)  # a new mask on V each call
    a.sum().backward()
    assert m.rnn.layers[0].V.grad is not None and m.rnn.layers[0].V.grad.abs().sum() > 0
    m.eval()
    assert torch.equal(m(x)[0], m(x)[0])


class TwoPart(Cell):
    """A cell with an (h, c) state, to check multi-part states end to end."""

    name = "twopart"
    state = ("h", "c")
    gates = ("g",)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.U = torch.nn.Parameter(torch.empty(hidden_size, input_size))

    def step(self, x_t, state):
        h, c = state
        g = torch.tanh(x_t @ self.U.T + h)
        self.show(g=g)
        c = 0.5 * c + g
        return torch.tanh(c), c


def test_a_cell_with_two_state_parts(monkeypatch):
    monkeypatch.setattr(cells, "_REGISTRY", dict(cells._REGISTRY))  # forgotten afterwards
    monkeypatch.setattr(config, "CELLS", config.CELLS)
    register(TwoPart)
    torch.manual_seed(0)
    m = SequenceModel(ModelConfig(cell="twopart", num_layers=2, hidden_size=6,
                                  embedding_size=4, vocab_size=9, dropout=0.0))
    x = torch.randint(0, 9, (3, 7))
    logits, state = m(x)
    assert isinstance(state, tuple) and [s.shape for s in state] == [(2, 3, 6)] * 2
    assert m.state_tensors(state).keys() == {"h", "c"}
    a, s = m(x[:, :3])
    b, _ = m(x[:, 3:], s)
    assert torch.allclose(torch.cat([a, b], 1), logits, atol=1e-6)
    assert m.select_state(state, torch.tensor([0]))[1].shape == (2, 1, 6)
    assert keys_for("twopart") == ["h", "c", "g"]
    acts = collect(m, [1, 2, 3])
    np.testing.assert_allclose(acts["c"][:, -1], m(torch.tensor([[1, 2, 3]]))[1][1][:, 0]
                               .detach().numpy(), atol=1e-6)
    with pytest.raises(ConfigError, match="no NumPy reference"):
        reference.from_torch(m)
