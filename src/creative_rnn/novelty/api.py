"""One call on a loaded run: ``novelty(run, sample)`` and ``copied_spans(run, sample)``.

``run`` is a loaded generator (anything with ``codec`` and ``config``, as
``creative_rnn.load`` returns) or a run directory. A sample is an item as ``generate``
returns it (text, a melody's steps, a tune), or its ids given as ``ids=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import rundir
from ..errors import SamplingError
from .meter import Novelty, Span, index_for, measure


def _run(run: Any) -> tuple[Any, dict[str, Any], str]:
    if isinstance(run, (str, Path)):
        return rundir.read_codec(run), rundir.read_config(run), str(run)
    return run.codec, run.config, "the run"


def _ids(codec, sample: Any, ids: Sequence[int] | None) -> list[int]:
    if ids is not None:
        ids = [int(t) for t in ids]
        bad = [t for t in ids if not 0 <= t < codec.vocab_size]
        if bad:
            raise SamplingError(f"ids {bad[:5]} are not in the run's vocabulary of "
                                f"{codec.vocab_size} tokens; give ids the run's codec made")
        return ids
    # a token the corpus never had cannot be copied: <unk> has no place in the index
    return codec.encode(sample, unknown="unk")


def novelty(run: Any, sample: Any = None, *, ids: Sequence[int] | None = None,
            min_span: int | None = None) -> Novelty:
    """The copy meter's reading of one sample: longest copy (tokens, text, source), share of
    n-grams in the corpus, and the copied spans of at least ``min_span`` tokens."""
    codec, config, name = _run(run)
    return measure(index_for(config, codec, name), codec, _ids(codec, sample, ids), min_span)


def copied_spans(run: Any, sample: Any = None, *, ids: Sequence[int] | None = None,
                 min_span: int | None = None) -> list[tuple[int, int, str]]:
    """``[(start, end, source)]``: sample tokens ``start:end`` (indices into the sample's
    ids, as ``codec.encode`` gives them; ``codec.token_text`` gives each token's text) occur
    verbatim in the training corpus at ``source``. Maximal copies of at least ``min_span``
    tokens (default the codec's n-gram length); they may overlap."""
    found = novelty(run, sample, ids=ids, min_span=min_span)
    return [(s.start, s.end, s.source) for s in found.spans]


def novelty_rows(run: Any, samples: Sequence[Sequence[int]]) -> dict[str, float]:
    """A row for ``evaluate``: the meter over several samples given as ids."""
    codec, config, name = _run(run)
    index = index_for(config, codec, name, progress=True)
    found = [measure(index, codec, s) for s in samples if len(s)]
    if not found:
        return {}
    longest = np.array([f.longest for f in found])
    return {"samples": len(found), "longest_copy_mean": float(longest.mean()),
            "longest_copy_max": int(longest.max()),
            f"ngram_share_{found[0].ngram}": float(np.mean([f.ngram_share for f in found]))}


__all__ = ["novelty", "copied_spans", "novelty_rows", "Novelty", "Span"]
