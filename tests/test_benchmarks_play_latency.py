"""benchmarks/play_latency.py runs end to end on a tiny model: both paths (the Performer
alone, and the Play view in Chromium) answer a phrase, and the figures it prints are made
from real answers. No timing is checked here; that is the script's business."""

from __future__ import annotations

from support import script_module
from support_web import needs_chromium

from creative_rnn import starters

pytestmark = needs_chromium

def test_both_paths_answer(tmp_path):
    bench = script_module("benchmarks/play_latency.py")
    assert "melody" in starters.names()  # the script builds its model from the starter's
    run = bench.fresh_run(tmp_path / "tiny", hidden=16, layers=1)
    base, page = bench.measure(run, phrases=1, bpm=120.0, bars=0.25)
    for figures in (base, page):
        assert figures["answers"] == 1 and figures["notes"] >= 1
        assert figures["first_median_ms"] is not None and figures["grid_p99_ms"] >= 0
    # the answer starts after the pause, never before it
    assert base["first_median_ms"] > 0 and page["first_median_ms"] > 0
