"""A preset that fits the machine it runs on: with a time budget on the CPU, ``small``
chooses its width and batch from what this machine does in its first seconds.

``small`` was tuned by 10-minute races on a 2-core CPU with native bf16 (README,
Benchmarks): 2x384 won there, at about 150 ms a step, some 4,000 optimizer steps in the
budget. A slower machine (the common AVX2 laptop kind, where bf16 is emulated and fp32 is
used) gets fewer steps in the same minutes, and the measured lead of the preset over the
plain 2x256 script fell from 0.052 to 0.021 nats there: the tuned width is too wide for the
steps it gets. A faster one (AMX) gets nearly twice the steps, and there batch 32 levelled
off early where batch 64 went on learning. So before training, ``fit`` times a few training
steps in the precision the run will use: the tuned width at batch 64, then the ladder of
widths at the preset's batch, and takes the first whose step leaves ``MIN_STEPS`` steps in
the budget (three quarters of the tuned recipe's count), or the ladder's last.

Fitting says what it does before it starts (on a busy machine one rung's five steps can take
many seconds), and its time is part of the budget: the run's ``max_minutes`` is what is
left after it. It stops timing once it has used ``FIT_SHARE`` of the budget: a machine that
slow gets the ladder's last rung.

Only keys the user did not set are chosen (``--set hidden_size=...`` or ``batch_size`` always
wins), only for a language model with ``--max-minutes`` (a step budget already says how much
to do), and only on the CPU (a GPU runs ``medium``/``large``). The choice is printed and given
to the configuration's resolver as layers ("fitted to the machine",
config_layers.resolve_layers), so config.json records it with its reason: a resume, the run's
readers and ``creative-rnn config RUN`` see what it trained with and why.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..config import ModelConfig, TrainConfig
from ..config_layers import Layer
from ..core.device import autocast_for
from ..models import SequenceModel

TIMING_VOCAB = 96  # the corpus is not read yet; a text vocabulary's size (the head costs little)
# preset -> widths to try, widest (the tuned one) first
LADDER: dict[str, tuple[int, ...]] = {"small": (384, 320, 256, 192)}
# preset -> the batch a machine takes when the tuned width still makes MIN_STEPS steps at it:
# on a 2-core Xeon with AMX (7,752 steps of 2x384 at batch 32 in 10 minutes) batch 64 reached
# 1.4111 nats/char where batch 32 reached 1.4301, same run (README, Benchmarks)
BIG_BATCH: dict[str, int] = {"small": 64}
# the tuned 2x384 recipe made about 4,000 steps in its winning 10 minutes; a quarter less is
# allowed, so a machine as fast as that one, a little disturbed, keeps the tuned width
MIN_STEPS = 3000
TIMED_STEPS, WARMUP_STEPS = 3, 2  # a second or two per width on a 2-core CPU
# the most of the budget fitting may take (30 s of 10 minutes); on a busy 2-core machine five
# rungs of five steps once took ~100 s, uncounted, before a run that then trained
FIT_SHARE = 0.05


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
        timer: Callable[..., float] = step_seconds,
        clock: Callable[[], float] = time.perf_counter) -> list[Layer]:
    """What this machine changes in the configs, as layers for the resolver: none unless
    ``preset`` has a ladder, the run has a time budget on the CPU and ``hidden_size`` and
    ``batch_size`` are not both ``pinned``; then the first rung whose measured step leaves
    ``MIN_STEPS`` steps in the budget (the last if none does). The rungs: the tuned width at
    ``BIG_BATCH`` (a machine fast enough for it), then the ladder's widths at the preset's
    batch. The time fitting took (by ``clock``) is taken off ``max_minutes``, a limit over
    the user's own value."""
    ladder = LADDER.get(preset or "")
    if (not ladder or not train_cfg.max_minutes or device.type != "cpu"
            or {"hidden_size", "batch_size"} <= pinned):
        return []
    if "hidden_size" in pinned:
        ladder = (model_cfg.hidden_size,)
    elif model_cfg.hidden_size != ladder[0]:  # not the preset's width: nothing tuned to fit
        return []
    rungs = [(w, train_cfg.batch_size) for w in ladder]
    if "batch_size" not in pinned and preset in BIG_BATCH:
        rungs.insert(0, (ladder[0], BIG_BATCH[preset]))
    budget_s = train_cfg.max_minutes * 60
    layers = model_cfg.num_layers
    log(f"fitting preset {preset} to this machine: timing a few training steps of "
        f"{layers}x{rungs[0][0]} at batch {rungs[0][1]}, then narrower if it is slow (part of "
        f"the {train_cfg.max_minutes:g} min; --set hidden_size=N, --set batch_size=N to skip)")
    began = clock()
    tried = []
    for width, batch in rungs:
        if clock() - began > FIT_SHARE * budget_s:  # too slow to time more: the last rung
            width, batch = rungs[-1]
            tried.append(f"timing stopped after {clock() - began:.0f} s")
            break
        seconds = timer(dataclasses.replace(model_cfg, hidden_size=width),
                        dataclasses.replace(train_cfg, batch_size=batch), device)
        tried.append(f"{width}x{batch}: {seconds * 1e3:.0f} ms")
        if budget_s / seconds >= MIN_STEPS or (width, batch) == rungs[-1]:
            break
    spent = clock() - began
    # the budget is the user's wall clock: what fitting took is not trained (a little is
    # always left, so the run still evaluates and writes its weights)
    left = max(train_cfg.max_minutes - spent / 60, train_cfg.max_minutes * FIT_SHARE)
    why = (f"a training step at width x batch {', '.join(tried)}; {MIN_STEPS:,} steps wanted "
           f"in {train_cfg.max_minutes:g} min")
    log(f"preset {preset} fitted: {layers}x{width}, batch {batch} ({why}); fitting took "
        f"{spent:.0f} s, {left:.2f} min left to train")
    chosen = {k: v for k, v in (("hidden_size", width), ("batch_size", batch))
              if k not in pinned}
    return [Layer("fitted to the machine", chosen, "fitted", dict.fromkeys(chosen, why)),
            Layer("fitted to the machine", {"max_minutes": left}, "limit",
                  {"max_minutes": f"fitting took {spent:.0f} s of the "
                                  f"{train_cfg.max_minutes:g} min"})]
