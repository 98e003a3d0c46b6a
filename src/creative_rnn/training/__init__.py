"""Training, one loop for every task.

run.py (``train``: new runs and resumes), loop.py (the Trainer), task.py (what a task
gives the loop) with tasks.py (tasks by name) and lm.py, classify.py, seq2seq.py,
examples.py (JSONL examples, validation split), evaluation.py (the one evaluator),
averaging.py (weight averaging), schedule.py (warm-up + cosine), rng.py (seeding, random
states), distributed.py (torchrun, DDP).
"""

from .loop import RunResult, Trainer
from .run import train

__all__ = ["train", "RunResult", "Trainer"]
