"""Checks of a cell's maths, for any cell (built-in or registered): the ones tests/test_reference.py
runs, as functions a student can call on a new cell (examples/custom_cell.py).

* ``finite_differences``: the hand-written BPTT of the NumPy reference against central
  differences (L(θ + ε) − L(θ − ε)) / 2ε, every parameter, float64;
* ``against_torch``: the same weights in the NumPy reference and in a torch ``SequenceModel``:
  equal loss, logits and gradients (autograd).

Each returns the worst relative error per parameter: about 1e-8 or less when the
backward pass is right; a mistake in one term shows as an error near 1 in the tensors it
touches.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import ModelConfig
from ..models import SequenceModel
from .model import ReferenceModel, from_torch, random_model, torch_grads


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖ / (‖a‖ + ‖b‖), 0 when both are 0."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def numerical_grads(ref: ReferenceModel, ids: np.ndarray, targets: np.ndarray,
                    eps: float = 1e-5) -> dict[str, np.ndarray]:
    """Central differences of ``ref.loss`` in every parameter (nudged in place, restored)."""
    out = {}
    for name, p in ref.params().items():
        grad = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = ref.loss(ids, targets)
            p[idx] = old - eps
            down = ref.loss(ids, targets)
            p[idx] = old
            grad[idx] = (up - down) / (2 * eps)
        out[name] = grad
    return out


def _data(vocab: int, T: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids, targets = rng.integers(0, vocab, T), rng.integers(0, vocab, T)
    targets[T // 3] = -1  # a step without loss
    return ids, targets


def finite_differences(cell: str, vocab: int = 7, D: int = 3, H: int = 4, num_layers: int = 2,
                       T: int = 6, seed: int = 0) -> dict[str, float]:
    """Relative error of the hand-written gradients against finite differences, per
    parameter ("E", "W", "c", "l0.U_z", ...), for a small random model of ``cell``."""
    ref = random_model(cell, vocab, D, H, num_layers, seed)
    ids, targets = _data(vocab, T, seed)
    grads, _ = ref.backward(ids, targets)
    num = numerical_grads(ref, ids, targets)
    return {k: rel_error(grads[k], num[k]) for k in num}


@torch.no_grad()
def _jitter(model: torch.nn.Module, scale: float, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():  # off the tidy initialisation, so every term matters
        p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def against_torch(cell: str, vocab: int = 9, D: int = 3, H: int = 5, num_layers: int = 2,
                  T: int = 12, seed: int = 1) -> dict[str, float]:
    """Relative error between the reference and torch autograd (float64, same weights):
    "loss", "logits" and every torch parameter name."""
    torch.manual_seed(seed)
    model = SequenceModel(ModelConfig(cell=cell, num_layers=num_layers, hidden_size=H,
                                      embedding_size=D, vocab_size=vocab, dropout=0.0)).double()
    _jitter(model, 0.3, seed)
    ref = from_torch(model)
    ids, targets = _data(vocab, T, seed)
    logits, _ = model(torch.tensor(ids)[None])
    keep = torch.tensor(targets >= 0)
    loss = torch.nn.functional.cross_entropy(logits[0][keep], torch.tensor(targets)[keep],
                                             reduction="sum")
    loss.backward()
    grads, _ = ref.backward(ids, targets)
    out = {"loss": rel_error(np.array(ref.loss(ids, targets)), np.array(loss.item())),
           "logits": rel_error(ref.forward(ids), logits[0].detach().numpy())}
    mapped = torch_grads(ref, grads)
    for name, p in model.named_parameters():
        out[name] = rel_error(mapped[name], p.grad.numpy())
    return out
