"""The classify reader (sampling/classify.py): its input is bounded like a prime (an old
fixture run, no training)."""

from pathlib import Path

import pytest

from creative_rnn.errors import SamplingError
from creative_rnn.sampling import Classifier
from creative_rnn.sampling.generator import MAX_PRIME_CHARS

RUN = Path(__file__).parent / "fixtures" / "old_runs" / "classify" / "run"


def test_an_input_is_bounded_before_it_is_encoded():
    classifier = Classifier(RUN)
    assert isinstance(classifier.predict("aabab"), str)
    with pytest.raises(SamplingError, match=f"{MAX_PRIME_CHARS:,}"):
        classifier.predict("a" * (MAX_PRIME_CHARS + 1))
