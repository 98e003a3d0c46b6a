"""Logits processors (core/logits.py): top-k, the top-p nucleus, greedy choice."""

import math

import pytest
import torch

from creative_rnn.core.logits import choose, temperature, top_k, top_p
from creative_rnn.errors import SamplingError


def test_top_k_keeps_exactly_k():
    logits = torch.tensor([[1.0, 5.0, 3.0, 2.0, 4.0]])
    kept = torch.isfinite(top_k(2)(logits, [[]]))
    assert kept.tolist() == [[False, True, False, False, True]]


def test_top_p_keeps_the_smallest_nucleus():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = torch.isfinite(top_p(0.75)(probs.log(), [[]]))
    assert kept.tolist() == [[True, True, False, False]]  # 0.5 + 0.3 reaches 0.75
    assert torch.isfinite(top_p(0.1)(probs.log(), [[]])).sum() == 1  # the top token stays


def test_greedy_is_argmax():
    gen = torch.Generator().manual_seed(0)
    assert choose(torch.tensor([[0.1, 3.0, 0.2]]), True, gen).item() == 1


@pytest.mark.parametrize("make, value", [
    (temperature, math.nan), (temperature, math.inf), (temperature, 0.0), (temperature, -1.0),
    (top_p, math.nan), (top_p, 0.0), (top_p, 1.5), (top_k, -1), (top_k, 2.5),
])
def test_processors_refuse_non_finite_and_out_of_range_values(make, value):
    """The processors are public API: a NaN temperature would turn every logit into NaN and
    the draw into nonsense (or an empty sample), so it is refused when the processor is made."""
    with pytest.raises(SamplingError, match=make.__name__):
        make(value)
