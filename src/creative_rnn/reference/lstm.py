"""The LSTM layer (Hochreiter & Schmidhuber 1997, with a forget gate), forward and backward.

Each gate k ∈ {i, f, g, o} has its own U_k (H, D), V_k (H, H) and b_k (H,), as the vanilla
RNN has U, V, b:

    i_t = σ(b_i + V_i h_{t-1} + U_i x_t)     input gate: how much new content to write
    f_t = σ(b_f + V_f h_{t-1} + U_f x_t)     forget gate: how much of the cell to keep
    g_t = tanh(b_g + V_g h_{t-1} + U_g x_t)  candidate content
    o_t = σ(b_o + V_o h_{t-1} + U_o x_t)     output gate: how much of the cell to show
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t          cell state: an additive path through time
    h_t = o_t ⊙ tanh(c_t)

(torch stores the four gates stacked in the order i, f, g, o.) Backward, with δ_t = ∂L/∂h_t
total and γ_t = ∂L/∂c_t total:

    γ_t  = γ from step t+1 (= f_{t+1} ⊙ γ_{t+1})  +  δ_t ⊙ o_t ⊙ (1 − tanh² c_t)
    ∂o = δ_t ⊙ tanh c_t,  ∂i = γ_t ⊙ g_t,  ∂g = γ_t ⊙ i_t,  ∂f = γ_t ⊙ c_{t-1}
    then through each gate's nonlinearity (σ' = σ(1 − σ), tanh' = 1 − tanh²) exactly as in
    the vanilla RNN.

Going back one step along the cell only multiplies by f_t (no weight matrix, no squashing):
with forget gates near 1 the gradient survives many steps. That is why the LSTM helps.
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]
GATES = ("i", "f", "g", "o")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # same function, no overflow for large |a|


def init(D: int, H: int, rng: np.random.Generator, scale: float = 0.3) -> Params:
    """Small random weights (for tests): U_k (H, D), V_k (H, H), b_k (H,) per gate k."""
    p: Params = {}
    for k in GATES:
        p[f"U_{k}"] = rng.normal(0, scale, (H, D))
        p[f"V_{k}"] = rng.normal(0, scale, (H, H))
        p[f"b_{k}"] = rng.normal(0, scale, H)
    return p


def forward(p: Params, xs: np.ndarray, h0: np.ndarray | None = None,
            c0: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """xs (T, D) -> hs (T, H) and a cache holding every gate and c_t, each (T, H)."""
    T, H = len(xs), p["V_i"].shape[0]
    h = np.zeros(H, dtype=xs.dtype) if h0 is None else h0
    c = np.zeros(H, dtype=xs.dtype) if c0 is None else c0
    cache = {k: np.zeros((T, H), dtype=xs.dtype) for k in (*GATES, "c", "h", "h_prev", "c_prev")}
    for t, x in enumerate(xs):
        a = {k: p[f"b_{k}"] + p[f"V_{k}"] @ h + p[f"U_{k}"] @ x for k in GATES}
        i, f, o = _sigmoid(a["i"]), _sigmoid(a["f"]), _sigmoid(a["o"])
        g = np.tanh(a["g"])
        cache["h_prev"][t], cache["c_prev"][t] = h, c
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in zip((*GATES, "c", "h"), (i, f, g, o, c, h)):
            cache[k][t] = v
    cache["xs"] = xs
    return cache["h"], cache


def backward(p: Params, cache: dict, dhs: np.ndarray
             ) -> tuple[Params, np.ndarray, np.ndarray, np.ndarray]:
    """dhs (T, H) = ∂L/∂h_t from the outputs -> (grads, dxs (T, D), dh0 (H,), deltas (T, H)).

    deltas[t] is the total ∂L/∂h_t (future included); dc0 is not returned (the model starts
    every sequence from c_0 = 0).
    """
    xs = cache["xs"]
    H = dhs.shape[1]
    g_ = {k: np.zeros_like(v) for k, v in p.items()}
    dxs = np.zeros_like(xs)
    deltas = np.zeros_like(dhs)
    dh_next = np.zeros(H, dtype=dhs.dtype)
    dc_next = np.zeros(H, dtype=dhs.dtype)
    for t in reversed(range(len(xs))):
        i, f, g, o = (cache[k][t] for k in GATES)
        tc = np.tanh(cache["c"][t])
        delta = dhs[t] + dh_next
        deltas[t] = delta
        gamma = dc_next + delta * o * (1.0 - tc**2)
        da = {
            "i": gamma * g * i * (1.0 - i),
            "f": gamma * cache["c_prev"][t] * f * (1.0 - f),
            "g": gamma * i * (1.0 - g**2),
            "o": delta * tc * o * (1.0 - o),
        }
        dh_next = np.zeros(H, dtype=dhs.dtype)
        for k in GATES:
            g_[f"U_{k}"] += np.outer(da[k], xs[t])
            g_[f"V_{k}"] += np.outer(da[k], cache["h_prev"][t])
            g_[f"b_{k}"] += da[k]
            dxs[t] += p[f"U_{k}"].T @ da[k]
            dh_next += p[f"V_{k}"].T @ da[k]
        dc_next = gamma * f
    return g_, dxs, dh_next, deltas
