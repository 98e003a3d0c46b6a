"""The ABC codec's quality figures: share parsing in music21, share of complete bars,
pitch-class histogram distance to a reference, notes per bar and per tune."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Sequence
from typing import Any

from .bars import bars, complete_share
from .pitch import midi_pitches
from .tokens import AbcError

PARSE_CHECK_MAX = 100  # tunes checked with music21 per quality row (about 20 ms each)
HISTOGRAM_MAX = 2000  # tunes in a pitch-class histogram


def parses(codec: Any, item: str) -> bool:
    """music21's own ABC parser (not ours) reads it, finds notes, and has no warning
    (music21 guesses past some errors, e.g. an accidental with no note, and says so)."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
            found = len(codec.score(item).flatten().notes) > 0
    except AbcError:
        return False
    return found and "WARNING" not in said.getvalue()


def row(codec: Any, items: Sequence[str], reference: Sequence[str] | None = None
        ) -> dict[str, float]:
    """Share parsing in music21, share of complete bars, pitch-class histogram distance
    (total variation, 0..1) to ``reference``, notes per bar, notes per tune."""
    if not items:
        return {}
    rng = random.Random(0)  # the same subsample every time
    check = list(items) if len(items) <= PARSE_CHECK_MAX else rng.sample(list(items),
                                                                         PARSE_CHECK_MAX)
    tokens = _tokens_of(codec, items)
    all_bars = [b for t in tokens for b in bars(t)]
    out = {
        "parse_share": sum(codec.parses(i) for i in check) / len(check),
        "bars_complete": complete_share(tokens),
        "pc_distance": None,
        "notes_per_bar": (sum(b.notes for b in all_bars) / len(all_bars)) if all_bars
        else None,
        "mean_notes": (sum(sum(b.notes for b in bars(t)) for t in tokens) / len(tokens))
        if tokens else None,
    }
    if reference:
        ref = list(reference)
        if len(ref) > HISTOGRAM_MAX:
            ref = random.Random(0).sample(ref, HISTOGRAM_MAX)
        out["pc_distance"] = _tv(_histogram(tokens), _histogram(_tokens_of(codec, ref)))
    return out


def _tokens_of(codec: Any, items: Sequence[str]) -> list[list[str]]:
    out = []
    for item in items:
        try:
            out.append(codec.tokenize(item))
        except AbcError:
            pass  # counted by parse_share; no bars or pitches to measure
    return out


def _histogram(tunes: Sequence[Sequence[str]]) -> list[float]:
    counts = [0] * 12
    for t in tunes:
        for p in midi_pitches(t):
            counts[p % 12] += 1
    total = sum(counts) or 1
    return [c / total for c in counts]


def _tv(p: Sequence[float], q: Sequence[float]) -> float:
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q))
