"""What of a generated sample the training corpus holds: the copy meter's spans, placed.

The Generate view shows a sample as its tokens' texts one after another and a music sample
as a piano roll of ``codec.notes``; the meter (novelty/) gives token spans. Each span is
placed here in both: as character offsets into the shown text, and as the indices of the
notes whose tokens lie inside it (``codec.note_tokens``). The answer rides on the
``done`` event of /api/generate, so a sample and its marks arrive together.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from typing import Any

from ..errors import UserError
from ..novelty import copied_spans
from .guard import log_internal, public

# The first measure of a run reads its whole training corpus to build the copy index: seconds
# for a run of your own, a minute for a starter's large corpus (folk's 12,000 tunes). The
# sample must not wait for that: after WAIT_S it is sent without marks, with a line saying
# so, while the index goes on building (one at a time) for the samples after it.
WAIT_S = 10.0
_BUILDER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="copies")
INDEXING = ("the copy meter is indexing this model's training corpus (once, then cached); "
            "copied spans are marked on the samples after it")


def sample_copies(gen: Any, ids: Sequence[int]) -> dict[str, Any]:
    """``{spans: [{start, end, from, to, text, source, notes}], error}``: tokens
    ``start:end`` of ``ids`` occur in the corpus at ``source``; characters ``from:to`` of
    the shown text; ``notes``, the indices of the notes they make (None when the codec
    cannot tell). A meter that cannot answer (a corpus moved since training) is an
    ``error`` line beside the sample, never a failed generation."""
    codec = gen.codec
    job = _BUILDER.submit(copied_spans, gen, ids=list(ids))
    try:
        found = job.result(timeout=WAIT_S)
    except concurrent.futures.TimeoutError:
        return {"spans": [], "error": INDEXING}
    except UserError as e:
        return {"spans": [], "error": public(str(e))}
    except Exception as e:  # noqa: BLE001 - the sample stands without its marks
        log_internal("the copy meter", e)
        return {"spans": [], "error": "the copy meter failed inside the server"}
    texts = [codec.token_text(int(t)) for t in ids]
    ends = [0]
    for t in texts:
        ends.append(ends[-1] + len(t))
    ranges = codec.note_tokens(ids) if found else None
    spans = []
    for start, end, source in found:
        notes = None if ranges is None else [
            k for k, r in enumerate(ranges) if r is not None and start <= r[0] and r[1] <= end]
        spans.append({"start": start, "end": end, "from": ends[start], "to": ends[end],
                      "text": "".join(texts[start:end]), "source": public(source),
                      "notes": notes})
    return {"spans": spans, "error": None}
