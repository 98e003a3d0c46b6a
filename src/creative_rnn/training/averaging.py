"""Weight averaging (Polyak and Juditsky 1992): an exponential moving average of the
parameters, kept beside them while training and used wherever the run is judged or read.

The optimizer's last steps leave the weights jittering around a minimum; their average
sits nearer its middle. With ``ema = d`` each optimizer step moves the average a fraction
``1 - d_t`` of the way to the new weights, where ``d_t = min(d, (1 + t) / (10 + t))`` lets
the average follow quickly in the first steps (the schedule of TensorFlow's
ExponentialMovingAverage with ``num_updates``), so it is a function of the step alone and a
resumed run needs only the averaged tensors.

The trainer evaluates, keeps the best of, and writes for readers the averaged weights; it
trains the raw ones, and saves both for an exact resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ..errors import CheckpointError


class WeightAverage:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        named = list(model.named_parameters())
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.average = [p.detach().clone() for p in self.params]

    def decay_at(self, step: int) -> float:
        """The decay used by the update after optimizer step ``step`` (1-based)."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        torch._foreach_lerp_(self.average, [p.detach() for p in self.params],
                             1.0 - self.decay_at(step))

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The model holds the averaged weights inside the block, its own after it."""
        with torch.no_grad():
            own = [p.detach().clone() for p in self.params]
            torch._foreach_copy_(self.params, self.average)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(self.params, own)

    def state_dict(self, model_sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``model_sd`` (the model's state_dict) with the averages in place of the weights."""
        return {**model_sd, **dict(zip(self.names, self.average))}

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f"average.{n}": a for n, a in zip(self.names, self.average)}

    def load(self, tensors: dict[str, torch.Tensor]) -> None:
        missing = [n for n in self.names if f"average.{n}" not in tensors]
        if missing:
            raise CheckpointError(f"the checkpoint has no averaged weights for {missing[0]} "
                                  "(ema was set on a run saved without it); cannot resume")
        with torch.no_grad():
            for n, a in zip(self.names, self.average):
                a.copy_(tensors[f"average.{n}"])
