"""The vanilla RNN layer of the lecture, forward and backward, in NumPy.

One sequence, no batch. Shapes: xs (T, D) inputs, h (H,) state, hs (T, H) states.

Forward (the lecture's recurrence, one step per input x_t):

    a_t = b + V h_{t-1} + U x_t          pre-activation, (H,)
    h_t = tanh(a_t)                      new state, (H,)

Backward through time. Write δ_t = ∂L/∂h_t for the *total* gradient reaching h_t: the part
from this step's output (``dhs[t]``, given by the head above) plus the part coming back from
the future through h_{t+1}. Walking t = T-1 … 0:

    δ_t      = dhs[t] + Vᵀ ∂L/∂a_{t+1}   (the second term is 0 at the last step)
    ∂L/∂a_t  = δ_t ⊙ (1 − h_t²)          tanh' = 1 − tanh²
    ∂L/∂U   += ∂L/∂a_t x_tᵀ,  ∂L/∂V += ∂L/∂a_t h_{t-1}ᵀ,  ∂L/∂b += ∂L/∂a_t
    ∂L/∂x_t  = Uᵀ ∂L/∂a_t                (for the layer below, or the embedding)

Each step back multiplies δ by Vᵀ diag(1 − h_t²): the product of T − t such matrices is the
lecture's "long-term dependencies" problem (its norm shrinks or grows geometrically).
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]


def init(D: int, H: int, rng: np.random.Generator, scale: float = 0.3) -> Params:
    """Small random weights (for tests): U (H, D), V (H, H), b (H,)."""
    return {"U": rng.normal(0, scale, (H, D)), "V": rng.normal(0, scale, (H, H)),
            "b": rng.normal(0, scale, H)}


def forward(p: Params, xs: np.ndarray, h0: np.ndarray | None = None
            ) -> tuple[np.ndarray, dict]:
    """xs (T, D) -> hs (T, H) and the cache that ``backward`` needs."""
    H = p["V"].shape[0]
    h = np.zeros(H, dtype=xs.dtype) if h0 is None else h0
    hs = np.zeros((len(xs), H), dtype=xs.dtype)
    for t, x in enumerate(xs):
        h = np.tanh(p["b"] + p["V"] @ h + p["U"] @ x)
        hs[t] = h
    prev = np.vstack([h0 if h0 is not None else np.zeros(H, dtype=xs.dtype), hs[:-1]])
    return hs, {"xs": xs, "hs": hs, "prev": prev}


def backward(p: Params, cache: dict, dhs: np.ndarray
             ) -> tuple[Params, np.ndarray, np.ndarray, np.ndarray]:
    """dhs (T, H) = ∂L/∂h_t from the layer's outputs only.

    Returns (grads like ``p``, dxs (T, D), dh0 (H,), deltas (T, H)) where deltas[t] = δ_t is
    the total ∂L/∂h_t, future included (what the vanishing-gradient plot measures).
    """
    xs, hs, prev = cache["xs"], cache["hs"], cache["prev"]
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dxs = np.zeros_like(xs)
    deltas = np.zeros_like(hs)
    dh_next = np.zeros(hs.shape[1], dtype=hs.dtype)  # ∂L/∂h_t arriving from step t+1
    for t in reversed(range(len(xs))):
        delta = dhs[t] + dh_next
        deltas[t] = delta
        da = delta * (1.0 - hs[t] ** 2)
        g["U"] += np.outer(da, xs[t])
        g["V"] += np.outer(da, prev[t])
        g["b"] += da
        dxs[t] = p["U"].T @ da
        dh_next = p["V"].T @ da
    return g, dxs, dh_next, deltas
