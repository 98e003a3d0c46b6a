"""Learning-rate schedule: linear warm-up, then cosine decay to a floor.

A pure function of progress so a resumed run needs no scheduler state. Progress is the
share of the step budget used, or of the time budget when the run has one (whichever is
further along), so a ``--max-minutes`` run anneals fully inside its time.
"""

from __future__ import annotations

import math


def progress(step: int, max_steps: int, elapsed_s: float = 0.0, max_seconds: float = 0.0) -> float:
    p = step / max_steps
    if max_seconds > 0:
        p = max(p, elapsed_s / max_seconds)
    return min(max(p, 0.0), 1.0)


def learning_rate(step: int, lr: float, warmup_steps: int, min_lr_ratio: float,
                  frac: float) -> float:
    """lr at optimizer step ``step`` (0-based) with ``frac`` of the budget used."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
    return lr * warm * (min_lr_ratio + (1.0 - min_lr_ratio) * cosine)
