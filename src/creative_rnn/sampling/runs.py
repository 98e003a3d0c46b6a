"""Opening a classify or seq2seq run for reading: config, codec, options and weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .. import rundir
from ..codecs import Codec
from ..config import ModelConfig, TaskOptions
from ..errors import CheckpointError


def open_run(run_dir: str | Path, task: str, last: bool = False
             ) -> tuple[dict[str, Any], Codec, ModelConfig, TaskOptions, Path]:
    """A task run's config, codec, model config, options and best (or ``last``) weights."""
    run = Path(run_dir)
    config = rundir.read_config(run)
    if rundir.task_of(config) != task:
        raise CheckpointError(f"{run} is a {rundir.task_of(config)} run, not a {task} run")
    try:
        options = TaskOptions(**config.get("task_options", {}))
    except TypeError as e:
        raise CheckpointError(f"{run}/{rundir.CONFIG} has bad task options ({e})") from None
    return (config, rundir.read_codec(run), rundir.model_config(run, config), options,
            rundir.weights_path(run, last))


def loaded(model: torch.nn.Module, weights: Path) -> torch.nn.Module:
    rundir.load_weights(model, weights)
    return model.eval()
