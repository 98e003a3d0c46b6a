"""Loss curves from ``metrics.jsonl``: one run or several side by side."""

from __future__ import annotations

import io
from pathlib import Path

from ..core.files import atomic_write_bytes
from ..rundir import PLOT, read_metrics


def plot_runs(run_dirs: list[str | Path], out: str | Path, x: str = "step") -> Path:
    """Train (thin) and validation (thick) loss per run, against ``step`` or ``elapsed_s``;
    beside it the gradient norm per run, when ``metrics.jsonl`` logs ``grad_norm``."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    runs = [(Path(run).name, read_metrics(run)) for run in run_dirs]
    # a second panel for the gradient norm (before clipping) when the metrics have it
    has_grad = any("grad_norm" in r for _, rows in runs for r in rows)
    fig, axes = plt.subplots(1, 1 + has_grad, figsize=(8 + 6 * has_grad, 4.5), dpi=100,
                             squeeze=False)
    ax = axes[0][0]
    for i, (name, rows) in enumerate(runs):
        color = f"C{i % 10}"
        tr = [(r[x], r["train_loss"]) for r in rows if "train_loss" in r]
        va = [(r[x], r["val_loss"]) for r in rows if "val_loss" in r]
        if tr:
            ax.plot(*zip(*tr), color=color, alpha=0.5, lw=1, label=f"{name} train")
        if va:
            ax.plot(*zip(*va), color=color, lw=2, marker="o", ms=3, label=f"{name} validation")
        gn = [(r[x], r["grad_norm"]) for r in rows if "grad_norm" in r]
        if gn:
            axes[0][1].plot(*zip(*gn), color=color, lw=1, label=name)
    for a in axes[0]:
        a.set_xlabel("optimizer step" if x == "step" else "seconds")
        a.grid(alpha=0.3)
        if a.lines:
            a.legend(fontsize=8)
    ax.set_ylabel("cross-entropy (nats/token)")
    if has_grad:
        axes[0][1].set_ylabel("gradient norm before clipping")
        axes[0][1].set_yscale("log")  # spikes (exploding gradients) span decades
    return save_png(fig, out)


def loss_plot(run_dir: str | Path) -> Path:
    """RUN/loss.png: the run's own curves, drawn at the end of every run (the package root
    hands this to training's ``at_end_of_run``; training never imports viz)."""
    return plot_runs([run_dir], Path(run_dir) / PLOT)


def save_png(fig, out: str | Path) -> Path:
    """Lay out, render and atomically write a matplotlib figure, then free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(out, buf.getvalue())
    return Path(out)
