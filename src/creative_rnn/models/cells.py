"""Cells by name: your own recurrent unit, and how the rest of the package finds it.

The lecture's gated-units slide ends with "alternative unit design: project idea?". This is
where such a unit goes. The built-in rnn, gru and lstm run on torch's own ``nn.RNN``,
``nn.GRU`` and ``nn.LSTM`` (cuDNN on a GPU) and are not in this registry; every other cell,
including minGRU and minLSTM (``minimal.py``), is a ``Cell`` subclass registered by name:

    import torch
    from torch import nn
    from creative_rnn.models import Cell, register

    @register
    class Leaky(Cell):
        name = "leaky"      # config: cell=leaky (--set cell=leaky)
        gates = ("n",)      # what step shows the activation view, in display order
        recurrent = ("V",)  # weights on h_{t-1}: the ones weight_drop masks

        def __init__(self, input_size: int, hidden_size: int):
            super().__init__(input_size, hidden_size)
            H, D = hidden_size, input_size
            self.U, self.V = nn.Parameter(torch.empty(H, D)), nn.Parameter(torch.empty(H, H))
            self.b, self.a = nn.Parameter(torch.empty(H)), nn.Parameter(torch.empty(H))

        def step(self, x_t, h):               # x_t (batch, D), h (batch, H) -> new h
            n = torch.tanh(x_t @ self.U.T + h @ self.V.T + self.b)
            self.show(n=n)
            alpha = torch.sigmoid(self.a)
            return (1 - alpha) * h + alpha * n

What picks it up, with no edit elsewhere (examples/custom_cell.py is the whole exercise):

* config: ``register`` adds the name to ``config.CELLS``, so ``cell=leaky`` validates;
* training and sampling: ``SequenceModel`` stacks ``num_layers`` of it (``CellStack``):
  dropout between layers and before the head, weight drop on ``recurrent``, the state
  carried between calls. ``sequence(x, state)`` runs the whole window; by default it loops
  ``step``, and a cell whose recurrence can be computed in parallel (minGRU's scan) overrides
  it. One new token is always one ``step``. The compiled CPU engine runs only the built-in
  cells: sampling a registered cell uses the eager torch step (``EngineUnsupported``);
* the activation view: ``viz.activations.collect`` records ``h``, the other state parts and
  whatever ``step`` passes to ``show``;
* the reference checks: give the class a ``reference``, an object with ``init``, ``forward``
  and ``backward`` in NumPy (the interface of ``reference/rnn.py``), and ``reference.from_torch``,
  ``random_model``, ``torch_grads`` and ``reference.check`` work for it (parameter names are
  the cell's own, e.g. ``U``, ``V``, ``b``).

A run of a registered cell is read back (``rundir.load_run``, ``creative-rnn sample``) in a
process where the cell is registered: import the module that defines it first.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .. import config as _config
from ..errors import ConfigError
from .dropout import fast_dropout

BUILT_IN = ("rnn", "gru", "lstm")  # torch's own layers; never in the registry

CellState = Any  # a (batch, hidden) tensor, or a tuple of them in ``Cell.state`` order


class Cell(nn.Module):
    """One layer of a recurrent cell: ``step(x_t, state) -> state``.

    Class attributes a subclass sets:
      name       the config's ``cell=`` value
      gates      names ``step`` passes to ``show`` (the activation view), display order
      state      parts of the state, "h" first (the output); ("h", "c") for an LSTM-like cell
      recurrent  parameter names of weights on h_{t-1}, which ``weight_drop`` masks
      reference  the NumPy form (``init``, ``forward``, ``backward``) for the reference checks
    """

    name: str = ""
    gates: tuple[str, ...] = ()
    state: tuple[str, ...] = ("h",)
    recurrent: tuple[str, ...] = ()
    reference: Any = None

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self._shown: dict[str, torch.Tensor] | None = None

    def reset_parameters(self) -> None:
        """torch's initialisation of its RNN layers: every parameter uniform in ±1/sqrt(H).
        Override for another; called once the layer's parameters exist."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def step(self, x_t: torch.Tensor, state: CellState) -> CellState:
        """One time step: x_t (batch, input) and the state -> the new state."""
        raise NotImplementedError(f"cell {self.name!r} must define step(x_t, state)")

    def sequence(self, x: torch.Tensor, state: CellState) -> tuple[torch.Tensor, CellState]:
        """A whole window: x (batch, time, input), the state before it -> h for every step
        (batch, time, hidden) and the state after the last. This default loops ``step``."""
        hs = []
        for t in range(x.size(1)):
            state = self.step(x[:, t], state)
            hs.append(state[0] if isinstance(state, tuple) else state)
        return torch.stack(hs, 1), state

    def forward(self, x: torch.Tensor, state: CellState) -> tuple[torch.Tensor, CellState]:
        return self.sequence(x, state)

    # --- the activation view ------------------------------------------------------------
    def show(self, **values: torch.Tensor) -> None:
        """Make per-step values (gates, candidates) visible to the activation view; a no-op
        unless it is recording. Names must be in ``gates``."""
        if self._shown is not None:
            unknown = set(values) - set(self.gates)
            if unknown:
                raise ValueError(f"cell {self.name!r} shows {sorted(unknown)}, which are not "
                                 f"in its gates {self.gates}")
            self._shown.update(values)

    @contextlib.contextmanager
    def recording(self) -> Iterator[dict[str, torch.Tensor]]:
        """``with cell.recording() as shown: cell.step(...)``: what ``show`` got."""
        self._shown = {}
        try:
            yield self._shown
        finally:
            self._shown = None


_REGISTRY: dict[str, type[Cell]] = {}


def register(cls: type[Cell]) -> type[Cell]:
    """Make a ``Cell`` subclass available as ``cell=<cls.name>`` (a class decorator).
    Registering the same class again (a re-imported module) replaces it."""
    if not (isinstance(cls, type) and issubclass(cls, Cell)):
        raise TypeError(f"register takes a Cell subclass, not {cls!r}")
    name = cls.name
    if not (isinstance(name, str) and name.isidentifier() and name.islower()):
        raise ValueError(f"a cell's name must be a lower-case identifier, got {name!r}")
    if name in BUILT_IN:
        raise ValueError(f"{name!r} is a built-in cell (torch's own layer); choose another name")
    old = _REGISTRY.get(name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__,
                                                                  cls.__qualname__):
        raise ValueError(f"cell {name!r} is already registered by {old.__module__}."
                         f"{old.__qualname__}")
    if not cls.state or cls.state[0] != "h" or len(set(cls.state)) != len(cls.state):
        raise ValueError(f"cell {name!r}: state must name distinct parts, 'h' first, "
                         f"got {cls.state!r}")
    if set(cls.gates) & set(cls.state):
        raise ValueError(f"cell {name!r}: gates {cls.gates} and state {cls.state} share names")
    _REGISTRY[name] = cls
    # ModelConfig.validate accepts the names in config.CELLS (read when it runs)
    if name not in _config.CELLS:
        _config.CELLS = (*_config.CELLS, name)
    return cls


def get(name: str) -> type[Cell]:
    """The registered cell class of ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"no cell {name!r} is registered (registered: "
                          f"{', '.join(_REGISTRY) or 'none'}); import the module that "
                          "defines it first") from None


def names() -> tuple[str, ...]:
    """Every cell name: the built-in ones, then the registered ones."""
    return (*BUILT_IN, *_REGISTRY)


def is_registered(name: str) -> bool:
    return name in _REGISTRY


# --- the stack ----------------------------------------------------------------------------
class CellStack(nn.Module):
    """``num_layers`` registered cells, each reading the one below: the part of a
    ``SequenceModel`` that ``nn.LSTM`` is for the built-in cells.

    State: a (num_layers, batch, hidden) tensor, or a tuple of them (``Cell.state`` order).
    In training, dropout ``p`` zeroes each layer's input above the first (as torch's RNN
    dropout does) and ``weight_drop`` masks the cell's ``recurrent`` weights, one mask per
    call shared by every step and row (DropConnect, as the built-in cells do).
    """

    def __init__(self, cell: type[Cell], input_size: int, hidden_size: int, num_layers: int,
                 dropout: float = 0.0):
        super().__init__()
        self.cell, self.parts = cell.name, cell.state
        self.num_layers, self.hidden_size, self.dropout = num_layers, hidden_size, dropout
        self.layers = nn.ModuleList(cell(input_size if n == 0 else hidden_size, hidden_size)
                                    for n in range(num_layers))
        for layer in self.layers:
            layer.reset_parameters()

    def _layer_state(self, state: Any, n: int) -> CellState:
        return tuple(s[n] for s in state) if isinstance(state, tuple) else state[n]

    def _stack(self, finals: list[CellState]) -> Any:
        if len(self.parts) > 1:
            return tuple(torch.stack([f[i] for f in finals]) for i in range(len(self.parts)))
        return torch.stack(finals)

    def init_state(self, batch_size: int, like: torch.Tensor) -> Any:
        """Zeros: (num_layers, batch, hidden), one per state part."""
        h = like.new_zeros((self.num_layers, batch_size, self.hidden_size))
        return tuple(torch.zeros_like(h) for _ in self.parts) if len(self.parts) > 1 else h

    def forward(self, x: torch.Tensor, state: Any = None, weight_drop: float = 0.0
                ) -> tuple[torch.Tensor, Any]:
        """x (batch, time, input), state (see the class; None: zeros) -> top layer's h
        (batch, time, hidden), the new state. One time step is the cell's ``step``."""
        if state is None:
            state = self.init_state(x.size(0), x)
        finals = []
        for n, layer in enumerate(self.layers):
            if n and self.training:
                x = fast_dropout(x, self.dropout)
            s = self._layer_state(state, n)
            if self.training and weight_drop > 0 and layer.recurrent:
                masked = {k: fast_dropout(getattr(layer, k), weight_drop)
                          for k in layer.recurrent}
                x, s = torch.func.functional_call(layer, masked, (x, s))
            elif x.size(1) == 1:
                s = layer.step(x[:, 0], s)
                x = (s[0] if isinstance(s, tuple) else s).unsqueeze(1)
            else:
                x, s = layer.sequence(x, s)
            finals.append(s)
        return x, self._stack(finals)
