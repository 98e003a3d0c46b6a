"""Per-step activations of a SequenceModel over one sequence: what the cells are doing.

``nn.RNN``/``nn.GRU``/``nn.LSTM`` only return the top layer's h for every step, so this module
replays each layer one step at a time from the layer's own weights (torch's gate order:
LSTM rows i, f, g, o; GRU rows r, z, n) and records everything the lecture draws:

    rnn:   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    gru:   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
           n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    lstm:  i, f, o = σ(·),  g = tanh(·),  c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)

The replay is checked against ``model.rnn`` in the tests (same h to float precision).
"""

from __future__ import annotations

import numpy as np
import torch

from ..models import SequenceModel

GATES = {"rnn": (), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}


def keys_for(cell: str) -> list[str]:
    """The names ``collect`` returns for a cell type, in display order."""
    if cell == "lstm":
        return ["tanh_c", "h", "c", "i", "f", "o", "g"]
    return ["h", *GATES[cell]]


@torch.no_grad()
def collect(model: SequenceModel, ids: list[int]) -> dict[str, np.ndarray]:
    """Run ``model`` over one sequence of token ids (batch 1, eval mode, zero initial state).

    Returns float32 arrays, each (num_layers, T, hidden): "h" for every cell; for LSTM also
    "c", "tanh_c", "i", "f", "o", "g"; for GRU "r", "z", "n". Dropout is off (eval mode);
    the model's own training flag is restored afterwards.
    """
    cfg = model.config
    L, H, T = cfg.num_layers, cfg.hidden_size, len(ids)
    was_training = model.training
    model.eval()
    try:
        dev = model.head.weight.device
        x = model.embedding(torch.tensor([list(ids)], dtype=torch.long, device=dev))[0]  # (T, E)
        out = {k: np.zeros((L, T, H), dtype=np.float32) for k in keys_for(cfg.cell)}
        for layer in range(L):
            w_ih = getattr(model.rnn, f"weight_ih_l{layer}")
            w_hh = getattr(model.rnn, f"weight_hh_l{layer}")
            b_ih = getattr(model.rnn, f"bias_ih_l{layer}")
            b_hh = getattr(model.rnn, f"bias_hh_l{layer}")
            gx = x @ w_ih.T + b_ih  # input contributions for all steps at once, (T, G*H)
            h = torch.zeros(H, device=dev)
            c = torch.zeros(H, device=dev)
            hs = []
            for t in range(T):
                gh = w_hh @ h + b_hh
                rec = {}
                if cfg.cell == "rnn":
                    h = torch.tanh(gx[t] + gh)
                elif cfg.cell == "gru":
                    xr, xz, xn = gx[t].split(H)
                    hr, hz, hn = gh.split(H)
                    r = torch.sigmoid(xr + hr)
                    z = torch.sigmoid(xz + hz)
                    n = torch.tanh(xn + r * hn)  # torch puts r inside, on W_hn h + b_hn
                    h = (1 - z) * n + z * h
                    rec = {"r": r, "z": z, "n": n}
                else:
                    i, f, g, o = (gx[t] + gh).split(H)
                    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
                    c = f * c + i * g
                    tc = torch.tanh(c)
                    h = o * tc
                    rec = {"i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": tc}
                rec["h"] = h
                hs.append(h)
                for k, v in rec.items():
                    out[k][layer, t] = v.float().cpu().numpy()
            x = torch.stack(hs) if hs else x.new_zeros((0, H))  # next layer reads this h
        return out
    finally:
        model.train(was_training)
