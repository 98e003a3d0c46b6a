"""Did a run learn? Its best validation loss against the unigram baseline; and did it
memorise its corpus instead (training loss far below a validation loss that rose again).

The baseline is the loss of a model that knows only how often each target occurs: the
entropy (nats per target) of the unigram distribution of the training targets, in the same
units as the validation loss. A run whose best validation loss is not clearly below it has
learned next to nothing, and its samples are close to noise; it happens to a run stopped
after a few steps (the demo on a busy machine once trained 27 steps in its 3 minutes) and
to a corpus with nothing to learn.

A run can also learn its training text by heart: on a small corpus (a 30-line poem, 1 KB) a
model of a few hundred units drove the training loss to 0.008 nats/token while the
validation loss climbed to 5.0. Training longer makes that worse, so it gets its own
verdict and other advice: a smaller model or more text.

Both verdicts, and ``small_corpus_note`` before a run starts, name the better path for a small
corpus where one ships: fine-tuning the starter model of the same codec (``--from NAME``). A
fine-tuned run that memorised is told to fine-tune again with a smaller budget or a lower
learning rate instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import rundir, starters
from ..core.files import read_json
from ..errors import UserError

# "clearly below": at least 5% under the baseline. A run that has learned anything is far
# below it (the tests' tiny models reach 10-20% under it in a few hundred steps); a run that
# has not is at or above it (an untrained model scores log(vocabulary) > the baseline).
LEARNED_SHARE = 0.95
MAX_COUNTED = 10_000_000  # targets counted; a larger corpus is sampled evenly (frequencies
# need no more, and a huge memory-mapped corpus is not read whole at the end of every run) ...
BLOCK = 100_000  # ... in contiguous blocks: a stride through the ids could alias a pattern
# memorised: the last training loss under half the best validation loss (a model that
# generalises keeps them close; dropout even puts training above) and the last validation
# loss a tenth above its best (it has turned and is climbing)
MEMORISED_SHARE = 0.5
RISEN_SHARE = 1.1
# A corpus under this many tokens is small for a model trained from scratch. The evidence: a
# 30-line poem (1 KB, about 1,000 char tokens) was memorised by the small preset (training
# loss 0.008, validation 5.0) and babbled under --preset tiny (issue 31; the memorised test
# in tests/test_training_verdict.py does it again with 1,000 characters and 128 units), and
# issue 31 counts a 20 KB poem among its small corpora; the text corpus the small preset
# (2x384 LSTM, about 2 M weights) writes well from is tiny-shakespeare, 1.1 M tokens. At
# 100,000 tokens (100 KB of text, some 600 ABC tunes, 200 melodies) that model still has
# twenty weights for every token it can learn from, enough to learn it by heart.
SMALL_CORPUS_TOKENS = 100_000


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


def memorised(result) -> bool:
    """Whether a run (a ``RunResult``) learned its training text by heart: training loss
    far below the best validation loss, and validation risen again from its best."""
    train, best, last = result.train_loss, result.best_val_loss, result.val_loss
    if train is None or best is None or last is None:
        return False
    return train < MEMORISED_SHARE * best and last > RISEN_SHARE * best


def judge(result, run: str, train_tokens: int | None = None,
          hidden_size: int | None = None) -> None:
    """Fill in ``result.learned`` and, for a run that memorised or did not learn,
    ``result.warning``: two lines, what happened and what to do. ``train_tokens`` (size of
    the training split) and ``hidden_size`` (the model's width) shape a memorised run's; the
    run's own files say whether it was fine-tuned and which starter would have helped."""
    result.learned = learned(result.best_val_loss, result.unigram_loss)
    lineage = _lineage(run)
    if memorised(result):
        result.warning = (memorised_line(result, train_tokens) + "\n"
                          + memorised_advice(hidden_size, **lineage))
    elif result.learned is False:
        result.warning = not_learned(result) + "\n" + advice(run, **lineage)


def starter_for(codec_name: str | None) -> str | None:
    """The shipped starter model of ``codec_name`` (a codec's name: abc, char, ...), if any."""
    if not codec_name:
        return None
    for name in starters.names():
        try:
            if starters.manifest(name).get("codec") == codec_name:
                return name
        except (UserError, OSError, ValueError):  # a damaged install names no starter
            continue
    return None


def small_corpus_note(tokens: int, codec_name: str, preset: str | None = None
                      ) -> str | None:
    """One line for a corpus too small for a model trained from scratch (``tokens`` under
    SMALL_CORPUS_TOKENS), naming the better path: the starter of its codec, else a smaller
    preset than ``preset``; None for a corpus large enough."""
    if tokens >= SMALL_CORPUS_TOKENS:
        return None
    starter = starter_for(codec_name)
    if starter:
        better = (f"fine-tune the {starter} starter instead (creative-rnn train CORPUS --from "
                  f"{starter} --out RUN), which starts from a model trained on a large corpus")
    elif preset != "tiny":
        better = "use --preset tiny, which has fewer weights to learn it by heart"
    else:
        better = "more text of the same kind helps most"
    return (f"note: {tokens:,} tokens is a small corpus for a model trained from scratch "
            f"(under {SMALL_CORPUS_TOKENS:,}, it learns the text by heart); {better}")


def _lineage(run: str) -> dict[str, Any]:
    """What the advice needs from a run's files: its codec's starter, and for a fine-tuned
    run its parent (as ``--from`` takes it), learning rate and the step of its best
    validation loss. Empty where the files cannot be read (advice without them)."""
    try:
        config = read_json(Path(run) / rundir.CONFIG)
        codec = read_json(Path(run) / rundir.CODEC)
        if not isinstance(config, dict) or not isinstance(codec, dict):
            return {}
        parent = config.get("parent")
        if not isinstance(parent, dict):
            return {"starter": starter_for(codec.get("name"))}
        rows = [r for r in rundir.read_metrics(run, missing_ok=True) if "val_loss" in r]
    except (UserError, OSError, ValueError):
        return {}
    best = min(rows, key=lambda r: r["val_loss"])["step"] if rows else None
    lr = config.get("train", {}).get("lr")
    return {"parent": str(parent.get("name") or parent.get("path") or "PARENT"),
            "best_step": best, "lr": lr if isinstance(lr, (int, float)) else None}


def memorised_line(result, train_tokens: int | None = None) -> str:
    """One line about a run that memorised its corpus, in numbers."""
    size = f" of {train_tokens:,} tokens" if train_tokens else ""
    return (f"the model memorised its training text{size}: training loss "
            f"{result.train_loss:.3f} nats/token, while the validation loss rose from its "
            f"best {result.best_val_loss:.3f} to {result.val_loss:.3f} (the text it has not "
            "seen); it repeats what it read and cannot go on from anything new")


def memorised_advice(hidden_size: int | None = None, starter: str | None = None,
                     parent: str | None = None, best_step: int | None = None,
                     lr: float | None = None) -> str:
    """One line: what helps a model that memorised (training longer does not). ``starter``:
    the shipped starter of its codec; ``parent`` (and ``best_step``, ``lr``): the run was
    fine-tuned from it."""
    kept = "samples use the best weights, from before validation rose"
    if parent is not None:  # fine-tuned: the same start, less of the new corpus
        budget = f"--max-steps {best_step}" if best_step else "a smaller --max-steps"
        lower = f"--set lr={lr / 2:.2g}" if lr else "a lower --set lr=..."
        return (f"training longer will not help; fine-tune again with a smaller budget or a "
                f"lower learning rate (--from {parent} {budget}, or {lower}); {kept}")
    smaller = "--preset tiny, or a smaller --set hidden_size=N"
    if hidden_size:  # a quarter of the width has a sixteenth of the recurrent weights
        narrower = f"--set hidden_size={max(16, hidden_size // 4)}"
        smaller = f"--preset tiny or {narrower}" if hidden_size > 64 else narrower
    if starter is not None:
        return (f"training longer will not help; fine-tuning the {starter} starter will "
                f"(creative-rnn train CORPUS --from {starter} --out RUN), or a smaller model "
                f"({smaller}) or more text; {kept}")
    return (f"training longer will not help; a smaller model ({smaller}) or more text of "
            f"the same kind (tens of KB at least) will; {kept}")


def not_learned(result) -> str:
    """One line about a run (a ``RunResult``) that did not learn: what happened, in numbers."""
    s = result.elapsed_s
    took = f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} minutes"
    return (f"the model did not learn: after {result.step} step(s) in {took} its best "
            "validation loss "
            f"{result.best_val_loss:.3f} nats/token is not clearly below "
            f"{result.unigram_loss:.3f}, what knowing only how often each token occurs gives; "
            "its samples will be close to noise")


def advice(run: str, starter: str | None = None, parent: str | None = None,
           **_: Any) -> str:
    """One line: what to do about it (for ``train``; the demo says its own). ``starter``: the
    shipped starter of the run's codec, named first; ``parent``: the run was fine-tuned from
    it (a smaller preset does not apply: the parent fixes the model)."""
    longer = (f"train longer (creative-rnn train --resume {run} --max-minutes 10, or a new run "
              "with a larger --max-steps or --max-minutes)")
    check = "check that the corpus is what you meant"
    if parent is not None:
        return f"{longer}, or {check}"
    first = (f"fine-tune the {starter} starter, which starts from a trained model "
             f"(creative-rnn train CORPUS --from {starter} --out RUN), or " if starter else "")
    return f"{first}{longer}, try a smaller --preset (tiny), or {check}"
