"""The lecture's eigenvalue argument for vanishing and exploding gradients, step by step.

    python examples/eigenvalues.py            # prints the steps, writes eigenvalues.png

A linear recurrence h_t = W h_{t-1} gives h_t = W^t h_0. If W = Q Λ Qᵀ with Q orthogonal,
then W^t = Q Λ^t Qᵀ (the inner Qᵀ Q cancel), so the part of h_0 along eigenvector q_k is
multiplied by λ_k^t: below 1 it vanishes, above 1 it explodes, and after enough steps only
the direction of the largest |λ| is left. Backpropagation multiplies by Wᵀ once per step in
the same way, which is why gradients from far away vanish or explode.
"""

from __future__ import annotations

import numpy as np

from creative_rnn.viz import gradients


def main() -> None:
    lam = (1.1, 0.9, 0.7, 0.5, 0.3)
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    W = Q @ np.diag(lam) @ Q.T
    print("1. W = Q Λ Qᵀ with eigenvalues", lam)
    print("   Q is orthogonal: max |QᵀQ − I| =", f"{np.abs(Q.T @ Q - np.eye(5)).max():.1e}")
    W10 = np.linalg.matrix_power(W, 10)
    print("2. W^10 equals Q Λ^10 Qᵀ: max difference =",
          f"{np.abs(W10 - Q @ np.diag(np.power(lam, 10)) @ Q.T).max():.1e}")

    d = gradients.eigen_demo(lam, steps=20)
    print("3. h_0 has equal parts of every eigenvector; after t steps each part is λ_k^t:")
    for t in (0, 5, 10, 20):
        parts = "  ".join(f"{c:8.2e}" for c in d["components"][t])
        print(f"   t={t:2d}  |q_kᵀ h_t| = {parts}   cos(h_t, q_1) = {d['alignment'][t]:.3f}")
    print("4. the direction of the largest eigenvalue is all that remains; the rest vanished.")
    # the gradient panel needs a model; here the eigenvalue panel stands alone beside a
    # textbook picture: a gradient scaled by 0.9 and by 1.1 per step back
    k = np.arange(60)
    norms = {"‖Vᵀ‖ = 0.9 per step": 0.9**k, "‖Vᵀ‖ = 1.1 per step": 1.1**k}
    print(f"wrote {gradients.plot(norms, d, 'eigenvalues.png')}")


if __name__ == "__main__":
    main()
