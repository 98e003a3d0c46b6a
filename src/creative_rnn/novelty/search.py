"""Searches over a suffix array, compiled (Numba): the longest corpus match at every position
of a query, and the block of suffixes that start with a given window.

Conventions (novelty/index.py builds the arrays): ``text`` holds codes >= 1 with 0 as the
separator between pieces; a query's code 0 means "a symbol the corpus never has" and never
matches. ``sa`` sorts the suffixes of ``text`` by code, a shorter suffix first where one is a
prefix of the other (libdivsufsort's order). The binary searches keep the common prefix of
the query with both ends of the interval (Manber and Myers 1993), so one search costs about
log2(N) + (match length) comparisons rather than log2(N) times the match length.

Whatever the arrays hold (a damaged cache, arrays of different lengths), no search reads
outside them: an ``sa`` value outside ``text`` is read as the empty suffix at its end, and a
common prefix never runs past the text. A damaged ``sa`` can only give wrong answers, never
a crash; index.py's checksum keeps a damaged one from being used at all.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _suffix(sa, j, size):
    """sa[j] as a place in a text of ``size`` codes; a value outside it (a damaged array) is
    the empty suffix at the end, which matches nothing."""
    p = sa[j]
    if p < 0 or p >= size:
        return size
    return p


@njit(cache=True, nogil=True)
def _common(q, i, n, text, p, k):
    """Length of the common prefix of q[i:n] and text[p:], knowing the first k agree (in a
    sorted array; k never runs past the text, whatever the array)."""
    size = text.shape[0]
    k = max(0, min(k, size - p))
    while i + k < n and p + k < size and q[i + k] != 0 and q[i + k] == text[p + k]:
        k += 1
    return k


@njit(cache=True, nogil=True)
def _query_first(q, i, n, text, p, k, exhausted_first):
    """Whether q[i:n] sorts before text[p:], their first k codes being equal. A query used
    up sorts first (``exhausted_first``: lower bounds) or last (upper bounds); a query's 0
    sorts before every code, so it stops every match."""
    if i + k >= n:
        return exhausted_first
    if p + k >= text.shape[0]:
        return False
    if q[i + k] == 0:
        return True
    return q[i + k] < text[p + k]


@njit(cache=True, nogil=True)
def longest_matches(q, text, sa, lengths, where):
    """For every i: ``lengths[i]`` = the longest L with q[i:i+L] somewhere in ``text``, and
    ``where[i]`` one position of it in ``text`` (-1 if L = 0). The longest match of a
    string is with a neighbour of its place in the sorted suffixes."""
    n, size, end = min(q.shape[0], lengths.shape[0], where.shape[0]), sa.shape[0], text.shape[0]
    for i in range(n):
        lo, hi, l_lo, l_hi = -1, size, 0, 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            p = _suffix(sa, mid, end)
            k = _common(q, i, n, text, p, min(l_lo, l_hi))
            if _query_first(q, i, n, text, p, k, True):
                hi, l_hi = mid, k
            else:
                lo, l_lo = mid, k
        if l_lo >= l_hi and lo >= 0:
            lengths[i], where[i] = l_lo, _suffix(sa, lo, end)
        elif hi < size:
            lengths[i], where[i] = l_hi, _suffix(sa, hi, end)
        else:
            lengths[i], where[i] = 0, -1
        if lengths[i] == 0:
            where[i] = -1


@njit(cache=True, nogil=True)
def _bound(q, text, sa, after):
    """The first suffix that sorts after q (``after``) or not before it (lower bound)."""
    n, size = q.shape[0], sa.shape[0]
    lo, hi, l_lo, l_hi = -1, size, 0, 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p = _suffix(sa, mid, text.shape[0])
        k = _common(q, 0, n, text, p, min(l_lo, l_hi))
        if _query_first(q, 0, n, text, p, k, not after):
            hi, l_hi = mid, k
        else:
            lo, l_lo = mid, k
    return hi


@njit(cache=True, nogil=True)
def prefix_block(q, text, sa):
    """(lo, hi): the suffixes ``sa[lo:hi]`` are exactly those that start with all of q."""
    for c in q:
        if c == 0:
            return 0, 0
    return _bound(q, text, sa, False), _bound(q, text, sa, True)


def following_codes(q: np.ndarray, text: np.ndarray, sa: np.ndarray) -> np.ndarray:
    """The distinct codes that follow an occurrence of ``q`` in ``text`` (0 included where
    an occurrence ends a piece)."""
    lo, hi = prefix_block(q, text, sa)
    if hi <= lo:
        return np.zeros(0, text.dtype)
    after = sa[lo:hi].astype(np.int64) + len(q)
    after = after[(after >= 0) & (after < len(text))]  # in range even if sa is damaged
    return np.unique(text[after])
