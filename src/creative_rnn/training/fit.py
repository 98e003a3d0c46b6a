"""A preset that fits the machine it runs on: with a time budget on the CPU, ``small``
chooses its width from what this machine does in its first seconds.

``small`` was tuned by 10-minute races on a 2-core CPU with native bf16 (README,
Benchmarks): 2x384 won there, at about 150 ms a step, some 4,000 optimizer steps in the
budget. A slower machine (the common AVX2 laptop kind, where bf16 is emulated and fp32 is
used) gets fewer steps in the same minutes, and the measured lead of the preset over the
plain 2x256 script fell from 0.052 to 0.021 nats there: the tuned width is too wide for the
steps it gets. So before training, ``fit`` times a few training steps of the preset's width
in the precision the run will use, and steps down a ladder of widths until the budget holds
``MIN_STEPS`` steps of it (three quarters of the tuned recipe's count), or the ladder ends.

Only keys the user did not set are chosen (``--set hidden_size=...`` always wins), only for
a language model with ``--max-minutes`` (a step budget already says how much to do), and
only on the CPU (a GPU runs ``medium``/``large``). The choice is printed and written to the
run's config.json, so a resume and the run's readers see the width it trained with.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..config import ModelConfig, TrainConfig
from ..core.device import autocast_for
from ..models import SequenceModel

TIMING_VOCAB = 96  # the corpus is not read yet; a text vocabulary's size (the head costs little)
# preset -> widths to try, widest (the tuned one) first
LADDER: dict[str, tuple[int, ...]] = {"small": (384, 320, 256, 192)}
# the tuned 2x384 recipe made about 4,000 steps in its winning 10 minutes; a quarter less is
# allowed, so a machine as fast as that one, a little disturbed, keeps the tuned width
MIN_STEPS = 3000
TIMED_STEPS, WARMUP_STEPS = 3, 2  # a second or two per width on a 2-core CPU


def step_seconds(model_cfg: ModelConfig, train_cfg: TrainConfig, device: torch.device,
                 steps: int = TIMED_STEPS, warmup: int = WARMUP_STEPS) -> float:
    """Seconds per training step (forward, loss, backward, clipping, fused AdamW) of this
    model at this batch and window, in the run's precision, on random ids; the best step."""
    torch.manual_seed(0)
    model_cfg = dataclasses.replace(model_cfg, vocab_size=model_cfg.vocab_size or TIMING_VOCAB)
    model = SequenceModel(model_cfg).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device.type in ("cpu", "cuda"))
    V, B, T = model_cfg.vocab_size, train_cfg.batch_size, train_cfg.seq_len
    x, y = (torch.randint(0, V, (B, T), device=device) for _ in range(2))
    autocast = autocast_for(device, train_cfg.precision)
    best = float("inf")
    for n in range(warmup + steps):
        t0 = time.perf_counter()
        with autocast:
            logits, _ = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if n >= warmup:
            best = min(best, time.perf_counter() - t0)
    return best


def fit(preset: str | None, model_cfg: ModelConfig, train_cfg: TrainConfig,
        device: torch.device, pinned: set[str], log: Callable[[str], None] = print,
        timer: Callable[..., float] = step_seconds) -> ModelConfig:
    """The model config for this machine: ``model_cfg`` itself unless ``preset`` has a
    ladder, the run has a time budget on the CPU and ``hidden_size`` is not ``pinned``;
    then the widest width of the ladder whose measured step leaves ``MIN_STEPS`` steps in
    the budget (the narrowest if none does)."""
    ladder = LADDER.get(preset or "")
    if (not ladder or not train_cfg.max_minutes or device.type != "cpu"
            or "hidden_size" in pinned or model_cfg.hidden_size != ladder[0]):
        return model_cfg
    budget_s = train_cfg.max_minutes * 60
    tried = []
    for width in ladder:
        candidate = dataclasses.replace(model_cfg, hidden_size=width)
        seconds = timer(candidate, train_cfg, device)
        tried.append(f"{width}: {seconds * 1e3:.0f} ms")
        if budget_s / seconds >= MIN_STEPS or width == ladder[-1]:
            break
    if width != model_cfg.hidden_size:
        log(f"preset {preset} fitted to this machine: {model_cfg.num_layers}x{width} "
            f"(a training step {', '.join(tried)}; {MIN_STEPS:,} steps wanted in "
            f"{train_cfg.max_minutes:g} min; --set hidden_size=N to choose)")
    return candidate
