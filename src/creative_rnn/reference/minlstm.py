"""The minLSTM layer (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201), forward
and backward, in NumPy.

The LSTM's forget and input gates without h_{t-1}, normalised so they sum to one; no cell
state and no output gate (h is the memory). U_k (H, D), b_k (H,), k in f, i, h:

    f_t = σ(b_f + U_f x_t),   i_t = σ(b_i + U_i x_t)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    h̃_t = g(b_h + U_h x_t),      g(a) = a + ½ (a ≥ 0),  σ(a) (a < 0)
    h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t

The normalisation keeps h_t a weighted average of h_{t−1} and h̃_t, so its scale does not
grow with time. Backward, with δ_t = ∂L/∂h_t total and s_t = f_t + i_t:

    δ_t = dhs[t] + δ_{t+1} ⊙ f'_{t+1}
    ∂f' = δ_t ⊙ h_{t−1},  ∂i' = δ_t ⊙ h̃_t,  ∂h̃ = δ_t ⊙ i'_t
    ∂f = (∂f' − ∂i') ⊙ i_t / s_t²,  ∂i = (∂i' − ∂f') ⊙ f_t / s_t²   (the quotient rule)
    ∂a_f = ∂f ⊙ f_t (1 − f_t),  ∂a_i = ∂i ⊙ i_t (1 − i_t),  ∂a_h = ∂h̃ ⊙ g'(a_h)

As in minGRU a step back multiplies δ by a gate only, f'_t.
"""

from __future__ import annotations

import numpy as np

from .lstm import _sigmoid
from .mingru import g, g_prime, init_gates
from .scan import linear_scan

Params = dict[str, np.ndarray]
GATES = ("f", "i", "h")


def init(D: int, H: int, rng: np.random.Generator, scale: float = 0.3) -> Params:
    """Small random weights (for tests): U_k (H, D), b_k (H,) for k in f, i, h."""
    return init_gates(GATES, D, H, rng, scale)


def forward(p: Params, xs: np.ndarray, h0: np.ndarray | None = None
            ) -> tuple[np.ndarray, dict]:
    """xs (T, D) -> hs (T, H) and a cache holding f, i, h̃, a_h and h_{t-1}, each (T, H)."""
    T, H = len(xs), p["b_f"].shape[0]
    h = np.zeros(H, dtype=xs.dtype) if h0 is None else h0
    keys = ("f", "i", "h_tilde", "a_h", "h", "h_prev")
    cache = {k: np.zeros((T, H), dtype=xs.dtype) for k in keys}
    for t, x in enumerate(xs):
        f = _sigmoid(p["b_f"] + p["U_f"] @ x)
        i = _sigmoid(p["b_i"] + p["U_i"] @ x)
        a_h = p["b_h"] + p["U_h"] @ x
        h_tilde = g(a_h)
        cache["h_prev"][t] = h
        h = f / (f + i) * h + i / (f + i) * h_tilde
        for k, v in zip(("f", "i", "h_tilde", "a_h", "h"), (f, i, h_tilde, a_h, h)):
            cache[k][t] = v
    cache["xs"] = xs
    return cache["h"], cache


def parallel(p: Params, xs: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """The same hs (T, H) by the log-space scan (``scan.py``): a_t = f'_t, b_t = i'_t h̃_t."""
    f = _sigmoid(xs @ p["U_f"].T + p["b_f"])
    i = _sigmoid(xs @ p["U_i"].T + p["b_i"])
    h_tilde = g(xs @ p["U_h"].T + p["b_h"])
    h0 = np.zeros(f.shape[1], dtype=xs.dtype) if h0 is None else h0
    return linear_scan(np.log(f / (f + i)), np.log(i / (f + i)) + np.log(h_tilde), h0)


def backward(p: Params, cache: dict, dhs: np.ndarray
             ) -> tuple[Params, np.ndarray, np.ndarray, np.ndarray]:
    """dhs (T, H) = ∂L/∂h_t from the outputs -> (grads, dxs (T, D), dh0 (H,), deltas (T, H))."""
    xs = cache["xs"]
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dxs = np.zeros_like(xs)
    deltas = np.zeros_like(dhs)
    dh_next = np.zeros(dhs.shape[1], dtype=dhs.dtype)
    for t in reversed(range(len(xs))):
        f, i, h_tilde, a_h, hp = (cache[k][t] for k in ("f", "i", "h_tilde", "a_h", "h_prev"))
        s = f + i
        delta = dhs[t] + dh_next
        deltas[t] = delta
        d_fn, d_in = delta * hp, delta * h_tilde  # ∂f', ∂i'
        da = {"f": (d_fn - d_in) * i / s**2 * f * (1.0 - f),
              "i": (d_in - d_fn) * f / s**2 * i * (1.0 - i),
              "h": delta * i / s * g_prime(a_h)}
        for k in GATES:
            grads[f"U_{k}"] += np.outer(da[k], xs[t])
            grads[f"b_{k}"] += da[k]
            dxs[t] += p[f"U_{k}"].T @ da[k]
        dh_next = delta * f / s
    return grads, dxs, dh_next, deltas
