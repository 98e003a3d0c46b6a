"""The lecture's equations as code you can check: the NumPy reference, step by step.

    python examples/gradient_check.py

1. a vanilla RNN in NumPy: h_t = tanh(b + V h_{t-1} + U x_t), ŷ_t = softmax(c + W h_t),
   L = Σ_t −log ŷ_t[y_t];
2. its gradients by hand-written backpropagation through time, compared with finite
   differences (L(θ + ε) − L(θ − ε)) / 2ε;
3. the same for GRU and LSTM, and the same weights in PyTorch: equal logits, equal
   gradients from autograd.
"""

from __future__ import annotations

import numpy as np
import torch

from creative_rnn import reference
from creative_rnn.config import ModelConfig
from creative_rnn.models import SequenceModel


def finite_difference(ref, ids, targets, name, idx, eps=1e-5):
    p = ref.params()[name]
    old = p[idx]
    p[idx] = old + eps
    up = ref.loss(ids, targets)
    p[idx] = old - eps
    down = ref.loss(ids, targets)
    p[idx] = old
    return (up - down) / (2 * eps)


def main() -> None:
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, 8, 10), rng.integers(0, 8, 10)
    for cell in ("rnn", "gru", "lstm"):
        ref = reference.random_model(cell, vocab=8, D=4, H=6, seed=1)
        grads, _ = ref.backward(ids, targets)
        print(f"{cell}: L = {ref.loss(ids, targets):.6f}")
        for name in list(ref.params())[:6]:
            idx = (0,) * ref.params()[name].ndim
            num = finite_difference(ref, ids, targets, name, idx)
            print(f"   ∂L/∂{name}{list(idx)}: BPTT {grads[name][idx]:+.9f}   "
                  f"finite difference {num:+.9f}")

        torch.manual_seed(0)
        model = SequenceModel(ModelConfig(cell=cell, num_layers=2, hidden_size=6,
                                          embedding_size=4, vocab_size=8, dropout=0.0)).double()
        ref = reference.from_torch(model)
        logits, _ = model(torch.tensor(ids)[None])
        torch.nn.functional.cross_entropy(logits[0], torch.tensor(targets), reduction="sum"
                                          ).backward()
        mine = reference.torch_grads(ref, ref.backward(ids, targets)[0])
        worst = max(np.abs(mine[n] - p.grad.numpy()).max() for n, p in model.named_parameters())
        print(f"   vs PyTorch (2 layers): logits differ by "
              f"{np.abs(ref.forward(ids) - logits[0].detach().numpy()).max():.1e}, "
              f"gradients by {worst:.1e}")


if __name__ == "__main__":
    main()
