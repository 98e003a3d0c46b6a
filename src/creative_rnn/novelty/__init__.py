"""How original is a sample: the copy meter, its index and the originality constraint.

    index.py       the suffix array over a run's training tokens, cached and memory-mapped
    search.py      compiled searches over it: longest match per position, a window's block
    transform.py   what is compared: ids for text, intervals for music
    meter.py       a sample's longest copy, n-gram share and copied spans; a run's index
    constraint.py  --max-copy N as a logit processor
    api.py         novelty(run, sample) and copied_spans(run, sample) on a loaded run,
                   against its own corpus or (a fine-tuned run) its parent's
"""

from .api import AGAINST, copied_spans, novelty, novelty_rows
from .constraint import check_max_copy, max_copy
from .meter import Novelty, Span, index_for, measure

__all__ = ["AGAINST", "copied_spans", "novelty", "novelty_rows", "check_max_copy", "max_copy",
           "Novelty", "Span", "index_for", "measure"]
