"""The process memory settings (memory.py): applied on import, left alone where the user set
their own, and they do what they are for: a training step stops faulting its memory in again
on every step."""

import sys

import pytest

from creative_rnn.bench.allocator import measure

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux settings")


def test_settings_are_applied_on_import_and_stop_the_refaulting():
    tuned = measure(steps=4, settings=True)
    assert tuned["applied"] == {"heap": True, "huge_pages": True}
    plain = measure(steps=4, settings=False)  # the user's own THP_MEM_ALLOC_ENABLE=0 is kept
    assert plain["applied"] == {"heap": False, "huge_pages": False}
    # without them each step faults in its tens of MB of activations again, 4 KB a fault
    assert plain["faults"] > 5_000, plain
    assert tuned["faults"] * 5 < plain["faults"], (tuned, plain)
