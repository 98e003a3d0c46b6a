"""The tasks by name, and a saved run's task rebuilt from its run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import rundir
from ..config import TASKS, ModelConfig, TaskOptions, TrainConfig, from_dict
from ..config_layers import Layer
from ..errors import CheckpointError
from . import classify, lm, seq2seq
from .task import Task

MODULES = {"lm": lm, "classify": classify, "seq2seq": seq2seq}
assert tuple(MODULES) == TASKS


def new_task(task: str, sources: list[str], codec, model_cfg: ModelConfig,
             train_cfg: TrainConfig, options: TaskOptions, **kwargs: Any
             ) -> tuple[Task, list[Layer]]:
    """Read and encode the corpus for ``task`` (fitting ``codec``); the config layers the
    corpus fits (a small corpus shrinks the batch) for the resolver. The task's ``cfg`` is
    ``train_cfg`` until train() sets the resolved one."""
    return MODULES[task].new_task(sources, codec, model_cfg, train_cfg, options=options,
                                  **kwargs)


def configs(run: Path, config: dict[str, Any]) -> tuple[ModelConfig, TrainConfig, TaskOptions]:
    try:
        train_cfg = from_dict(TrainConfig, config["train"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{run}/{rundir.CONFIG} has no valid train section ({e})") from None
    return rundir.model_config(run, config), train_cfg, rundir.task_options(run, config)


def task_from_run(run: Path, config: dict[str, Any], train_cfg: TrainConfig | None = None
                  ) -> Task:
    """The task of run ``run`` with its corpus read again (and ``train_cfg`` if given: a
    resume may change the budget)."""
    model_cfg, saved_train, options = configs(run, config)
    # the saved weights' header first: the task builds a model of the config's size
    rundir.check_fits(rundir.model_builder(config, model_cfg, options), model_cfg,
                      rundir.weights_path(run))
    codec = rundir.read_codec(run)
    task = rundir.task_of(config)
    try:
        return MODULES[task].task_from_run(config, codec, model_cfg, train_cfg or saved_train,
                                           options)
    except KeyError as e:
        raise CheckpointError(f"{run}/{rundir.CONFIG} has no {e} for its {task} task") from None
