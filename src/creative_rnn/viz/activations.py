"""Per-step activations of a SequenceModel over one sequence: what the cells are doing.

``nn.RNN``/``nn.GRU``/``nn.LSTM`` only return the top layer's h for every step, so this module
replays each layer one step at a time from the layer's own weights (torch's gate order:
LSTM rows i, f, g, o; GRU rows r, z, n) and records everything the lecture draws:

    rnn:   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    gru:   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
           n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    lstm:  i, f, o = σ(·),  g = tanh(·),  c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)

A registered cell (mingru, minlstm, your own: models/cells.py) is replayed through its own
``step``, recording its state parts and what it passes to ``Cell.show`` (its ``gates``):

    mingru:  z, h_tilde;   minlstm:  f, i, h_tilde

The replay is checked against ``model.rnn`` in the tests (same h to float precision).
"""

from __future__ import annotations

import numpy as np
import torch

from ..models import SequenceModel
from ..models import cells as registry

GATES = {"rnn": (), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}


def keys_for(cell: str) -> list[str]:
    """The names ``collect`` returns for a cell type, in display order."""
    if cell == "lstm":
        return ["tanh_c", "h", "c", "i", "f", "o", "g"]
    if cell in GATES:
        return ["h", *GATES[cell]]
    cls = registry.get(cell)
    return [*cls.state, *cls.gates]


@torch.no_grad()
def collect(model: SequenceModel, ids: list[int]) -> dict[str, np.ndarray]:
    """Run ``model`` over one sequence of token ids (batch 1, eval mode, zero initial state).

    Returns float32 arrays, each (num_layers, T, hidden): "h" for every cell; for LSTM also
    "c", "tanh_c", "i", "f", "o", "g"; for GRU "r", "z", "n"; for a registered cell its
    state parts and gates (``keys_for``). Dropout is off (eval mode);
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
        if cfg.cell not in GATES:
            _replay_cells(model.rnn.layers, x, out)
            return out
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


def _replay_cells(layers, x: torch.Tensor, out: dict[str, np.ndarray]) -> None:
    """Each registered cell's ``step`` over x (T, input) from a zero state, recording its
    state parts and the values it shows, into ``out`` (num_layers, T, hidden) in place."""
    for n, cell in enumerate(layers):
        zero = x.new_zeros((1, cell.hidden_size))
        state = tuple(zero for _ in cell.state) if len(cell.state) > 1 else zero
        hs = []
        for t in range(x.size(0)):
            with cell.recording() as shown:
                state = cell.step(x[t: t + 1], state)
            parts = state if isinstance(state, tuple) else (state,)
            for k, v in (*zip(cell.state, parts), *shown.items()):
                out[k][n, t] = v[0].float().cpu().numpy()
            hs.append(parts[0][0])
        x = torch.stack(hs) if hs else x.new_zeros((0, cell.hidden_size))
