"""The parallel form of a linear recurrence, in NumPy: what lets minGRU and minLSTM train
without a loop over time.

A recurrence h_t = a_t ⊙ h_{t−1} + b_t unrolls to

    h_t = A_t ⊙ h_0 + Σ_{s≤t} (A_t / A_s) ⊙ b_s,      A_t = a_1 ⊙ … ⊙ a_t

With a*_t = log A_t = Σ_{s≤t} log a_s (a cumulative sum) and b_s > 0:

    h_t = exp(a*_t) ⊙ h_0 + exp(a*_t + log Σ_{s≤t} exp(log b_s − a*_s))

and ``log Σ_{s≤t} exp(·)`` is a cumulative log-sum-exp (``np.logaddexp.accumulate``). Both
cumulative operations are associative, so on parallel hardware they take O(log T) rounds
instead of T dependent steps (Heinsen 2023, arXiv 2311.06281; Feng et al. 2024, arXiv
2410.01201, appendix). Working in logs keeps the products A_t from underflowing to 0 and the
quotients A_t / A_s from dividing by it. ``models/minimal.py`` is the torch version.
"""

from __future__ import annotations

import numpy as np


def linear_scan(log_a: np.ndarray, log_b: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """h_t = a_t ⊙ h_{t−1} + b_t from log a_t, log b_t (T, H) and h_0 (H,) -> h (T, H)."""
    a_star = np.cumsum(log_a, axis=0)
    return np.exp(a_star + np.logaddexp.accumulate(log_b - a_star, axis=0)) \
        + np.exp(a_star) * h0
