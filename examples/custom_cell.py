"""Your own cell: design a recurrent unit, check its gradients, train it, sample from it.

The lecture's gated-units slide ends with "alternative unit design: project idea?". Here is
the whole project loop for one such unit, a *leaky* RNN: every unit has its own learned time
constant, a rate α = σ(a) at which it moves towards the vanilla RNN's new value:

    n_t = tanh(U x_t + V h_{t−1} + b)             the vanilla RNN's candidate
    h_t = (1 − α) ⊙ h_{t−1} + α ⊙ n_t             α = σ(a), one rate per unit

(α near 0: the unit remembers for long; near 1: it is a plain RNN unit.)

    python examples/custom_cell.py                      # check, train 200 steps, sample
    python examples/custom_cell.py --steps 2000 --out runs/leaky

What you write, all in this file:
 1. the cell in torch: a ``Cell`` subclass with ``step(x_t, h) -> h``, registered by name
    (``@register``); training, sampling, ``--set cell=leaky`` and the activation view
    (``viz.activations.collect``) pick it up from the registry, nothing else to edit;
 2. the same equations in NumPy with backpropagation through time written by hand
    (``LeakyNumPy``: ``init``, ``forward``, ``backward``, the interface of
    ``creative_rnn/reference/rnn.py``), linked as the cell's ``reference``;
 3. the checks: the hand gradients against finite differences, and the NumPy reference
    against torch autograd (``creative_rnn.reference.check``). Both should print errors of
    about 1e-8 or less; a wrong term in ``backward`` shows as an error near 1.

A cell whose recurrence can run a whole window at once also overrides ``sequence(x, h0)``
(see ``creative_rnn/models/minimal.py``: minGRU's scan); this one keeps the default, which
calls ``step`` once per time step. A run of this cell is read back in a process that has
imported this file (the registry is filled by the import): ``python -c "import custom_cell;
..."`` or the functions below.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

import creative_rnn as cr
from creative_rnn import reference
from creative_rnn.models import Cell, register
from creative_rnn.viz.activations import collect

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "startrekepisodes.txt"


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))


class LeakyNumPy:
    """The leaky RNN layer in NumPy, one sequence: xs (T, D), h (H,), hs (T, H).

    Backward, with δ_t = ∂L/∂h_t total (the output's part plus what comes back from t+1):

        δ_t = dhs[t] + (1 − α) ⊙ δ_{t+1} + Vᵀ ∂a_{t+1}
        ∂a_t = δ_t ⊙ α ⊙ (1 − n_t²)               (through n_t = tanh(a_t))
        ∂α  += δ_t ⊙ (n_t − h_{t−1}),  ∂a_param = ∂α ⊙ α (1 − α)
        ∂U += ∂a_t x_tᵀ,  ∂V += ∂a_t h_{t−1}ᵀ,  ∂b += ∂a_t,  ∂x_t = Uᵀ ∂a_t
    """

    @staticmethod
    def init(D: int, H: int, rng: np.random.Generator, scale: float = 0.3) -> dict:
        return {"U": rng.normal(0, scale, (H, D)), "V": rng.normal(0, scale, (H, H)),
                "b": rng.normal(0, scale, H), "a": rng.normal(0, 1.0, H)}

    @staticmethod
    def forward(p: dict, xs: np.ndarray, h0: np.ndarray | None = None) -> tuple:
        T, H = len(xs), p["V"].shape[0]
        alpha = _sigmoid(p["a"])
        h = np.zeros(H, dtype=xs.dtype) if h0 is None else h0
        cache = {k: np.zeros((T, H), dtype=xs.dtype) for k in ("n", "h", "h_prev")}
        for t, x in enumerate(xs):
            n = np.tanh(p["b"] + p["V"] @ h + p["U"] @ x)
            cache["h_prev"][t] = h
            h = (1.0 - alpha) * h + alpha * n
            cache["n"][t], cache["h"][t] = n, h
        cache["xs"], cache["alpha"] = xs, alpha
        return cache["h"], cache

    @staticmethod
    def backward(p: dict, cache: dict, dhs: np.ndarray) -> tuple:
        xs, alpha = cache["xs"], cache["alpha"]
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        dxs, deltas = np.zeros_like(xs), np.zeros_like(dhs)
        dh_next = np.zeros(dhs.shape[1], dtype=dhs.dtype)
        for t in reversed(range(len(xs))):
            n, hp = cache["n"][t], cache["h_prev"][t]
            delta = dhs[t] + dh_next
            deltas[t] = delta
            da = delta * alpha * (1.0 - n**2)
            grads["a"] += delta * (n - hp) * alpha * (1.0 - alpha)
            grads["U"] += np.outer(da, xs[t])
            grads["V"] += np.outer(da, hp)
            grads["b"] += da
            dxs[t] = p["U"].T @ da
            dh_next = delta * (1.0 - alpha) + p["V"].T @ da
        return grads, dxs, dh_next, deltas


@register
class Leaky(Cell):
    """The leaky RNN cell in torch (module doc)."""

    name = "leaky"  # --set cell=leaky
    gates = ("n",)  # shown to the activation view
    recurrent = ("V",)  # weight_drop masks V
    reference = LeakyNumPy

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        H, D = hidden_size, input_size
        self.U = nn.Parameter(torch.empty(H, D))
        self.V = nn.Parameter(torch.empty(H, H))
        self.b = nn.Parameter(torch.empty(H))
        self.a = nn.Parameter(torch.empty(H))

    def reset_parameters(self) -> None:
        super().reset_parameters()  # torch's uniform ±1/sqrt(H) for U, V, b
        nn.init.normal_(self.a, 0.0, 1.0)  # rates spread around α = ½

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """x_t (batch, D), h (batch, H) -> the new h (batch, H)."""
        n = torch.tanh(x_t @ self.U.T + h @ self.V.T + self.b)
        self.show(n=n)
        alpha = torch.sigmoid(self.a)
        return (1 - alpha) * h + alpha * n


def check() -> dict[str, float]:
    """The worst relative error of the hand-written gradients against finite differences and
    of the NumPy reference against torch autograd (logits and every gradient)."""
    return {"finite differences": max(reference.check.finite_differences("leaky").values()),
            "torch autograd": max(reference.check.against_torch("leaky").values())}


def train(corpus: str, out: str | Path, steps: int, **options) -> cr.RunResult:
    """A 2-layer leaky RNN on ``corpus`` for ``steps`` steps."""
    settings = dict(preset="tiny", num_layers=2, hidden_size=64, embedding_size=32,
                    lr=1e-2, warmup_steps=10, max_steps=steps,
                    eval_every=max(1, steps // 2), checkpoint_every=max(1, steps // 2))
    settings.update(options)
    return cr.train(corpus=[corpus], out=out, cell="leaky", progress_bar=False, **settings)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default=str(SHARED) if SHARED.is_file() else "shakespeare",
                   help="a text file, or a named corpus")
    p.add_argument("--out", default="runs/leaky")
    p.add_argument("--steps", type=int, default=200)
    args = p.parse_args()
    for what, err in check().items():
        print(f"gradient check, {what}: worst relative error {err:.1e}")
    result = train(args.corpus, args.out, args.steps)
    print(f"trained {result.step} steps: validation loss {result.best_val_loss:.3f} nats/token "
          f"(knowing only token frequencies: {result.unigram_loss:.3f})")
    gen = cr.load(args.out)  # the compiled engine runs only built-in cells: the torch step
    print(gen.generate(prime="The ", length=200, temperature=0.8, seed=1)[0])
    acts = collect(gen.model, gen.codec.encode("Star Trek"))
    print("activation view:", {k: v.shape for k, v in acts.items()})


if __name__ == "__main__":
    main()
