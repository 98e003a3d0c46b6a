"""Conditional models: a (bidirectional, stacked) encoder, a tagger/classifier on top of it,
and an encoder–decoder whose context vector C conditions the decoder.

A bidirectional layer runs one RNN forwards (h→_t from x_1 … x_t) and one backwards
(h←_t from x_T … x_t) and gives each step [h→_t ; h←_t], so every step sees the whole
sequence: useful wherever the whole sequence is available (labelling, encoding a call).

Encoder–decoder (as on the lecture's slide, after Cho et al. 2014): the encoder reads the
call x_1 … x_T; its final state gives the context vector
    C = tanh(W_c [h→_T ; h←_1] + b_c)          (per layer; just h_T when unidirectional)
which is the decoder's initial state and is also fed, with the previous output token, to the
decoder at every step, so the answer stays conditioned on the call however long it gets.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..config import ModelConfig
from ..errors import ConfigError
from .rnn import State

_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _torch_cell(cell: str) -> type[nn.Module]:
    """torch's layer for ``cell``. The encoders need torch's packed, bidirectional layers,
    so registered cells (mingru, minlstm, your own) are for language models only."""
    if cell not in _CELLS:
        raise ConfigError(f"cell={cell} is for language models; classify and seq2seq runs use "
                          f"one of {', '.join(_CELLS)}")
    return _CELLS[cell]


def _init_rnn(rnn: nn.Module, cell: str, H: int) -> None:
    """Orthogonal recurrent weights and an LSTM forget bias of 1: the encoder must carry a
    whole call to its last state, so long memory from the start helps here."""
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            for block in p.data.split(H, dim=0):
                nn.init.orthogonal_(block)
        elif name.startswith("weight_ih"):
            nn.init.xavier_uniform_(p.data)
        elif name.startswith("bias"):
            nn.init.zeros_(p.data)
            if cell == "lstm" and name.startswith("bias_ih"):
                p.data[H: 2 * H] = 1.0


class Encoder(nn.Module):
    """embedding -> RNN/GRU/LSTM × num_layers, optionally bidirectional.

    ``forward(x (B, T), lengths (B,))`` returns the outputs (B, T, D·H), zero past each
    length, and the final hidden state per layer (num_layers, B, D·H) with D = 2 when
    bidirectional (forward state at the last real step, backward state at the first).
    """

    def __init__(self, config: ModelConfig, bidirectional: bool):
        super().__init__()
        self.config, self.D = config, 2 if bidirectional else 1
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=0)
        self.rnn = _torch_cell(config.cell)(
            config.embedding_size, config.hidden_size, num_layers=config.num_layers,
            batch_first=True, bidirectional=bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0)
        nn.init.normal_(self.embedding.weight, std=0.1)
        _init_rnn(self.rnn, config.cell, config.hidden_size)

    @property
    def output_size(self) -> int:
        return self.D * self.config.hidden_size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        # packing makes the backward direction start at each sequence's real last token
        packed = pack_padded_sequence(self.embedding(x), lengths.clamp(min=1).cpu(),
                                      batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        h = state[0] if isinstance(state, tuple) else state  # (layers·D, B, H)
        L, B, H = self.config.num_layers, x.size(0), self.config.hidden_size
        final = h.view(L, self.D, B, H).transpose(1, 2).reshape(L, B, self.D * H)
        return out, final


class Tagger(nn.Module):
    """Encoder + linear head: one label per sequence (``per_step=False``: from the top
    layer's final state) or one tag per step (``per_step=True``: from each step's output)."""

    def __init__(self, config: ModelConfig, num_labels: int, bidirectional: bool = True,
                 per_step: bool = False):
        super().__init__()
        self.encoder = Encoder(config, bidirectional)
        self.per_step = per_step
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.encoder.output_size, num_labels)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, T) -> logits (B, T, labels) per step, or (B, labels) per sequence."""
        out, final = self.encoder(x, lengths)
        return self.head(self.drop(out if self.per_step else final[-1]))


class Seq2Seq(nn.Module):
    """Encoder–decoder with a context vector. Encoder and decoder share the vocabulary, the
    cell type, the number of layers and the hidden size; only the encoder may be
    bidirectional."""

    def __init__(self, config: ModelConfig, bidirectional: bool = True):
        super().__init__()
        self.config = config
        H, E = config.hidden_size, config.embedding_size
        self.encoder = Encoder(config, bidirectional)
        self.bridge = nn.Linear(self.encoder.output_size, H)  # W_c, b_c
        self.embedding = nn.Embedding(config.vocab_size, E, padding_idx=0)
        self.decoder = _torch_cell(config.cell)(E + H, H, num_layers=config.num_layers,
                                           batch_first=True,
                                           dropout=config.dropout if config.num_layers > 1 else 0)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(H, config.output_size or config.vocab_size)  # W, c
        nn.init.normal_(self.embedding.weight, std=0.1)
        _init_rnn(self.decoder, config.cell, H)

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[State, torch.Tensor]:
        """The call x (B, T) -> the decoder's initial state and C (B, H) of the top layer."""
        _, final = self.encoder(x, lengths)
        C = torch.tanh(self.bridge(final))  # (num_layers, B, H)
        state = (C, torch.zeros_like(C)) if self.config.cell == "lstm" else C
        return state, C[-1]

    def decode(self, y_prev: torch.Tensor, state: State, C: torch.Tensor
               ) -> tuple[torch.Tensor, State]:
        """Previous tokens y_prev (B, T) given C (B, H) -> logits (B, T, V), new state."""
        e = self.embedding(y_prev)
        inp = torch.cat([e, C.unsqueeze(1).expand(-1, e.size(1), -1)], dim=-1)
        out, state = self.decoder(inp, state)
        return self.head(self.drop(out)), state

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, y_prev: torch.Tensor
                ) -> torch.Tensor:
        """Teacher forcing: the call x (B, T), the answer shifted right y_prev (B, U)
        -> logits (B, U, V) for the answer's tokens."""
        state, C = self.encode(x, lengths)
        logits, _ = self.decode(y_prev, state, C)
        return logits

    @staticmethod
    def select(state: State, index: torch.Tensor) -> State:
        """Rows of a decoder state (beam search reorders and copies hypotheses)."""
        if isinstance(state, tuple):
            return tuple(s[:, index] for s in state)
        return state[:, index]


def num_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__: list[Any] = ["Encoder", "Tagger", "Seq2Seq", "num_parameters"]
