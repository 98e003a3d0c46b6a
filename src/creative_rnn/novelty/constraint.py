"""The originality constraint (``--max-copy N``): sampling never copies more than N
consecutive tokens of the training corpus.

At every step, for each sample, the last N tokens are looked up in the copy index; every id
whose symbol follows them somewhere in the corpus would make an N+1-token copy, so its logit
becomes -inf. The check reads only symbols and codes, so it is the same for every codec
(music through its intervals: a transposed copy is refused too). A window of fewer than N
tokens (the sample's start) constrains nothing. The prime counts as part of the sample: a
window that ends in the prime's last tokens is checked like any other.
"""

from __future__ import annotations

import numpy as np

from ..core.logits import LogitsProcessor, forbid_by_history
from ..errors import SamplingError
from .index import CopyIndex

MAX_COPY_LIMIT = 100_000  # the longest sample is 100,000 tokens: a larger N is no constraint


def check_max_copy(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_COPY_LIMIT:
        raise SamplingError(f"max_copy must be a whole number from 1 to {MAX_COPY_LIMIT:,} "
                            f"(tokens), got {n!r}")
    return n


def max_copy(index: CopyIndex, n: int) -> LogitsProcessor:
    """The logit processor: ``(logits (rows, V), histories) -> logits``."""
    n = check_max_copy(n)
    transform = index.transform

    def banned(history: list[int]) -> list[int]:
        if len(history) < n:
            return []
        # a plain symbol depends on its id alone: the window's tokens are enough
        tail = history[-n:] if transform.context_free else history
        window = index.encode(np.asarray(tail))[-n:]
        from .search import following_codes  # numba: loaded when the constraint first runs

        follow = following_codes(window, index.text, index.sa)
        follow = follow[follow != 0]
        if not len(follow):
            return []
        codes = index.codes[transform.next_symbols(history)]
        return np.flatnonzero(np.isin(codes, follow) & (codes != 0)).tolist()

    return forbid_by_history(banned, f"with --max-copy {n} every token the model may choose "
                             "would copy the corpus; allow longer copies (a larger --max-copy)")
