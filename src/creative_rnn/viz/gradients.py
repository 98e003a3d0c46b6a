"""Vanishing gradients, measured: ‖∂L_T/∂h_t‖ against T − t, and the eigenvalue picture.

The lecture's "long-term dependencies" slide says the gradient reaching h_t from a loss at
step T is a product of T − t Jacobians, so its norm shrinks (or grows) geometrically with
the distance. ``through_time`` measures it with the reference BPTT (``reference.model``):
for windows of real data it puts a loss only on the last step, L_T = −log ŷ_T[y_T], and
reads δ_t = ∂L_T/∂h_t of the top layer for every earlier t. ``measure`` does that for the
trained model and for freshly initialised RNN, GRU and LSTM of the same size (the project's
own initialisation, ``SequenceModel.reset_parameters``).

The eigenvalue demonstration is the slide's algebra: with W = Q Λ Qᵀ (Q orthogonal),
h_t = W^t h_0 = Q Λ^t Qᵀ h_0, so the component of h_0 along eigenvector k is scaled by λ_k^t:
everything off the largest eigenvector dies away relative to it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..config import TrainConfig, from_dict
from ..data.cache import prepare
from ..errors import UserError
from ..models import SequenceModel
from ..reference import from_torch
from ..rundir import load_run
from .curves import save_png


def through_time(model: SequenceModel, windows: np.ndarray) -> np.ndarray:
    """Geometric mean over windows of ‖∂L_T/∂h_t‖ (top layer), indexed by distance T − t.

    windows: (n, T + 1) token ids; the first T are the input, the last is the target of the
    final step. Returns (T,): entry k is the norm k steps before the loss.
    """
    ref = from_torch(model)
    T = windows.shape[1] - 1
    logs = []
    for w in windows:
        targets = np.full(T, -1)
        targets[-1] = w[-1]
        _, deltas = ref.backward(w[:T], targets)
        norms = np.linalg.norm(deltas[-1], axis=1)[::-1]  # distance 0 first
        logs.append(np.log(np.maximum(norms, 1e-300)))
    return np.exp(np.mean(logs, axis=0))  # geometric mean: one odd window cannot dominate


def decay_rate(norms: np.ndarray) -> float:
    """How fast the norm vanishes: −slope of log‖δ‖ per step, fitted over distances ≥ T/4
    (skipping the first steps, where the LSTM's output gate gives a one-off drop)."""
    k = np.arange(len(norms))
    far = k >= len(norms) // 4
    return float(-np.polyfit(k[far], np.log(norms[far]), 1)[0])


def windows_from_run(run_dir: str | Path, length: int, count: int, seed: int = 0,
                     codec=None, text: str | Path | None = None) -> np.ndarray:
    """``count`` windows of ``length`` + 1 ids from ``text`` or the run's validation data."""
    if text is not None:
        if not Path(text).is_file():
            raise UserError(f"{text} does not exist; give --text a file in the run's kind of data")
        ids = np.asarray(codec.encode(codec.read(text), unknown="skip"))
    else:
        cfg = load_run(run_dir, device=None)[2]
        train_cfg = from_dict(TrainConfig, cfg["train"])
        _, val = prepare(cfg["corpus"], codec, fit=False).split(train_cfg.val_fraction,
                                                              train_cfg.doc_max_len)
        ids = val.stream if val.stream is not None else np.concatenate(val.docs)
    if len(ids) < length + 1:
        raise UserError(f"only {len(ids)} tokens to measure on; use --length below {len(ids)} "
                        "or a longer --text")
    starts = np.random.default_rng(seed).integers(0, len(ids) - length, size=count)
    return np.stack([np.asarray(ids[s: s + length + 1], dtype=np.int64) for s in starts])


def measure(run_dir: str | Path, length: int = 100, count: int = 8, seed: int = 0,
            text: str | Path | None = None, last: bool = False) -> dict[str, np.ndarray]:
    """Norms by distance for the trained model ("trained <cell>") and fresh "rnn", "gru",
    "lstm" of the same size, all on the same windows. Values are (length,) arrays."""
    model, codec, _ = load_run(run_dir, last=last, device="cpu")
    windows = windows_from_run(run_dir, length, count, seed, codec, text)
    result = {f"trained {model.config.cell}": through_time(model, windows)}
    for cell in ("rnn", "gru", "lstm"):
        torch.manual_seed(seed)
        fresh = SequenceModel(dataclasses.replace(model.config, cell=cell)).eval()
        result[f"fresh {cell}"] = through_time(fresh, windows)
    return result


def eigen_demo(eigenvalues: tuple[float, ...] = (1.1, 0.9, 0.7, 0.5, 0.3), steps: int = 20,
               seed: int = 0) -> dict[str, np.ndarray]:
    """h_t = W^t h_0 with W = Q Λ Qᵀ, by repeated multiplication.

    Returns "components" (steps + 1, n): |q_kᵀ h_t| for each eigenvector (largest first),
    "theory" (steps + 1, n): |q_kᵀ h_0| λ_k^t, "alignment" (steps + 1,): cos(h_t, q_1),
    and "eigenvalues".
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    n = len(lam)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))  # a random orthogonal basis
    W = Q @ np.diag(lam) @ Q.T
    h = Q @ np.ones(n) / np.sqrt(n)  # equal parts of every eigenvector
    hs = [h]
    for _ in range(steps):
        h = W @ h
        hs.append(h)
    hs = np.array(hs)
    comps = np.abs(hs @ Q)
    t = np.arange(steps + 1)[:, None]
    theory = np.abs(Q.T @ hs[0])[None, :] * np.abs(lam)[None, :] ** t
    top = int(np.argmax(np.abs(lam)))
    align = comps[:, top] / np.linalg.norm(hs, axis=1)
    return {"components": comps, "theory": theory, "alignment": align, "eigenvalues": lam}


def plot(norms: dict[str, np.ndarray], eigen: dict[str, np.ndarray], out: str | Path) -> Path:
    """Two panels: gradient norm by distance (log scale), and the eigen-components over t."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    for i, (name, v) in enumerate(norms.items()):
        a.semilogy(np.arange(len(v)), v / v[0], color=f"C{i}", lw=2.5 if "trained" in name else 1.5,
                   label=f"{name} (decay {decay_rate(v):.3f}/step)")
    a.set_xlabel("distance T − t (steps back from the loss)")
    a.set_ylabel("‖∂L_T/∂h_t‖ / ‖∂L_T/∂h_T‖")
    a.set_title("gradient through time")
    a.grid(alpha=0.3, which="both")
    a.legend(fontsize=8)
    for k, lam in enumerate(eigen["eigenvalues"]):
        b.semilogy(eigen["components"][:, k], color=f"C{k}", label=f"λ = {lam:g}")
        b.semilogy(eigen["theory"][:, k], color=f"C{k}", ls=":", lw=1)
    b.set_xlabel("t")
    b.set_ylabel("|q_kᵀ h_t|  (dotted: |q_kᵀ h_0| λ_k^t)")
    b.set_title("h_t = W^t h_0, W = Q Λ Qᵀ")
    b.grid(alpha=0.3, which="both")
    b.legend(fontsize=8)
    return save_png(fig, out)
