"""The one evaluator: validation loss (and accuracy) of a task's model, used by the trainer
at every evaluation and by ``creative-rnn evaluate`` (report/, above training), so both
print the same number for the same weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .. import rundir
from ..core.device import autocast_for, resolve_device
from ..data.store import IGNORE
from ..errors import CheckpointError
from .task import Task
from .tasks import configs, task_from_run


@torch.no_grad()
def validate(task: Task, model: torch.nn.Module, autocast) -> dict[str, float]:
    """Mean cross-entropy (nats per target) over the task's validation batches, the hidden
    state carried through streams; and the argmax accuracy where the task reports it."""
    was_training = model.training
    model.eval()
    total, right, count, state = 0.0, 0, 0, None
    for batch in task.val_batches():
        with autocast:
            logits, y, state = task.forward(model, batch, state)
        logits = logits.float()
        total += F.cross_entropy(logits, y, ignore_index=IGNORE, reduction="sum").item()
        keep = y != IGNORE
        count += int(keep.sum())
        if task.reports_accuracy:
            right += int((logits.argmax(-1)[keep] == y[keep]).sum())
    model.train(was_training)
    figures = {"val_loss": total / max(count, 1)}
    if task.reports_accuracy:
        figures["val_accuracy"] = right / max(count, 1)
    return figures


def validation_figures(run_dir: str | Path, last: bool = False, device: str = "cpu"
                       ) -> tuple[dict[str, float], Task, dict[str, Any]]:
    """The evaluator on a saved run's weights (best unless ``last``), in the precision the
    run trained in; also the task and config, for callers that go on to sample."""
    run = rundir.locate(run_dir)  # a path, or a starter model's name
    if not (run / rundir.CONFIG).exists():
        raise CheckpointError(f"{run_dir} is not a run directory (no {rundir.CONFIG}); give a "
                              "run directory or a starter model's name (`creative-rnn "
                              "models` lists them)")
    config = rundir.read_config(run)
    _, train_cfg, _ = configs(run, config)
    task = task_from_run(run, config)
    weights = rundir.weights_path(run, last)
    config["weights"] = {"path": str(weights), **rundir.load_weights(task.model, weights)}
    dev = resolve_device(device)
    task.model.to(dev)
    return validate(task, task.model, autocast_for(dev, train_cfg.precision)), task, config


def validation_loss(run_dir: str | Path, last: bool = False) -> float:
    """Cross-entropy (nats/token) of the run's weights on its validation split."""
    return validation_figures(run_dir, last)[0]["val_loss"]


__all__ = ["validate", "validation_figures", "validation_loss"]
