"""The GRU layer (Cho et al. 2014), forward and backward, in torch's exact form.

Gates r (reset) and z (update) and a candidate n, each with U_k (H, D), V_k (H, H), b_k (H,):

    r_t = σ(b_r + V_r h_{t-1} + U_r x_t)
    z_t = σ(b_z + V_z h_{t-1} + U_z x_t)
    n_t = tanh(b_n + U_n x_t + r_t ⊙ (V_n h_{t-1} + bh_n))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Mind the candidate: torch applies r to (V_n h_{t-1} + bh_n), its hidden-side bias included,
so that bias cannot be folded into b_n as it can for r and z (where b = b_ih + b_hh). The
reference keeps it as its own parameter ``bh_n``.

Backward, with δ_t = ∂L/∂h_t total:

    ∂n = δ_t ⊙ (1 − z_t),  ∂z = δ_t ⊙ (h_{t-1} − n_t),  ∂h_{t-1} gets δ_t ⊙ z_t directly
    ∂a_n = ∂n ⊙ (1 − n_t²);  m_t = V_n h_{t-1} + bh_n:  ∂r = ∂a_n ⊙ m_t,  ∂m = ∂a_n ⊙ r_t

The direct term δ_t ⊙ z_t is the GRU's gated shortcut through time: with z near 1 the
gradient passes a step back almost unchanged.
"""

from __future__ import annotations

import numpy as np

from .lstm import _sigmoid

Params = dict[str, np.ndarray]
GATES = ("r", "z", "n")


def init(D: int, H: int, rng: np.random.Generator, scale: float = 0.3) -> Params:
    """Small random weights (for tests): U_k, V_k, b_k for k in r, z, n, and bh_n."""
    p: Params = {}
    for k in GATES:
        p[f"U_{k}"] = rng.normal(0, scale, (H, D))
        p[f"V_{k}"] = rng.normal(0, scale, (H, H))
        p[f"b_{k}"] = rng.normal(0, scale, H)
    p["bh_n"] = rng.normal(0, scale, H)
    return p


def forward(p: Params, xs: np.ndarray, h0: np.ndarray | None = None
            ) -> tuple[np.ndarray, dict]:
    """xs (T, D) -> hs (T, H) and a cache holding r, z, n, m and h_{t-1}, each (T, H)."""
    T, H = len(xs), p["V_r"].shape[0]
    h = np.zeros(H, dtype=xs.dtype) if h0 is None else h0
    cache = {k: np.zeros((T, H), dtype=xs.dtype) for k in ("r", "z", "n", "m", "h", "h_prev")}
    for t, x in enumerate(xs):
        r = _sigmoid(p["b_r"] + p["V_r"] @ h + p["U_r"] @ x)
        z = _sigmoid(p["b_z"] + p["V_z"] @ h + p["U_z"] @ x)
        m = p["V_n"] @ h + p["bh_n"]
        n = np.tanh(p["b_n"] + p["U_n"] @ x + r * m)
        cache["h_prev"][t] = h
        h = (1.0 - z) * n + z * h
        for k, v in zip(("r", "z", "n", "m", "h"), (r, z, n, m, h)):
            cache[k][t] = v
    cache["xs"] = xs
    return cache["h"], cache


def backward(p: Params, cache: dict, dhs: np.ndarray
             ) -> tuple[Params, np.ndarray, np.ndarray, np.ndarray]:
    """dhs (T, H) = ∂L/∂h_t from the outputs -> (grads, dxs (T, D), dh0 (H,), deltas (T, H))."""
    xs = cache["xs"]
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dxs = np.zeros_like(xs)
    deltas = np.zeros_like(dhs)
    dh_next = np.zeros(dhs.shape[1], dtype=dhs.dtype)
    for t in reversed(range(len(xs))):
        r, z, n, m, hp = (cache[k][t] for k in ("r", "z", "n", "m", "h_prev"))
        delta = dhs[t] + dh_next
        deltas[t] = delta
        da_n = delta * (1.0 - z) * (1.0 - n**2)
        da_z = delta * (hp - n) * z * (1.0 - z)
        da_r = da_n * m * r * (1.0 - r)
        dm = da_n * r
        for k, da in (("r", da_r), ("z", da_z)):
            g[f"U_{k}"] += np.outer(da, xs[t])
            g[f"V_{k}"] += np.outer(da, hp)
            g[f"b_{k}"] += da
        g["U_n"] += np.outer(da_n, xs[t])
        g["b_n"] += da_n
        g["V_n"] += np.outer(dm, hp)
        g["bh_n"] += dm
        dxs[t] = p["U_r"].T @ da_r + p["U_z"].T @ da_z + p["U_n"].T @ da_n
        dh_next = delta * z + p["V_r"].T @ da_r + p["V_z"].T @ da_z + p["V_n"].T @ dm
    return g, dxs, dh_next, deltas
