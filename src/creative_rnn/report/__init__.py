"""The ``evaluate`` report: how good a trained run is, in numbers.

tables.py (``evaluate``: the validation loss, then the sample, quality, copies and music
tables beside held-out material), music_metrics.py (MusPy's measures and mgeval's relative
comparison). The validation loss itself is training's one evaluator
(training/evaluation.py), so the report prints the number the training log printed.
"""

from .tables import evaluate, quality_rows, sample_ids, sample_table

__all__ = ["evaluate", "quality_rows", "sample_ids", "sample_table"]
