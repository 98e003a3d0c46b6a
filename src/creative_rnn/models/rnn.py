"""SequenceModel: embedding -> stacked RNN / GRU / LSTM -> linear head.

With ``cell="rnn"`` each layer computes the lecture's recurrence
    h_t = tanh(U x_t + V h_{t-1} + b)        (torch: weight_ih = U, weight_hh = V, b = b_ih + b_hh)
and the head computes the logits of
    y_hat_t = softmax(c + W h_t)             (head.weight = W, head.bias = c)
GRU and LSTM replace the recurrence by gated ones. The LSTM's state is a pair (h, c); this
module is the only place that knows it: everything else treats state as an opaque value
passed to ``forward`` and through ``detach_state`` / ``state_tensors``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import ModelConfig

State = Any  # Tensor (rnn, gru) or tuple (h, c) (lstm), each (num_layers, batch, hidden)


class SequenceModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        if config.vocab_size < 1:
            raise ValueError("ModelConfig.vocab_size must be set from the codec")
        self.config = config
        self.output_size = config.output_size or config.vocab_size
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size)
        rnn_cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[config.cell]
        self.rnn = rnn_cls(
            config.embedding_size,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
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
            return
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
        h = torch.zeros(shape, device=device)
        return (h, torch.zeros_like(h)) if self.config.cell == "lstm" else h

    @staticmethod
    def detach_state(state: State) -> State:
        """Cut the graph between truncated-BPTT windows while keeping the values."""
        if state is None:
            return None
        return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    def state_tensors(self, state: State) -> dict[str, torch.Tensor]:
        """State as named tensors, for checkpoints."""
        if self.config.cell == "lstm":
            return {"h": state[0], "c": state[1]}
        return {"h": state}

    def state_from_tensors(self, tensors: dict[str, torch.Tensor]) -> State:
        if self.config.cell == "lstm":
            return (tensors["h"], tensors["c"])
        return tensors["h"]

    def hidden(self, state: State) -> torch.Tensor:
        """The h part of a state, (num_layers, batch, hidden)."""
        return state[0] if self.config.cell == "lstm" else state

    @staticmethod
    def select_state(state: State, index: torch.Tensor) -> State:
        """Rows of the batch (for beam search or dropping finished samples)."""
        if isinstance(state, tuple):
            return tuple(s[:, index] for s in state)
        return state[:, index]

    # --- forward ------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """x: (batch, time) ids -> logits (batch, time, output_size), new state."""
        out, state = self.rnn(self.embedding(x), state)
        return self.head(self.drop(out)), state

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
