"""The seq2seq reader (sampling/respond.py): its sampling options are checked like the
generator's, beam search included, before any work (an old fixture run, no training)."""

import math
from pathlib import Path

import pytest

from creative_rnn.errors import SamplingError
from creative_rnn.sampling import Responder
from creative_rnn.sampling.generator import MAX_PRIME_CHARS
from creative_rnn.sampling.respond import MAX_BEAM

RUN = Path(__file__).parent / "fixtures" / "old_runs" / "seq2seq" / "run"


@pytest.mark.parametrize("options, match", [
    ({"temperature": math.nan}, "temperature"),
    ({"top_p": math.inf}, "top_p"),
    ({"num": 100_000_000}, "num"),
    ({"length": 10**9}, "length"),
    ({"beam": 2, "length": 10**9}, "length"),
    ({"beam": -1}, "beam"),
    ({"beam": MAX_BEAM + 1}, f"{MAX_BEAM}"),
])
def test_bad_numbers_are_refused(options, match):
    with pytest.raises(SamplingError, match=match):
        Responder(RUN).respond("abc", **options)


def test_good_options_still_answer():
    responder = Responder(RUN)
    assert len(responder.respond("abc", num=2, length=5, seed=1)) == 2
    assert len(responder.respond("abc", beam=2, num=2, length=5)) == 2


def test_a_call_is_bounded_before_it_is_encoded():
    with pytest.raises(SamplingError, match=f"{MAX_PRIME_CHARS:,}"):
        Responder(RUN).respond("a" * (MAX_PRIME_CHARS + 1), length=5)
