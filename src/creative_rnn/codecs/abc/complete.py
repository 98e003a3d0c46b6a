"""``complete_bars``: a logit processor that lets an ABC sample write only whole bars, by
asking ``bars.BarState`` which token classes still fit the bar that is open."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..vocab import NUM_SPECIAL
from .bars import BarState, durations_of, token_class


class CompleteBars:
    """Logit processor: forbid every token that would break the current bar.

    Called with logits ``(rows, V)`` and the ids so far of each row; keeps a BarState per
    row (advanced only by the new ids) and sets the logits of refused tokens to -inf."""

    # A tune under this constraint is whole only at its end token, which is allowed only
    # after a closing bar line; the generator keeps a sample that never reached it out of
    # the tunes it returns (sampling/generator.py, WHOLE_DRAWS)
    whole = True

    def __init__(self, vocab_tokens: Sequence[str]):
        self.tokens = list(vocab_tokens)
        self.durations = durations_of(self.tokens)
        self.classes: dict[str, list[int]] = {}
        for i, t in enumerate(self.tokens[NUM_SPECIAL:], NUM_SPECIAL):
            self.classes.setdefault(token_class(t), []).append(i)
        self.states: dict[int, tuple[list[int], int, BarState]] = {}
        self.memo: dict[tuple, torch.Tensor] = {}

    def _state(self, ids: list[int]) -> BarState:
        cached = self.states.get(id(ids))
        if cached is None or cached[0] is not ids or cached[1] > len(ids):
            cached = (ids, 0, BarState(self.durations))
        ids_ref, seen, st = cached
        for i in ids[seen:]:
            if i >= NUM_SPECIAL:
                st.feed(self.tokens[i])  # a refused prime token leaves the best state we have
        self.states[id(ids)] = (ids, len(ids), st)
        return st

    def __call__(self, logits: torch.Tensor, histories: list[list[int]]) -> torch.Tensor:
        mask = torch.zeros_like(logits, dtype=torch.bool)  # True = allowed
        for row, ids in enumerate(histories):
            mask[row] = self._allowed(self._state(ids))
        return logits.masked_fill(~mask, float("-inf"))

    def _allowed(self, st: BarState) -> torch.Tensor:
        """Allowed ids (V,) in a state; the same state recurs often, so answers are kept."""
        key = st.key()
        if key not in self.memo:
            allowed = torch.zeros(len(self.tokens), dtype=torch.bool)
            for members in self.classes.values():
                if st.copy().feed(self.tokens[members[0]]):
                    allowed[members] = True
            allowed[2] = st.can_end()  # </s> only after a closing bar line
            if not allowed.any():  # nothing fits (should not happen): let the model choose
                allowed[:] = True
            self.memo[key] = allowed
        return self.memo[key]
