"""Page faults and step time of CPU training with and without creative_rnn's memory settings
(memory.py). The settings are per process, so each measurement is a fresh child process
(``python -m creative_rnn.bench.allocator``) running the `small` preset's training step:
2x384 LSTM, batch 32 x 100, dropout and weight drop, clipping, fused AdamW, bf16 where the
CPU has it. Without the settings means turned off from outside the child
(THP_MEM_ALLOC_ENABLE=0 and an empty GLIBC_TUNABLES, which creative_rnn leaves alone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def step_probe(steps: int) -> dict:
    """ms and minor page faults per training step in this process, after 3 warm-up steps.
    Imported here, not above: the probe runs in a fresh child whose memory settings must be
    in place before torch (and the package) load."""
    import resource
    import time

    import torch
    import torch.nn.functional as F

    from ..config import PRESETS, ModelConfig
    from ..core.device import autocast_for
    from ..core.memory import applied
    from ..models import SequenceModel

    small = PRESETS["small"]
    keys = ("cell", "num_layers", "hidden_size", "embedding_size", "dropout", "weight_drop",
            "forget_bias")
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(vocab_size=65, **{k: small[k] for k in keys}))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    B, T = small["batch_size"], small["seq_len"]
    x, y = torch.randint(0, 65, (B, T)), torch.randint(0, 65, (B, T))
    amp = autocast_for(torch.device("cpu"), "auto")
    state = None
    model.train()

    def step() -> None:
        nonlocal state
        with amp:
            logits, s = model(x, state)
        loss = F.cross_entropy(logits.float().reshape(-1, 65), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state = model.detach_state(s)

    for _ in range(3):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    ms = (time.perf_counter() - t0) / steps * 1e3
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps
    return {"ms": ms, "faults": faults, "applied": dict(applied)}


def measure(steps: int, settings: bool) -> dict:
    """``step_probe`` in a new process, with creative_rnn's memory settings or without."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("THP_MEM_ALLOC_ENABLE", "GLIBC_TUNABLES")}
    if not settings:
        env.update(THP_MEM_ALLOC_ENABLE="0", GLIBC_TUNABLES="")
    out = subprocess.run([sys.executable, "-m", __name__, str(steps)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(step_probe(int(sys.argv[1]))))
