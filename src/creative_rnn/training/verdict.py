"""Did a run learn? Its best validation loss against the unigram baseline.

The baseline is the loss of a model that knows only how often each target occurs: the
entropy (nats per target) of the unigram distribution of the training targets, in the same
units as the validation loss. A run whose best validation loss is not clearly below it has
learned next to nothing, and its samples are close to noise; it happens to a run stopped
after a few steps (the demo on a busy machine once trained 27 steps in its 3 minutes) and
to a corpus with nothing to learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# "clearly below": at least 5% under the baseline. A run that has learned anything is far
# below it (the tests' tiny models reach 10-20% under it in a few hundred steps); a run that
# has not is at or above it (an untrained model scores log(vocabulary) > the baseline).
LEARNED_SHARE = 0.95
MAX_COUNTED = 10_000_000  # targets counted; a larger corpus is sampled evenly (frequencies
# need no more, and a huge memory-mapped corpus is not read whole at the end of every run) ...
BLOCK = 100_000  # ... in contiguous blocks: a stride through the ids could alias a pattern


def unigram_loss(pieces: Sequence[np.ndarray], table: np.ndarray | None = None
                 ) -> float | None:
    """Entropy (nats) of the unigram distribution of the targets in ``pieces`` (arrays of
    ids; negative ids are not targets). ``table`` maps ids to target classes (ensemble
    codecs). None when there is no target."""
    total = sum(len(p) for p in pieces)
    if total == 0:
        return None
    every = math.ceil(total / MAX_COUNTED)  # count every n-th block (1: all of them)
    counts = np.zeros(0, np.int64)
    blocks = 0
    for piece in pieces:
        for start in range(0, len(piece), BLOCK):
            blocks += 1
            if (blocks - 1) % every:
                continue
            ids = np.asarray(piece[start: start + BLOCK], dtype=np.int64)
            c = np.bincount(ids[ids >= 0])
            if len(c) > len(counts):
                counts = np.pad(counts, (0, len(c) - len(counts)))
            counts[: len(c)] += c
    if table is not None:  # counts of input ids -> counts of the classes they stand for
        classes = np.asarray(table)[: len(counts)]
        keep = classes >= 0
        counts = np.bincount(classes[keep], weights=counts[keep])
    if counts.sum() == 0:
        return None
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def learned(best_val_loss: float | None, baseline: float | None) -> bool | None:
    """True when the best validation loss is clearly below the baseline; None when either
    is unknown (no evaluation yet, or a task without a baseline)."""
    if best_val_loss is None or baseline is None:
        return None
    return best_val_loss < LEARNED_SHARE * baseline


def not_learned(result) -> str:
    """One line about a run (a ``RunResult``) that did not learn: what happened, in numbers."""
    s = result.elapsed_s
    took = f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} minutes"
    return (f"the model did not learn: after {result.step} step(s) in {took} its best "
            "validation loss "
            f"{result.best_val_loss:.3f} nats/token is not clearly below "
            f"{result.unigram_loss:.3f}, what knowing only how often each token occurs gives; "
            "its samples will be close to noise")


def advice(run: str) -> str:
    """One line: what to do about it (for ``train``; the demo says its own)."""
    return (f"train longer (creative-rnn train --resume {run} --max-minutes 10, or a new run "
            "with a larger --max-steps or --max-minutes), try a smaller --preset (tiny), or "
            "check that the corpus is what you meant")
