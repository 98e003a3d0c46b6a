"""Logit processors: small functions that reshape next-token scores before a draw.

``(logits (n, V), ids so far per active row, prime included) -> logits``. Sampling, the step
engines and the codecs' constraints (a melody's range, ABC's complete bars) all use these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from ..errors import SamplingError

LogitsProcessor = Callable[[torch.Tensor, list[list[int]]], torch.Tensor]


# Each maker checks its number: NaN or infinity here would make every logit NaN and the
# draw meaningless. (config.SampleConfig gives the options their fuller, user-facing checks.)
def temperature(t: float) -> LogitsProcessor:
    if not _is_real(t) or t <= 0:
        raise SamplingError(f"temperature must be a finite number > 0, got {t!r}")
    if t == 1.0:  # the common default: no division per token
        return lambda logits, _: logits
    return lambda logits, _: logits / t


def top_k(k: int) -> LogitsProcessor:
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise SamplingError(f"top_k must be 0 (off) or a positive whole number, got {k!r}")

    def apply(logits: torch.Tensor, _) -> torch.Tensor:
        if k <= 0 or k >= logits.size(-1):
            return logits
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]
        return logits.masked_fill(logits < kth, float("-inf"))
    return apply


def top_p(p: float) -> LogitsProcessor:
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches ``p``."""
    if not _is_real(p) or not 0.0 < p <= 1.0:
        raise SamplingError(f"top_p must be in (0, 1] (1 = off), got {p!r}")

    def apply(logits: torch.Tensor, _) -> torch.Tensor:
        if p >= 1.0:
            return logits
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = sorted_logits.softmax(-1)
        # drop a token when the mass before it already reaches p (the top token always stays)
        drop = probs.cumsum(-1) - probs >= p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return apply


def forbid(ids: Sequence[int]) -> LogitsProcessor:
    ids = list(ids)
    index: dict[torch.device, torch.Tensor] = {}  # the ids as a tensor, made once per device

    def apply(logits: torch.Tensor, _) -> torch.Tensor:
        if not ids:
            return logits
        if logits.device not in index:
            index[logits.device] = torch.tensor(ids, dtype=torch.long, device=logits.device)
        # one operation, no copy of a Python list into a tensor at every token
        return logits.index_fill(-1, index[logits.device], float("-inf"))
    return apply


def forbid_by_history(banned: Callable[[list[int]], Sequence[int]], exhausted: str
                      ) -> LogitsProcessor:
    """Per row, -inf on the ids ``banned(history)`` names: a constraint that depends on what
    a sample has said so far (the originality constraint of novelty/constraint.py). It knows
    nothing of codecs or of why an id is banned. When a row would be left with no finite
    logit it raises SamplingError(``exhausted``) instead of drawing from nothing."""
    def apply(logits: torch.Tensor, histories: list[list[int]]) -> torch.Tensor:
        rows = [(r, ids) for r, h in enumerate(histories) if (ids := list(banned(h)))]
        if not rows:
            return logits
        logits = logits.clone()
        for r, ids in rows:
            logits[r, ids] = float("-inf")
            if not bool(torch.isfinite(logits[r]).any()):
                raise SamplingError(exhausted)
        return logits
    return apply


def _is_real(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def choose(logits: torch.Tensor, greedy: bool, gen: torch.Generator) -> torch.Tensor:
    """One id per row: argmax, or a draw from softmax(logits)."""
    if greedy:
        return logits.argmax(-1)
    return torch.multinomial(logits.float().softmax(-1), 1, generator=gen).squeeze(-1)
