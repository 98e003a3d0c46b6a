"""Training, one loop for every task.

run.py (``train``: new runs and resumes), loop.py (the Trainer), task.py (what a task
gives the loop) with tasks.py (tasks by name) and lm.py, classify.py, seq2seq.py,
examples.py (JSONL examples, validation split), evaluation.py (the one evaluator: the
validation loss; the `evaluate` report above it is report/),
verdict.py (did a run learn: its best validation loss against the unigram baseline),
averaging.py (weight averaging), schedule.py (warm-up + cosine), rng.py (seeding, random
states), distributed.py (torchrun, DDP).
"""

from ..errors import TrainingDiverged
from .loop import RunResult, Trainer
from .run import train

__all__ = ["train", "RunResult", "Trainer", "TrainingDiverged"]
