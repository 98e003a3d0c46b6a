"""A progress bar for long work: step, loss, validation loss, tokens/s and ETA."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """Wraps tqdm. The ETA follows whichever budget (steps or minutes) ends first."""

    def __init__(self, max_steps: int, max_seconds: float, step: int, elapsed: float,
                 enabled: bool = True):
        self.max_steps, self.max_seconds = max_steps, max_seconds
        self.start_step, self.start_elapsed = step, elapsed
        self.start_tokens: int | None = None
        limited = max_steps < 10**9
        self.bar = tqdm(total=max_steps if limited else None, initial=step, unit="step",
                        disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} {postfix}" if limited
                        else "{desc}{n_fmt} steps {postfix}")
        self.last = step

    def update(self, step: int, elapsed: float, tokens: int, loss: float | None,
               val: float | None) -> None:
        if self.bar.disable:
            return
        if self.start_tokens is None:
            self.start_tokens = tokens
            self.start_time = elapsed
        self.bar.update(step - self.last)
        self.last = step
        run_s = max(elapsed - self.start_time, 1e-9)
        rate = (tokens - self.start_tokens) / run_s
        steps_per_s = (step - self.start_step) / max(elapsed - self.start_elapsed, 1e-9)
        eta = (self.max_steps - step) / steps_per_s if steps_per_s > 0 else float("inf")
        if self.max_seconds:
            eta = min(eta, self.max_seconds - elapsed)
        post = {"loss": f"{loss:.3f}" if loss is not None else "-",
                "val": f"{val:.3f}" if val is not None else "-",
                "tok/s": f"{rate / 1000:.1f}k", "eta": _fmt_time(eta)}
        self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        self.bar.close()


def _fmt_time(s: float) -> str:
    if s == float("inf") or s != s:
        return "?"
    s = max(0, int(s))
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"
