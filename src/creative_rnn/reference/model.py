"""The whole network in NumPy: embedding -> stacked layers -> head -> softmax -> loss.

For one sequence of token ids (T,) and targets y (T,):

    x_t = E[id_t]                          embedding row (= U applied to a one-hot x_t)
    h_t^1 = layer_1(x_t, h_{t-1}^1), …,  h_t^N = layer_N(h_t^{N-1}, h_{t-1}^N)
    o_t = c + W h_t^N                      logits, (K,)
    ŷ_t = softmax(o_t)
    L = Σ_t −log ŷ_t[y_t]                  (= Σ_t −y_t · log ŷ_t with one-hot y_t)

Backward starts from the classic softmax + cross-entropy result ∂L/∂o_t = ŷ_t − y_t, gives
∂L/∂W = Σ_t (ŷ_t − y_t) h_tᵀ, ∂L/∂c = Σ_t (ŷ_t − y_t), ∂L/∂h_t^N = Wᵀ (ŷ_t − y_t), then each
layer's BPTT from the top down; the bottom layer's ∂L/∂x_t lands in the rows of E.

``from_torch`` reads a ``SequenceModel``'s weights into this form (torch's two recurrent
biases summed into b, gates split by name); ``torch_grads`` maps gradients back to torch's
parameter names so they can be compared with autograd. A registered cell (mingru, minlstm,
your own: models/cells.py) keeps its parameters' own names (``rnn.layers.0.U_z`` is
``l0.U_z``) and its NumPy layer is ``CELLS[name]`` or the cell's ``reference``. Dropout is an
identity here: the reference is the model in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..codecs import Codec
from ..errors import ConfigError
from ..models import cells as registry
from ..rundir import load_run
from . import gru, lstm, mingru, minlstm, rnn

CELLS = {"rnn": rnn, "gru": gru, "lstm": lstm, "mingru": mingru, "minlstm": minlstm}
# torch's row blocks of weight_ih / weight_hh / biases, in order (its own layers only)
TORCH_GATES = {"rnn": ("",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}


def layer_module(cell: str):
    """The NumPy layer of a cell (``init``, ``forward``, ``backward``): one of ``CELLS``, or a
    registered cell's ``reference``."""
    if cell in CELLS:
        return CELLS[cell]
    ref = registry.get(cell).reference
    if ref is None:
        raise ConfigError(f"cell {cell!r} has no NumPy reference; give its Cell class a "
                          "`reference` with init, forward and backward (examples/custom_cell.py)")
    return ref


@dataclass
class ReferenceModel:
    cell: str
    E: np.ndarray  # (vocab, D) embedding
    layers: list[dict[str, np.ndarray]]  # per layer: U, V, b (per gate for GRU / LSTM)
    W: np.ndarray  # (K, H) head weights
    c: np.ndarray  # (K,) head bias
    caches: list[dict] = field(default_factory=list, repr=False)  # per layer, from forward
    hs_top: np.ndarray | None = field(default=None, repr=False)  # (T, H) top layer's h_t

    @property
    def hidden_size(self) -> int:
        return self.W.shape[1]

    def params(self) -> dict[str, np.ndarray]:
        """Every parameter by a flat name ("E", "W", "c", "l0.U_f", …), the arrays themselves
        (not copies), so a finite-difference check can nudge them in place."""
        out = {"E": self.E, "W": self.W, "c": self.c}
        for n, layer in enumerate(self.layers):
            out.update({f"l{n}.{k}": v for k, v in layer.items()})
        return out

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """ids (T,) -> logits (T, K). Keeps what ``backward`` needs; starts from h_0 = 0."""
        xs = self.E[np.asarray(ids, dtype=np.int64)]
        self.caches = []
        for layer in self.layers:
            xs, cache = layer_module(self.cell).forward(layer, xs)
            self.caches.append(cache)
        self.hs_top = xs
        return xs @ self.W.T + self.c

    def loss(self, ids: np.ndarray, targets: np.ndarray) -> float:
        """L = Σ_t −log ŷ_t[y_t] over steps whose target is ≥ 0 (−1 means no loss there)."""
        logits = self.forward(ids)
        logp = log_softmax(logits)
        keep = np.asarray(targets) >= 0
        return float(-logp[np.nonzero(keep)[0], np.asarray(targets)[keep]].sum())

    def backward(self, ids: np.ndarray, targets: np.ndarray
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of ``loss(ids, targets)`` by hand (runs the forward pass first).

        Returns (grads named as in ``params``, deltas (num_layers, T, H)): deltas[n, t] is
        the total ∂L/∂h_t of layer n, the quantity the vanishing-gradient plot measures.
        """
        ids, targets = np.asarray(ids, dtype=np.int64), np.asarray(targets)
        logits = self.forward(ids)
        keep = targets >= 0
        dlogits = np.exp(log_softmax(logits))  # ŷ_t
        dlogits[np.nonzero(keep)[0], targets[keep]] -= 1.0  # ŷ_t − y_t
        dlogits[~keep] = 0.0
        grads = {"W": dlogits.T @ self.hs_top, "c": dlogits.sum(0)}
        dhs = dlogits @ self.W
        deltas = np.zeros((len(self.layers), len(ids), self.hidden_size), dtype=self.W.dtype)
        for n in reversed(range(len(self.layers))):
            g, dhs, _, deltas[n] = layer_module(self.cell).backward(self.layers[n],
                                                                    self.caches[n], dhs)
            grads.update({f"l{n}.{k}": v for k, v in g.items()})
        dE = np.zeros_like(self.E)
        np.add.at(dE, ids, dhs)  # a token seen twice collects both gradients
        grads["E"] = dE
        return grads, deltas


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log ŷ along the last axis, shifted by the max so exp never overflows."""
    o = o - o.max(-1, keepdims=True)
    return o - np.log(np.exp(o).sum(-1, keepdims=True))


def random_model(cell: str, vocab: int, D: int, H: int, num_layers: int = 1,
                 seed: int = 0) -> ReferenceModel:
    """Small random float64 model for gradient checks."""
    rng = np.random.default_rng(seed)
    layers = [layer_module(cell).init(D if n == 0 else H, H, rng) for n in range(num_layers)]
    return ReferenceModel(cell, rng.normal(0, 0.5, (vocab, D)), layers,
                          rng.normal(0, 0.5, (vocab, H)), rng.normal(0, 0.1, vocab))


# --- torch <-> reference ------------------------------------------------------------------
def from_torch(model, dtype=np.float64) -> ReferenceModel:
    """A ``SequenceModel``'s weights in the lecture's names (float64 by default)."""
    cell, L = model.config.cell, model.config.num_layers
    sd = {k: v.detach().cpu().double().numpy().astype(dtype) for k, v in model.state_dict().items()}
    if cell in TORCH_GATES:
        layers = [_torch_layer(sd, cell, n, model.config.hidden_size) for n in range(L)]
    else:  # a registered cell: its parameters by their own names
        layer_module(cell)  # refuse a cell without a NumPy form here, not at forward
        layers = [{k[len(f"rnn.layers.{n}."):]: v for k, v in sd.items()
                   if k.startswith(f"rnn.layers.{n}.")} for n in range(L)]
    return ReferenceModel(cell, sd["embedding.weight"], layers, sd["head.weight"], sd["head.bias"])


def _torch_layer(sd: dict[str, np.ndarray], cell: str, n: int, H: int) -> dict[str, np.ndarray]:
    """Layer n of torch's nn.RNN / GRU / LSTM: gates split by name, two biases summed."""
    w_ih, w_hh = sd[f"rnn.weight_ih_l{n}"], sd[f"rnn.weight_hh_l{n}"]
    b_ih, b_hh = sd[f"rnn.bias_ih_l{n}"], sd[f"rnn.bias_hh_l{n}"]
    layer = {}
    for j, k in enumerate(TORCH_GATES[cell]):
        rows, sfx = slice(j * H, (j + 1) * H), f"_{k}" if k else ""
        layer[f"U{sfx}"], layer[f"V{sfx}"] = w_ih[rows].copy(), w_hh[rows].copy()
        if cell == "gru" and k == "n":  # r multiplies the hidden-side bias: keep it apart
            layer["b_n"], layer["bh_n"] = b_ih[rows].copy(), b_hh[rows].copy()
        else:
            layer[f"b{sfx}"] = b_ih[rows] + b_hh[rows]
    return layer


def torch_grads(ref: ReferenceModel, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reference gradients under torch's parameter names. A summed bias b = b_ih + b_hh has
    the same gradient for both halves."""
    out = {"embedding.weight": grads["E"], "head.weight": grads["W"], "head.bias": grads["c"]}
    if ref.cell not in TORCH_GATES:
        for n, layer in enumerate(ref.layers):
            out.update({f"rnn.layers.{n}.{k}": grads[f"l{n}.{k}"] for k in layer})
        return out
    for n in range(len(ref.layers)):
        gates = TORCH_GATES[ref.cell]
        sfx = [f"_{k}" if k else "" for k in gates]
        out[f"rnn.weight_ih_l{n}"] = np.concatenate([grads[f"l{n}.U{s}"] for s in sfx])
        out[f"rnn.weight_hh_l{n}"] = np.concatenate([grads[f"l{n}.V{s}"] for s in sfx])
        b_ih = [grads[f"l{n}.b{s}"] for s in sfx]
        b_hh = [grads[f"l{n}.bh_n"] if s == "_n" and ref.cell == "gru" else grads[f"l{n}.b{s}"]
                for s in sfx]
        out[f"rnn.bias_ih_l{n}"] = np.concatenate(b_ih)
        out[f"rnn.bias_hh_l{n}"] = np.concatenate(b_hh)
    return out


def load(run_dir: str | Path, last: bool = False) -> tuple[ReferenceModel, Codec]:
    """(reference model, codec) from a run directory: the same weights the torch model uses."""
    model, codec, _ = load_run(run_dir, last=last, device="cpu")
    return from_torch(model), codec
