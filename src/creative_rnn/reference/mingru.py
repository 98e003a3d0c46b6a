"""The minGRU layer (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201), forward
and backward, in NumPy.

The GRU's update gate z and candidate without h_{t-1} (and without the reset gate), each with
U_k (H, D) and b_k (H,), k in z, h:

    z_t = σ(b_z + U_z x_t)
    h̃_t = g(b_h + U_h x_t),      g(a) = a + ½ (a ≥ 0),  σ(a) (a < 0)
    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t

g keeps h̃ positive so that the parallel form (``parallel`` below, ``scan.py``) can work with
log h̃; the torch model trains with that form and samples with this recurrence.

Backward, with δ_t = ∂L/∂h_t total:

    δ_t = dhs[t] + δ_{t+1} ⊙ (1 − z_{t+1})
    ∂z = δ_t ⊙ (h̃_t − h_{t−1}),  ∂h̃ = δ_t ⊙ z_t
    ∂a_z = ∂z ⊙ z_t (1 − z_t),   ∂a_h = ∂h̃ ⊙ g'(a_h),  g'(a) = 1 (a ≥ 0), σ(a)(1 − σ(a)) (a < 0)

Going back one step multiplies δ by (1 − z_t) only: no weight matrix, no squashing. That is
the whole recurrence; everything else is a function of x_t alone, which is why training can
compute all steps at once.
"""

from __future__ import annotations

import numpy as np

from .lstm import _sigmoid
from .scan import linear_scan

Params = dict[str, np.ndarray]
GATES = ("z", "h")


def g(a: np.ndarray) -> np.ndarray:
    return np.where(a >= 0, a + 0.5, _sigmoid(a))


def g_prime(a: np.ndarray) -> np.ndarray:
    s = _sigmoid(a)
    return np.where(a >= 0, 1.0, s * (1.0 - s))


def init_gates(gates: tuple[str, ...], D: int, H: int, rng: np.random.Generator,
               scale: float = 0.3) -> Params:
    """Small random weights (for tests): U_k (H, D), b_k (H,) for each k in ``gates`` (the
    minimal cells' only parameters: every gate reads x_t alone)."""
    p: Params = {}
    for k in gates:
        p[f"U_{k}"] = rng.normal(0, scale, (H, D))
        p[f"b_{k}"] = rng.normal(0, scale, H)
    return p


def init(D: int, H: int, rng: np.random.Generator, scale: float = 0.3) -> Params:
    """Small random weights (for tests): U_k (H, D), b_k (H,) for k in z, h."""
    return init_gates(GATES, D, H, rng, scale)


def forward(p: Params, xs: np.ndarray, h0: np.ndarray | None = None
            ) -> tuple[np.ndarray, dict]:
    """xs (T, D) -> hs (T, H) and a cache holding z, h̃, a_h and h_{t-1}, each (T, H)."""
    T, H = len(xs), p["b_z"].shape[0]
    h = np.zeros(H, dtype=xs.dtype) if h0 is None else h0
    cache = {k: np.zeros((T, H), dtype=xs.dtype) for k in ("z", "h_tilde", "a_h", "h", "h_prev")}
    for t, x in enumerate(xs):
        z = _sigmoid(p["b_z"] + p["U_z"] @ x)
        a_h = p["b_h"] + p["U_h"] @ x
        h_tilde = g(a_h)
        cache["h_prev"][t] = h
        h = (1.0 - z) * h + z * h_tilde
        for k, v in zip(("z", "h_tilde", "a_h", "h"), (z, h_tilde, a_h, h)):
            cache[k][t] = v
    cache["xs"] = xs
    return cache["h"], cache


def parallel(p: Params, xs: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """The same hs (T, H) with no loop over the recurrence: a_t = 1 − z_t, b_t = z_t h̃_t and
    the log-space scan (``scan.py``)."""
    z = _sigmoid(xs @ p["U_z"].T + p["b_z"])
    h_tilde = g(xs @ p["U_h"].T + p["b_h"])
    h0 = np.zeros(z.shape[1], dtype=xs.dtype) if h0 is None else h0
    return linear_scan(np.log1p(-z), np.log(z) + np.log(h_tilde), h0)


def backward(p: Params, cache: dict, dhs: np.ndarray
             ) -> tuple[Params, np.ndarray, np.ndarray, np.ndarray]:
    """dhs (T, H) = ∂L/∂h_t from the outputs -> (grads, dxs (T, D), dh0 (H,), deltas (T, H))."""
    xs = cache["xs"]
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dxs = np.zeros_like(xs)
    deltas = np.zeros_like(dhs)
    dh_next = np.zeros(dhs.shape[1], dtype=dhs.dtype)
    for t in reversed(range(len(xs))):
        z, h_tilde, a_h, hp = (cache[k][t] for k in ("z", "h_tilde", "a_h", "h_prev"))
        delta = dhs[t] + dh_next
        deltas[t] = delta
        da_z = delta * (h_tilde - hp) * z * (1.0 - z)
        da_h = delta * z * g_prime(a_h)
        for k, da in (("z", da_z), ("h", da_h)):
            grads[f"U_{k}"] += np.outer(da, xs[t])
            grads[f"b_{k}"] += da
        dxs[t] = p["U_z"].T @ da_z + p["U_h"].T @ da_h
        dh_next = delta * (1.0 - z)
    return grads, dxs, dh_next, deltas
