"""Many processes (GPUs, machines) with DistributedDataParallel, started by torchrun.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK in each process's environment; without them
(a plain `creative-rnn train`, the Python API, the web studio) every helper here is a no-op
and nothing about a single-process run changes: no process group, no wrapper, same numbers.

Small objects travel as JSON in byte tensors, not through torch's object collectives,
which pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from ..errors import ConfigError

DIGEST_ENV = "CREATIVE_RNN_RANK_DIGESTS"  # tests: a folder where each rank writes its digest


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def shard(self, batch_size: int) -> slice:
        """This rank's lanes (or documents) of a global batch."""
        n = batch_size // self.size
        return slice(self.rank * n, (self.rank + 1) * n)


def world() -> World:
    """The process group if one is up, else what torchrun put in the environment."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(),
                     int(os.environ.get("LOCAL_RANK", 0)))
    env = os.environ
    return World(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)),
                 int(env.get("LOCAL_RANK", 0)))


def is_main() -> bool:
    return world().main


def check_batch(batch_size: int, w: World) -> None:
    if batch_size % w.size:
        raise ConfigError(f"batch_size={batch_size} is the global batch and must divide evenly "
                          f"among the {w.size} processes; use a multiple of {w.size}")


def setup(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group (NCCL for CUDA, gloo for the CPU) when started by torchrun;
    each process takes the GPU of its local rank."""
    w = world()
    if not w.active:
        return w, device
    if device.type == "cuda":
        device = torch.device("cuda", w.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world(), device


def teardown() -> None:
    """Leave the process group once every rank is done with it: a rank that destroys its
    gloo pairs while another still talks to it can abort in gloo's threads."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if world().active:
        dist.barrier()


def _comm_device() -> torch.device:
    # NCCL moves only CUDA tensors; gloo moves CPU ones
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def agree(flag: bool, value: float) -> tuple[bool, float]:
    """Any rank's flag (a Ctrl-C, a stop event) and rank 0's value (elapsed seconds), on
    every rank, so all ranks take the same branch and the same schedule."""
    t = torch.tensor([float(flag), value if world().main else 0.0], dtype=torch.float64,
                     device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t[0].item()), float(t[1].item())


def broadcast_float(value: float) -> float:
    t = torch.tensor([value], dtype=torch.float64, device=_comm_device())
    dist.broadcast(t, src=0)
    return float(t.item())


def mean(value: float) -> float:
    t = torch.tensor([value], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def all_gather(t: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's tensor (same shape and dtype on all ranks), back on t's device."""
    src = t.detach().contiguous().to(_comm_device())
    out = [torch.empty_like(src) for _ in range(dist.get_world_size())]
    dist.all_gather(out, src)
    return [o.to(t.device) for o in out]


def gather_json(obj) -> list:
    """Every rank's small JSON-able object, in rank order."""
    data = torch.tensor(list(json.dumps(obj).encode()), dtype=torch.uint8)
    sizes = all_gather(torch.tensor([len(data)]))
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros(longest, dtype=torch.uint8)
    padded[: len(data)] = data
    return [json.loads(bytes(p[: int(s.item())].tolist()).decode())
            for p, s in zip(all_gather(padded), sizes)]


def rank_seed(*parts: int) -> int:
    """A seed for one rank's random streams, derived from (seed, rank) or (seed, step, rank)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def write_digest(model: torch.nn.Module, w: World) -> None:
    """Tests: each rank writes a digest of its weights to $CREATIVE_RNN_RANK_DIGESTS/rankR.txt,
    so a test can see that the ranks stayed identical."""
    folder = os.environ.get(DIGEST_ENV)
    if not folder:
        return
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().numpy().tobytes())
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"rank{w.rank}.txt").write_text(h.hexdigest() + "\n", encoding="utf-8")
