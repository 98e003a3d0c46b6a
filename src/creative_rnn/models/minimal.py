"""minGRU and minLSTM: the GRU and the LSTM with gates that do not look at h_{t-1}.

Feng, Tung, Ahmed, Bengio, Hajimirsadeghi (2024), "Were RNNs All We Needed?", arXiv
2410.01201. Every gate and the candidate depend on x_t only, so for a whole window they are
one matrix product, and the recurrence that is left is linear in h:

    minGRU:   z_t = σ(U_z x_t + b_z)
              h̃_t = g(U_h x_t + b_h)
              h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t

    minLSTM:  f_t = σ(U_f x_t + b_f),  i_t = σ(U_i x_t + b_i)
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
              h̃_t = g(U_h x_t + b_h)
              h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t

with g(a) = a + ½ for a ≥ 0 and σ(a) for a < 0 (the paper's log-space version: g is
positive, so log h̃_t exists, and continuous at 0). There is no V, no weight matrix on
h_{t−1}: going back a step only multiplies by the gate (1 − z_t or f'_t), elementwise.

Both are h_t = a_t ⊙ h_{t−1} + b_t, which unrolls to

    h_t = A_t ⊙ h_0 + Σ_{s≤t} (A_t / A_s) ⊙ b_s,      A_t = a_1 ⊙ … ⊙ a_t

and in logs (a*_t = log A_t = Σ_{s≤t} log a_s, all b_s > 0):

    h_t = exp(a*_t) ⊙ h_0 + exp(a*_t + log Σ_{s≤t} exp(log b_s − a*_s))

one cumulative sum and one ``logcumsumexp`` over time instead of T dependent steps: the
parallel scan of Heinsen (2023, "Efficient parallelization of a ubiquitous sequential
computation", arXiv 2311.06281) that the paper trains with (its appendix, log-space
minGRU/minLSTM). Written here from those equations. Two choices of ours: h_0 enters
linearly, not through its log, so a carried state of any sign works (truncated BPTT starts
each window from the last one's state); and the window is scanned in chunks of ``CHUNK``
steps, each starting from the previous chunk's last h, because float32 loses relative
precision of about |a*_t| · 6e-8 in ``a*_t + log Σ …`` and a*_t grows with the length.

On the CPU the window's h_t = a_t ⊙ h_{t−1} + b_t is instead run step by step over time
(``recurrence``: exp of the same log a_t, log b_t; its backward pass written out), parallel
over the batch and the units only. The recurrence is all that is left of the cell, a
multiply-add per unit and step, and torch's CPU ``logcumsumexp`` and its backward cost more
than the whole loop: a 2x256 minGRU training step took 178 ms with the log-space scan and
~50 ms this way, against 129 ms for the LSTM (benchmarks/cells.py, same run, a shared 2-core
CPU). ``SCAN`` picks ("auto": the loop on the CPU, the log-space scan elsewhere).

Sampling steps one token at a time with the recurrence itself (``step``), the same maths.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .cells import Cell, register

CHUNK = 32  # time steps per log-space scan; the relative error of h grows with it
SCAN = "auto"  # "log" (parallel over time), "loop" (step by step), "auto": loop on the CPU


def g(a: torch.Tensor) -> torch.Tensor:
    """a + ½ for a ≥ 0, σ(a) below: positive and continuous, so the scan can take its log."""
    return torch.where(a >= 0, a + 0.5, torch.sigmoid(a))


def log_g(a: torch.Tensor) -> torch.Tensor:
    """log g(a), both branches finite everywhere (so ``where`` passes finite gradients)."""
    return torch.where(a >= 0, torch.log(F.relu(a) + 0.5), -F.softplus(-a))


def scan_with_logs(t: torch.Tensor) -> bool:
    """Whether a window on ``t``'s device runs the log-space scan (else the loop)."""
    return SCAN == "log" or (SCAN == "auto" and t.device.type != "cpu")


def log_scan(log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor,
             chunk: int = CHUNK) -> torch.Tensor:
    """h_t = a_t ⊙ h_{t−1} + b_t for t = 1 … T, from log a_t, log b_t (batch, T, hidden)
    and h_0 (batch, hidden) -> h (batch, T, hidden): the log-space parallel scan (Heinsen
    2023; module doc), ``chunk`` steps at a time. Needs b_t > 0; h_0 may have any sign."""
    out = []
    for s in range(0, log_a.size(1), chunk):
        a_star = log_a[:, s: s + chunk].cumsum(1)
        h = torch.exp(a_star + torch.logcumsumexp(log_b[:, s: s + chunk] - a_star, 1)) \
            + torch.exp(a_star) * h0.unsqueeze(1)
        out.append(h)
        h0 = h[:, -1]
    return out[0] if len(out) == 1 else torch.cat(out, 1)


class _Recurrence(torch.autograd.Function):
    """h_t = a_t ⊙ h_{t−1} + b_t, one time step after another, and its backward pass:
    with δ_t = ∂L/∂h_t total, δ_t = ∂L/∂h_t (direct) + a_{t+1} ⊙ δ_{t+1}, and then
    ∂L/∂b_t = δ_t, ∂L/∂a_t = δ_t ⊙ h_{t−1}, ∂L/∂h_0 = a_1 ⊙ δ_1. Saves only a and h."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
        h = torch.empty_like(b)
        prev = h0
        for t in range(a.size(1)):
            prev = torch.addcmul(b[:, t], a[:, t], prev, out=h[:, t])
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a, h, h0 = ctx.saved_tensors
        T = a.size(1)
        delta = torch.empty_like(grad_h)
        d = delta[:, T - 1].copy_(grad_h[:, T - 1])
        for t in range(T - 2, -1, -1):
            d = torch.addcmul(grad_h[:, t], a[:, t + 1], d, out=delta[:, t])
        h_prev = torch.cat([h0.unsqueeze(1), h[:, :-1]], 1)
        return delta * h_prev, delta, delta[:, 0] * a[:, 0]


def recurrence(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_t = a_t ⊙ h_{t−1} + b_t from a_t, b_t (batch, T, hidden) and h_0 (batch, hidden),
    step by step over time -> h (batch, T, hidden). Any signs."""
    return _Recurrence.apply(a, b, h0)


def _at_least_float32(a: torch.Tensor) -> torch.Tensor:
    """The scan in float32 (or float64 for a float64 model), also under bf16 autocast."""
    return a.to(torch.promote_types(a.dtype, torch.float32))


class _InputOnly(Cell):
    """A cell whose gates and candidate read x_t only: all of them for a whole window are
    one matrix product with the stacked U_k (and b_k), k in ``blocks``, and what is left is
    h_t = a_t ⊙ h_{t−1} + b_t, with a_t, b_t from ``coefficients`` (the loop) or
    ``log_coefficients`` (the log-space scan)."""

    blocks: tuple[str, ...] = ()

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        for k in self.blocks:
            self.register_parameter(f"U_{k}", nn.Parameter(torch.empty(hidden_size,
                                                                        input_size)))
            self.register_parameter(f"b_{k}", nn.Parameter(torch.empty(hidden_size)))

    def pre(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """x (..., input) -> U_k x + b_k for each k in ``blocks``, each (..., hidden)."""
        U = torch.cat([getattr(self, f"U_{k}") for k in self.blocks])
        b = torch.cat([getattr(self, f"b_{k}") for k in self.blocks])
        return F.linear(x, U, b).chunk(len(self.blocks), -1)

    def coefficients(self, *pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def log_coefficients(self, *pre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def sequence(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pre = [_at_least_float32(a) for a in self.pre(x)]
        h = h.to(pre[0].dtype)
        if scan_with_logs(x):
            hs = log_scan(*self.log_coefficients(*pre), h)
        else:
            hs = recurrence(*self.coefficients(*pre), h)
        return hs, hs[:, -1]


@register
class MinGRU(_InputOnly):
    """minGRU (module doc): z_t = σ(U_z x_t + b_z), h̃_t = g(U_h x_t + b_h),
    h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t."""

    name = "mingru"
    blocks = ("z", "h")
    gates = ("z", "h_tilde")

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        a_z, a_h = self.pre(x_t)
        z, h_tilde = torch.sigmoid(a_z), g(a_h)
        self.show(z=z, h_tilde=h_tilde)
        return (1 - z) * h + z * h_tilde

    def coefficients(self, a_z, a_h):
        z = torch.sigmoid(a_z)
        return torch.sigmoid(-a_z), z * g(a_h)  # 1 − z_t, z_t h̃_t

    def log_coefficients(self, a_z, a_h):
        return -F.softplus(a_z), -F.softplus(-a_z) + log_g(a_h)  # log(1 − z_t), log(z_t h̃_t)


@register
class MinLSTM(_InputOnly):
    """minLSTM (module doc): f'_t, i'_t = f_t, i_t / (f_t + i_t), h̃_t = g(U_h x_t + b_h),
    h_t = f'_t ⊙ h_{t−1} + i'_t ⊙ h̃_t. No cell state and no output gate: h is the memory."""

    name = "minlstm"
    blocks = ("f", "i", "h")
    gates = ("f", "i", "h_tilde")

    def step(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        a_f, a_i, a_h = self.pre(x_t)
        f, i, h_tilde = torch.sigmoid(a_f), torch.sigmoid(a_i), g(a_h)
        self.show(f=f, i=i, h_tilde=h_tilde)
        return (f * h + i * h_tilde) / (f + i)

    def coefficients(self, a_f, a_i, a_h):
        f, i = torch.sigmoid(a_f), torch.sigmoid(a_i)
        return f / (f + i), i / (f + i) * g(a_h)  # f'_t, i'_t h̃_t

    def log_coefficients(self, a_f, a_i, a_h):
        # d = log i_t − log f_t; then f'_t = 1 / (1 + e^d) and i'_t = 1 / (1 + e^−d)
        d = F.softplus(-a_f) - F.softplus(-a_i)
        return -F.softplus(d), -F.softplus(-d) + log_g(a_h)  # log f'_t, log(i'_t h̃_t)
