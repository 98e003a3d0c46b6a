"""benchmarks/web_load.py talks to the studio as its page does (the page's token, Host and
Origin): a few streams against a tiny run all finish, so the script cannot quietly turn
into a count of 403s again. No timing is checked here; that is the script's business."""

from __future__ import annotations

import pytest
from support import script_module
from support_web import text_run

pytestmark = pytest.mark.usefixtures("one_thread")

def test_streams_all_finish(tmp_path, startrek):
    run = text_run(tmp_path, startrek)
    results, _ = script_module("benchmarks/web_load.py").measure(run, streams=3, length=20)
    assert len(results) == 3
    assert [error for _, error in results] == [None, None, None]
    assert all(first is not None and first > 0 for first, _ in results)  # tokens came
