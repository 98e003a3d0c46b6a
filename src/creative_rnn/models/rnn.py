"""SequenceModel: embedding -> stacked RNN / GRU / LSTM (or a registered cell) -> linear head.

With ``cell="rnn"`` each layer computes the lecture's recurrence
    h_t = tanh(U x_t + V h_{t-1} + b)        (torch: weight_ih = U, weight_hh = V, b = b_ih + b_hh)
and the head computes the logits of
    y_hat_t = softmax(c + W h_t)             (head.weight = W, head.bias = c)
GRU and LSTM replace the recurrence by gated ones; they run on torch's nn.GRU / nn.LSTM.
Any other cell (mingru, minlstm, your own: ``cells.py``) is a registered ``Cell``, stacked
by ``cells.CellStack`` as ``self.rnn``. The LSTM's state is a pair (h, c) (a registered cell
names its parts in ``Cell.state``); this module is the only place that knows it: everything
else treats state as an opaque value passed to ``forward`` and through ``detach_state`` /
``state_tensors``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import ModelConfig
from ..errors import ConfigError
from . import cells, minimal  # noqa: F401  (minimal registers mingru and minlstm)
from .dropout import FastDropout, fast_dropout

State = Any  # Tensor (rnn, gru, one-part cells) or tuple (lstm: (h, c); a registered cell's
# Cell.state parts), each (num_layers, batch, hidden)


class SequenceModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        if config.vocab_size < 1:
            raise ValueError("ModelConfig.vocab_size must be set from the codec")
        self.config = config
        self.output_size = config.output_size or config.vocab_size
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        dropout = config.dropout if config.num_layers > 1 else 0.0
        if config.cell in cells.BUILT_IN:
            rnn_cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[config.cell]
            self.rnn = rnn_cls(config.embedding_size, config.hidden_size,
                               num_layers=config.num_layers, batch_first=True, dropout=dropout)
            self.parts = ("h", "c") if config.cell == "lstm" else ("h",)
        else:
            cell = cells.get(config.cell)
            if config.weight_drop > 0 and not cell.recurrent:
                raise ConfigError(f"weight_drop masks the weights on h_(t-1), and cell="
                                  f"{config.cell} has none; set weight_drop=0")
            self.rnn = cells.CellStack(cell, config.embedding_size, config.hidden_size,
                                       config.num_layers, dropout)
            self.parts = cell.state
        self.drop = FastDropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, self.output_size)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's own initialisation (embedding N(0, 1); input, recurrent and head weights
        uniform in ±1/sqrt(hidden)) with the LSTM forget-gate bias set to ``forget_bias``.

        A bias of 1 makes a fresh cell remember (Jozefowicz et al. 2015) and is the default
        for long dependencies; on tiny-shakespeare 0 learned faster (0.09 nats better after
        400 steps), and orthogonal recurrent weights or a small embedding were slower too,
        so the text presets use 0 and nothing else is changed."""
        if self.config.cell != "lstm":
            return  # a registered cell initialises itself (Cell.reset_parameters)
        H = self.config.hidden_size
        for layer in range(self.config.num_layers):
            b_ih = getattr(self.rnn, f"bias_ih_l{layer}").data
            b_hh = getattr(self.rnn, f"bias_hh_l{layer}").data
            b_ih[H: 2 * H] = self.config.forget_bias  # gate order i, f, g, o
            b_hh[H: 2 * H] = 0.0

    # --- state: the one place that knows LSTM state is a pair --------------------------
    def init_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        device = device or self.head.weight.device
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        h = torch.zeros(shape, device=device, dtype=self.head.weight.dtype)
        return (h, *(torch.zeros_like(h) for _ in self.parts[1:])) if len(self.parts) > 1 else h

    @staticmethod
    def detach_state(state: State) -> State:
        """Cut the graph between truncated-BPTT windows while keeping the values."""
        if state is None:
            return None
        return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    def state_tensors(self, state: State) -> dict[str, torch.Tensor]:
        """State as named tensors, for checkpoints ("h", and "c" for the LSTM)."""
        if len(self.parts) > 1:
            return dict(zip(self.parts, state))
        return {"h": state}

    def state_from_tensors(self, tensors: dict[str, torch.Tensor]) -> State:
        if len(self.parts) > 1:
            return tuple(tensors[p] for p in self.parts)
        return tensors["h"]

    def hidden(self, state: State) -> torch.Tensor:
        """The h part of a state, (num_layers, batch, hidden)."""
        return state[0] if len(self.parts) > 1 else state

    @staticmethod
    def select_state(state: State, index: torch.Tensor) -> State:
        """Rows of the batch (for beam search or dropping finished samples)."""
        if isinstance(state, tuple):
            return tuple(s[:, index] for s in state)
        return state[:, index]

    # --- forward ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """x: (batch, time) ids -> logits (batch, time, output_size), new state."""
        emb = self.embedding(x)
        if isinstance(self.rnn, cells.CellStack):
            out, state = self.rnn(emb, state, self.config.weight_drop)
        elif x.size(1) == 1 and not self.training and x.device.type == "cpu":
            out, state = self._one_token(emb, state)
        elif self.training and (self.config.weight_drop > 0
                              or self.rnn.dropout > 0 and x.device.type == "cpu"):
            out, state = self._layer_by_layer(emb, state)
        else:
            out, state = self.rnn(emb, state)
        return self.head(self.drop(out)), state

    def step(self, ids: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """One token per row, the recurrence's step form (what sampling does after the
        prime): ids (batch,) -> logits (batch, output_size), new state."""
        logits, state = self(ids.unsqueeze(1), state)
        return logits[:, 0], state

    _STEP = {"rnn": torch.rnn_tanh, "gru": torch.gru, "lstm": torch.lstm}
    _CELL = {"rnn": torch.rnn_tanh_cell, "gru": torch.gru_cell, "lstm": torch.lstm_cell}

    def _one_token(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One token through the stack with the cells' own step ops (what sampling does
        after the prime). The same maths as ``self.rnn``, which on the CPU hands even one
        step to oneDNN's sequence primitive: its set-up cost 282 us for a 2x128 LSTM step
        where ``torch.lstm_cell`` per layer takes 59 (2 cores, AVX512; sampling_overhead.py
        measures the generator against a bare nn.LSTM loop)."""
        cfg, rnn, lstm = self.config, self.rnn, self.config.cell == "lstm"
        if state is None:
            state = self.init_state(x.size(0), x.device)
        step, h_t, finals = self._CELL[cfg.cell], x[:, 0], []
        for layer in range(cfg.num_layers):
            U, V, b_ih, b_hh = (getattr(rnn, f"{kind}_l{layer}")
                                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            if lstm:
                final = step(h_t, (state[0][layer], state[1][layer]), U, V, b_ih, b_hh)
                h_t = final[0]
            else:
                final = h_t = step(h_t, state[layer], U, V, b_ih, b_hh)
            finals.append(final)
        if lstm:
            return h_t.unsqueeze(1), tuple(torch.stack([f[i] for f in finals]) for i in (0, 1))
        return h_t.unsqueeze(1), torch.stack(finals)

    def _layer_by_layer(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The stacked recurrence one layer at a time with fast_dropout between layers: the
        same computation as ``self.rnn`` in training mode, without the CPU's slow Bernoulli
        masks (see dropout.py), and the place where weight drop masks V. The GPU keeps
        ``self.rnn`` unless weight drop is on, as its cuDNN dropout is fused."""
        cfg, rnn, lstm = self.config, self.rnn, self.config.cell == "lstm"
        if state is None:
            state = self.init_state(x.size(0), x.device)
        finals = []
        for layer in range(cfg.num_layers):
            if layer:
                x = fast_dropout(x, rnn.dropout)
            U, V, b_ih, b_hh = (getattr(rnn, f"{kind}_l{layer}")
                                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            weights = [U, fast_dropout(V, cfg.weight_drop), b_ih, b_hh]
            hx = tuple(s[layer: layer + 1] for s in state) if lstm else state[layer: layer + 1]
            x, *final = self._STEP[cfg.cell](x, hx, weights, True, 1, 0.0, True, False, True)
            finals.append(final)
        if lstm:
            return x, tuple(torch.cat([f[i] for f in finals]) for i in range(2))
        return x, torch.cat([f[0] for f in finals])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
