"""Loss curves from ``metrics.jsonl``: one run or several side by side."""

from __future__ import annotations

import io
import json
from pathlib import Path

from ..checkpoint import atomic_write_bytes
from ..errors import CheckpointError


def read_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise CheckpointError(f"{path} is missing; is {run_dir} a run directory?")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a kill mid-write is skipped, the rest still plots
    return rows


def plot_runs(run_dirs: list[str | Path], out: str | Path, x: str = "step") -> Path:
    """Train (thin) and validation (thick) loss per run, against ``step`` or ``elapsed_s``."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for i, run in enumerate(run_dirs):
        rows = read_metrics(run)
        color = f"C{i % 10}"
        name = Path(run).name
        tr = [(r[x], r["train_loss"]) for r in rows if "train_loss" in r]
        va = [(r[x], r["val_loss"]) for r in rows if "val_loss" in r]
        if tr:
            ax.plot(*zip(*tr), color=color, alpha=0.5, lw=1, label=f"{name} train")
        if va:
            ax.plot(*zip(*va), color=color, lw=2, marker="o", ms=3, label=f"{name} validation")
    ax.set_xlabel("optimizer step" if x == "step" else "seconds")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(out, buf.getvalue())
    return Path(out)
