"""The fast step engine: a ``SequenceModel`` (rnn, gru, lstm, mingru or minlstm; any number of
layers) run one token at a time on the CPU by compiled code (see ``kernels.py`` for why Numba).
Other registered cells (models/cells.py) are refused with ``EngineUnsupported``.

* ``StepEngine.from_model(model)`` reads the weights once (a snapshot: later changes to the
  model are not seen); it raises ``EngineUnsupported`` for a model it cannot run, and
  callers then use the eager PyTorch step.
* ``step(ids, state) -> logits, state``: the single step for live use, where each step has
  outside input. Logits agree with ``SequenceModel.forward`` in eval mode within 1e-5.
* ``generate(...)``: the whole sampling loop (temperature, top-k, top-p, greedy, a stop id)
  in compiled code, for one stream or many. Its random numbers come from its own seeded
  generator (SplitMix64), not torch's: the same seed gives the same samples within the
  engine, but not the samples ``torch.multinomial`` would draw. Greedy decoding has no
  randomness and matches the eager path token for token.

State is a pair of float32 arrays ``(h, c)``, each (num_layers, n_streams, hidden); ``c``
is the LSTM's cell and all zeros for the other cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import torch

from ..errors import SamplingError
from . import threads as _threads

State = tuple[np.ndarray, np.ndarray]
_CELLS = {"rnn": 0, "gru": 1, "lstm": 2, "mingru": 3, "minlstm": 4}
_GATES = {"rnn": 1, "gru": 3, "lstm": 4, "mingru": 2, "minlstm": 3}
# the minimal cells (models/minimal.py): per layer U_k, b_k for these k, in this row order,
# read by name from the state dict (``rnn.layers.{n}.U_k``); no weights on h_{t-1}
_INPUT_ONLY = {"mingru": ("z", "h"), "minlstm": ("f", "i", "h")}


class EngineUnsupported(SamplingError):
    """The model has a shape the fast engine does not run (the eager step still does)."""


def _kernels():
    """The compiled kernels, imported (and compiled) on first use; numba is optional."""
    try:
        from . import kernels
    except ImportError as e:  # numba missing or not matching the installed numpy
        raise EngineUnsupported(f"the fast engine needs numba ({e}); pip install numba, "
                                "or use --engine torch") from None
    return kernels


class StepEngine:
    def __init__(self, cell: str, table, U, V, bi, bh, W, c, vocab_size: int,
                 threads: int | None = None):
        self.cell, self.vocab_size = cell, vocab_size
        self._k = _kernels()
        self._w = (table, U, V, bi, bh, W, c)
        self.num_layers, self.hidden_size = V.shape[0], V.shape[2]  # V may have no rows
        self.output_size = W.shape[0]
        # weights read per token: V, the upper layers' U and the head (layer 1's U is a table)
        per_token = V.nbytes + (U.nbytes if V.shape[0] > 1 else 0) + W.nbytes
        self.threads = _threads.choose(threads, per_token)

    @classmethod
    def from_model(cls, model: torch.nn.Module, threads: int | None = None) -> StepEngine:
        """The engine for a ``SequenceModel``: embedding -> nn.RNN/GRU/LSTM -> Linear head.
        ``threads``: cores per step; None lets ``threads.choose`` pick by the weights' size."""
        rnn = getattr(model, "rnn", None)
        cell = {torch.nn.LSTM: "lstm", torch.nn.GRU: "gru", torch.nn.RNN: "rnn"}.get(type(rnn))
        if cell is None and getattr(rnn, "cell", None) in _INPUT_ONLY:
            cell = rnn.cell
        if cell is None or not hasattr(model, "embedding") or not hasattr(model, "head"):
            what = (f"cell {rnn.cell!r}" if isinstance(getattr(rnn, "cell", None), str)
                    else type(model).__name__)
            raise EngineUnsupported(f"the fast engine runs embedding -> "
                                    f"{'/'.join(_CELLS)} -> head models, not {what}; "
                                    "use --engine torch")
        if cell in _INPUT_ONLY:
            return cls._input_only(model, cell, threads)
        if (rnn.bidirectional or not rnn.batch_first or not rnn.bias
                or getattr(rnn, "proj_size", 0) or getattr(rnn, "nonlinearity", "tanh") != "tanh"):
            raise EngineUnsupported("the fast engine runs one-directional tanh layers with "
                                    "biases and no projection; use --engine torch")
        sd = {k: v.detach().to("cpu", torch.float64) for k, v in model.state_dict().items()}
        L, H = rnn.num_layers, rnn.hidden_size
        f32 = lambda t: np.ascontiguousarray(t.numpy(), dtype=np.float32)  # noqa: E731
        # layer 1's input side per id: U_1 E[id] + b_ih, in float64 then rounded once
        table = f32(sd["embedding.weight"] @ sd["rnn.weight_ih_l0"].T + sd["rnn.bias_ih_l0"])
        U = np.stack([f32(sd[f"rnn.weight_ih_l{n}"]) for n in range(1, L)]) if L > 1 \
            else np.zeros((1, _GATES[cell] * H, H), np.float32)  # unused, keeps one type
        V = np.stack([f32(sd[f"rnn.weight_hh_l{n}"]) for n in range(L)])
        bi = np.stack([f32(sd[f"rnn.bias_ih_l{n}"]) for n in range(L)])
        bh = np.stack([f32(sd[f"rnn.bias_hh_l{n}"]) for n in range(L)])
        return cls(cell, table, U, V, bi, bh, f32(sd["head.weight"]), f32(sd["head.bias"]),
                   vocab_size=table.shape[0], threads=threads)

    @classmethod
    def _input_only(cls, model: torch.nn.Module, cell: str, threads: int | None
                    ) -> StepEngine:
        """mingru / minlstm: every gate reads x_t only, so layer 1's whole pre-activation
        is a table row per id, and V is empty (no recurrent product)."""
        sd = {k: v.detach().to("cpu", torch.float64) for k, v in model.state_dict().items()}
        L, H = model.rnn.num_layers, model.rnn.hidden_size
        names = [f"rnn.layers.{n}.{w}_{k}" for n in range(L) for k in _INPUT_ONLY[cell]
                 for w in ("U", "b")]
        layer_keys = {k for k in sd if k.startswith("rnn.")}
        if layer_keys != set(names):
            raise EngineUnsupported(f"this {cell} model's weights are not the ones the fast "
                                    "engine reads; use --engine torch")
        f32 = lambda t: np.ascontiguousarray(t.numpy(), dtype=np.float32)  # noqa: E731

        def stacked(w: str, n: int) -> torch.Tensor:  # U_k or b_k of layer n, gate rows stacked
            return torch.cat([sd[f"rnn.layers.{n}.{w}_{k}"] for k in _INPUT_ONLY[cell]])

        # layer 1 per id: U_1 E[id] + b_1, its whole pre-activation (float64, rounded once)
        table = f32(sd["embedding.weight"] @ stacked("U", 0).T + stacked("b", 0))
        G = _GATES[cell] * H
        U = np.stack([f32(stacked("U", n)) for n in range(1, L)]) if L > 1 \
            else np.zeros((1, G, H), np.float32)  # unused, keeps one type
        V = np.zeros((L, 0, H), np.float32)  # no weights on h_{t-1}
        bi = np.stack([f32(stacked("b", n)) for n in range(L)])
        bh = np.zeros((L, G), np.float32)
        return cls(cell, table, U, V, bi, bh, f32(sd["head.weight"]), f32(sd["head.bias"]),
                   vocab_size=table.shape[0], threads=threads)

    # --- state ------------------------------------------------------------------------
    def init_state(self, n_streams: int = 1) -> State:
        shape = (self.num_layers, n_streams, self.hidden_size)
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)

    @staticmethod
    def select_state(state: State, rows: Sequence[int] | np.ndarray) -> State:
        """Some streams of a state (for dropping finished samples)."""
        rows = np.asarray(rows, np.int64)
        return state[0][:, rows].copy(), state[1][:, rows].copy()

    def to_torch(self, state: State) -> Any:
        """The state in ``SequenceModel``'s form (a tensor, or (h, c) for the LSTM), sharing
        memory with the arrays."""
        h, cs = torch.from_numpy(state[0]), torch.from_numpy(state[1])
        return (h, cs) if self.cell == "lstm" else h

    @staticmethod
    def from_torch(state: Any) -> State | None:
        """A ``SequenceModel`` state (None, a tensor, or (h, c)) as the engine's arrays."""
        if state is None:
            return None
        if isinstance(state, tuple):
            return tuple(np.ascontiguousarray(s.detach().cpu().float().numpy()) for s in state)
        h = np.ascontiguousarray(state.detach().cpu().float().numpy())
        return h, np.zeros_like(h)

    def _pool(self) -> None:
        """Numba's thread count for this calling thread (it is per thread), so a parallel
        step forks exactly ``threads`` workers and not one per core."""
        if self.threads > 1:
            import numba

            numba.set_num_threads(self.threads)

    # --- the single step --------------------------------------------------------------
    def _ids(self, ids: Any) -> np.ndarray:
        a = np.asarray(ids, dtype=np.int64)
        a = a.reshape(1, -1) if a.ndim < 2 else a  # one stream: an id or a list of ids
        if a.size and (a.min() < 0 or a.max() >= self.vocab_size):
            raise SamplingError(f"token ids must be in 0..{self.vocab_size - 1}")
        return np.ascontiguousarray(a)

    def _feed(self, ids: np.ndarray, state: State) -> np.ndarray:
        """Feed ids (n, T) in order, state updated in place; logits (n, out) after the last."""
        n = ids.shape[0]
        G = self._w[0].shape[1]
        logits = np.empty((n, self.output_size), np.float32)
        gi, gh = np.empty((n, G), np.float32), np.empty((n, G), np.float32)
        h, cs = state
        h_new = np.empty((n, self.hidden_size), np.float32)
        self._pool()
        if self.threads > 1:
            one = partial(self._k.step_threads, _CELLS[self.cell], self.threads)
            scratch = (gi, gh, h_new)
        else:
            one, scratch = partial(self._k.step, _CELLS[self.cell]), (gi, gh)
        for t in range(ids.shape[1]):
            one(ids[:, t].copy(), h, cs, *self._w, logits, *scratch)
        return logits

    def step(self, ids: Any, state: State | None = None) -> tuple[np.ndarray, State]:
        """ids: one id, a list of ids for one stream, or (n_streams, T) -> logits
        (n_streams, output_size) after the last id, and the new state (the given state is
        left as it was)."""
        ids = self._ids(ids)
        if ids.shape[1] == 0:
            raise SamplingError("step needs at least one id")
        state = self.init_state(ids.shape[0]) if state is None else \
            (state[0].copy(), state[1].copy())
        return self._feed(ids, state), state

    # --- whole-loop sampling ----------------------------------------------------------
    def start(self, prime_ids: Sequence[int], num_streams: int = 1) -> tuple[np.ndarray, State]:
        """Feed the prime to ``num_streams`` fresh streams: logits (n, V) and the state."""
        ids = self._ids([list(prime_ids)] * num_streams)
        if ids.shape[1] == 0:
            raise SamplingError("the prime needs at least one id")
        state = self.init_state(num_streams)
        return self._feed(ids, state), state

    @staticmethod
    def rng(seed: int) -> np.ndarray:
        """The engine's random state for ``seed`` (a 64-bit counter, SplitMix64)."""
        return np.array([seed % 2**64], dtype=np.uint64)

    def sample(self, logits: np.ndarray, state: State, n_tokens: int, rng: np.ndarray,
               alive: np.ndarray, temperature: float = 1.0, top_k: int = 0,
               top_p: float = 1.0, greedy: bool = False, stop_id: int | None = None,
               banned: Sequence[int] = (), step_last: bool = False) -> np.ndarray:
        """Up to ``n_tokens`` per stream from ``logits`` (n, V), which, the state, ``rng``
        and ``alive`` (n,) bool are updated in place so calls chain. Returns ids
        (n, steps), -1 where a stream had stopped; fewer steps when all stopped."""
        if self.output_size != self.vocab_size:
            raise EngineUnsupported("this model predicts other values than it reads, so its "
                                    "samples cannot be fed back; step it instead")
        n = logits.shape[0]
        G = self._w[0].shape[1]
        mask = np.zeros(self.vocab_size, np.bool_)
        mask[list(banned)] = True
        out = np.empty((n, n_tokens), np.int64)
        gi, gh = np.empty((n, G), np.float32), np.empty((n, G), np.float32)
        h_new = np.empty((n, self.hidden_size), np.float32)
        self._pool()
        taken = self._k.generate(
            _CELLS[self.cell], self.threads, n_tokens, state[0], state[1], *self._w, mask,
            float(temperature), int(top_k), float(top_p), bool(greedy), rng,
            -1 if stop_id is None else int(stop_id), alive, bool(step_last), out, logits,
            gi, gh, h_new)
        return out[:, :taken]

    def generate(self, prime_ids: Sequence[int], n_tokens: int, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, greedy: bool = False, seed: int = 0,
                 num_streams: int = 1, stop_id: int | None = None,
                 banned: Sequence[int] = ()) -> list[list[int]]:
        """``num_streams`` samples of up to ``n_tokens`` new ids each after the prime (a
        stream ends after it draws ``stop_id``, which is kept); ``banned`` ids are never
        drawn."""
        logits, state = self.start(prime_ids, num_streams)
        alive = np.ones(num_streams, np.bool_)
        out = self.sample(logits, state, n_tokens, self.rng(seed), alive, temperature, top_k,
                          top_p, greedy, stop_id, banned)
        return [[int(t) for t in row if t >= 0] for row in out]
