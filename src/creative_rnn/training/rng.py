"""One seed for all randomness, and the host's random states as plain JSON for checkpoints
(torch's own states are tensors and go into the safetensors file beside the weights)."""

from __future__ import annotations

import random

import numpy as np
import torch

from . import distributed as dist


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_rank(*parts: int) -> None:
    """Random streams of one rank of many, from (seed, rank) or (seed, step, rank): the
    ranks draw different dropout masks, each the same on every run."""
    seed_everything(dist.rank_seed(*parts))


def host_states() -> dict:
    """Python's and NumPy's random states as JSON types."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), pos, has_gauss, cached]}


def set_host_states(states: dict) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(states["numpy"]))
