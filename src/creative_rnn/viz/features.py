"""Simple features of a token sequence, and how well each hidden cell tracks them.

Karpathy, Johnson & Fei-Fei ("Visualizing and Understanding Recurrent Networks", 2015) found
single LSTM cells that follow quotes, brackets and the position in a line. These features
are computed from the tokens' text alone, so they apply to any codec: text, ABC tunes (bar
lines, chords in quotes, slurs in brackets) or anything else with such characters. Each
feature's value at step t describes the sequence *after* token t, i.e. what h_t has seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OPEN, CLOSE = "([{", ")]}"
VOWELS = set("aeiouAEIOUàáâäèéêëìíîïòóôöùúûüÀÁÂÄÈÉÊËÌÍÎÏÒÓÔÖÙÚÛÜ")
QUOTES = set('"“”')  # not ', which is mostly an apostrophe in English text
MIN_VALID = 8  # a feature needs this many defined steps, and two values, to be worth ranking


def features(tokens: Sequence[str]) -> dict[str, np.ndarray]:
    """Feature name -> (T,) float array; NaN where a feature does not apply (vowel/consonant
    on a token that is not a single letter). Features constant over the text are dropped."""
    T = len(tokens)
    quote = np.zeros(T)
    bracket = np.zeros(T)
    line_pos = np.zeros(T)
    bar_pos = np.full(T, np.nan)  # undefined before the first bar line
    vowel = np.full(T, np.nan)
    inside, depth, col, since_bar = False, 0, 0, None
    for t, tok in enumerate(tokens):
        for ch in tok:
            if ch in QUOTES:
                inside = not inside
            elif ch in OPEN:
                depth += 1
            elif ch in CLOSE:
                depth = max(0, depth - 1)
        col = 0 if "\n" in tok else col + 1
        if "|" in tok:
            since_bar = 0
        elif since_bar is not None:
            since_bar += 1
        quote[t], bracket[t], line_pos[t] = inside, depth > 0, col
        if since_bar is not None:
            bar_pos[t] = since_bar
        if len(tok) == 1 and tok.isalpha():
            vowel[t] = tok in VOWELS
    found = {"inside quotes": quote, "inside brackets": bracket, "position in line": line_pos,
             "steps after a bar line": bar_pos, "vowel (vs consonant)": vowel}
    return {k: v for k, v in found.items() if _usable(v)}


def _usable(v: np.ndarray) -> bool:
    ok = v[~np.isnan(v)]
    return len(ok) >= MIN_VALID and ok.min() != ok.max()


def correlations(acts: np.ndarray, feats: dict[str, np.ndarray]) -> np.ndarray:
    """Pearson r of every cell with every feature.

    acts: (T, H) activations of one layer; returns (H, F) in the order of ``feats``, 0 where
    a cell is constant (it tracks nothing).
    """
    H = acts.shape[1]
    out = np.zeros((H, len(feats)))
    for j, v in enumerate(feats.values()):
        ok = ~np.isnan(v)
        a = acts[ok].astype(np.float64)
        f = v[ok] - v[ok].mean()
        a = a - a.mean(0)
        denom = np.sqrt((a**2).sum(0) * (f**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (a * f[:, None]).sum(0) / denom
        out[:, j] = np.where(denom > 1e-12, r, 0.0)
    return out


def ranking(corr: np.ndarray) -> list[int]:
    """Cells ordered by their strongest |r| with any feature, best first."""
    if corr.shape[1] == 0:
        return list(range(corr.shape[0]))
    return [int(i) for i in np.argsort(-np.abs(corr).max(1), kind="stable")]
