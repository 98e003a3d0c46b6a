"""One call on a loaded run: ``novelty(run, sample)`` and ``copied_spans(run, sample)``.

``run`` is a loaded generator (anything with ``codec`` and ``config``, as
``creative_rnn.load`` returns) or a run directory. A sample is an item as ``generate``
returns it (text, a melody's steps, a tune), or its ids given as ``ids=``.

``against`` picks the text compared with: ``"corpus"``, the run's own training split (the
default), or ``"parent"``, for a run fine-tuned from another (``train --from``, recorded as
``parent`` in its config.json), the parent's training split: what the sample may have copied
from the large corpus the starting model learned, measured apart from the new corpus. The
parent's index is built from the parent's own run directory (corpus description, digest and
split, as for any run) and cached by its digest, so every run fine-tuned from one parent
shares it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import rundir
from ..codecs import UNK_ID, Codec
from ..errors import CorpusError, SamplingError, UserError
from .index import CopyIndex
from .meter import Novelty, Span, index_for, measure

AGAINST = ("corpus", "parent")  # what a sample is compared with (the module docstring)


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


def _reference(run: tuple[Codec, dict[str, Any], str], against: str
               ) -> tuple[CopyIndex, Codec, np.ndarray | None]:
    """The index compared with for a run (``_run``'s answer), that index's codec, and a
    table from the run's ids to the index codec's ids (None: the same ids)."""
    if against not in AGAINST:
        raise SamplingError(f"against must be one of {', '.join(AGAINST)}, not {against!r}")
    codec, config, name = run
    if against == "corpus":
        return index_for(config, codec, name), codec, None
    folder, label = parent_of(config, name)
    if not folder.is_dir():
        raise CorpusError(f"{label}, which {name} was fine-tuned from, is gone ({folder} does "
                          "not exist); put it back to measure copies of its corpus (the meter "
                          f"against {name}'s own corpus still works)")
    try:
        pconfig, pcodec = rundir.read_config(folder), rundir.read_codec(folder)
    except (UserError, OSError, ValueError) as e:
        raise CorpusError(f"cannot read {label}, which {name} was fine-tuned from ({e}); the "
                          f"meter against {name}'s own corpus still works") from None
    index = index_for(pconfig, pcodec, label)
    return index, pcodec, _to_parent(codec, pcodec)


def parent_of(config: dict[str, Any], name: str = "the run") -> tuple[Path, str]:
    """The folder of the run a fine-tuned run started from (a starter by its name, so a
    starter's parent is found in this install; else the path it recorded) and a name for
    it. One line for a run trained from scratch."""
    parent = config.get("parent")
    if not isinstance(parent, dict):
        raise UserError(f"{name} was trained from scratch: it has no parent corpus to compare "
                        "with (a run fine-tuned with train --from has one)")
    starter, path = parent.get("name"), parent.get("path")
    if isinstance(starter, str) and starter:
        found = rundir.locate(starter)
        if found.is_dir() or not isinstance(path, str):
            return found, f"the parent starter {starter}"
    if not isinstance(path, str) or not path:
        raise UserError(f"{name}'s config.json records a parent without a name or path; "
                        "the copy meter against the run's own corpus still works")
    return Path(path), f"the parent run {path}"


def _to_parent(codec: Codec, parent: Codec) -> np.ndarray | None:
    """Run ids -> parent ids. Fine-tuning keeps the parent's ids and appends new tokens;
    mapping by token text holds whatever the order. A token the parent never had becomes
    <unk>, which its corpus never holds, so no copy runs through it. Codecs that do not
    list their tokens (ensemble) keep their ids below the parent's size."""
    listed = len(codec.vocab.tokens) == codec.vocab_size
    if listed and len(parent.vocab.tokens) == parent.vocab_size:
        index = parent.vocab.index
        table = [index.get(t, UNK_ID) for t in codec.vocab.tokens]
    else:
        table = [i if i < parent.vocab_size else UNK_ID for i in range(codec.vocab_size)]
    table = np.asarray(table, np.int64)
    return None if np.array_equal(table, np.arange(len(table))) else table


def _measure(ref, ids: Sequence[int], min_span: int | None = None) -> Novelty:
    index, icodec, table = ref
    ids = np.asarray(ids, dtype=np.int64)
    return measure(index, icodec, ids if table is None else table[ids], min_span)


def novelty(run: Any, sample: Any = None, *, ids: Sequence[int] | None = None,
            min_span: int | None = None, against: str = "corpus") -> Novelty:
    """The copy meter's reading of one sample: longest copy (tokens, text, source), share of
    n-grams in the corpus, and the copied spans of at least ``min_span`` tokens.
    ``against="parent"``: in the parent's training corpus instead (a fine-tuned run)."""
    found = _run(run)
    ids = _ids(found[0], sample, ids)  # checked before any index is built
    return _measure(_reference(found, against), ids, min_span)


def copied_spans(run: Any, sample: Any = None, *, ids: Sequence[int] | None = None,
                 min_span: int | None = None, against: str = "corpus"
                 ) -> list[tuple[int, int, str]]:
    """``[(start, end, source)]``: sample tokens ``start:end`` (indices into the sample's
    ids, as ``codec.encode`` gives them; ``codec.token_text`` gives each token's text) occur
    verbatim in the training corpus at ``source`` (the parent's with ``against="parent"``).
    Maximal copies of at least ``min_span`` tokens (default the codec's n-gram length); they
    may overlap."""
    found = novelty(run, sample, ids=ids, min_span=min_span, against=against)
    return [(s.start, s.end, s.source) for s in found.spans]


def novelty_rows(run: Any, samples: Sequence[Sequence[int]], against: str = "corpus"
                 ) -> dict[str, float]:
    """A row for ``evaluate``: the meter over several samples given as ids."""
    ref = _reference(_run(run), against)
    found = [_measure(ref, s) for s in samples if len(s)]
    if not found:
        return {}
    longest = np.array([f.longest for f in found])
    return {"samples": len(found), "longest_copy_mean": float(longest.mean()),
            "longest_copy_max": int(longest.max()),
            f"ngram_share_{found[0].ngram}": float(np.mean([f.ngram_share for f in found]))}


__all__ = ["novelty", "copied_spans", "novelty_rows", "parent_of", "AGAINST", "Novelty",
           "Span"]
