"""benchmarks/fine_tune.py on one corpus with a tiny budget: the fine-tuned model, the one
trained from scratch and the starter alone are all measured, and the JSON is in the format
the documentation's benchmark pages read (docs/hooks/benchmarks.py), every number finite.
No timing and no quality is checked here: that is the script's business, on a quiet
machine."""

from __future__ import annotations

import json
import math

import pytest
from support import script_module

pytestmark = pytest.mark.usefixtures("one_thread")

ROW_KEYS = {"measure", "unit", "baseline", "baseline_value", "value", "target", "met", "ratio"}


def test_a_tiny_run_writes_finite_rows_in_the_benchmark_format(tmp_path, capsys):
    bench = script_module("benchmarks/fine_tune.py")
    out = tmp_path / "ft.json"
    bench.main(["--corpus", "poem-1k", "--steps", "2", "--minutes", "5", "--num", "2",
                "--length", "30", "--out", str(tmp_path / "runs"), "--json", str(out)])
    printed = capsys.readouterr().out
    assert "budget: 2 steps" in printed and "poem-1k" in printed

    data = json.loads(out.read_text())
    hook = script_module("docs/hooks/benchmarks.py")
    assert hook.load(out)["title"] == data["title"]  # the docs read it as it is
    rows = data["rows"]
    assert rows and all(set(r) == ROW_KEYS for r in rows)
    for r in rows:
        assert math.isfinite(r["value"]) and math.isfinite(r["baseline_value"]), r
        assert r["ratio"] is None or math.isfinite(r["ratio"]), r
        assert r["met"] in (True, False, None)
    measures = [r["measure"] for r in rows]
    assert "poem-1k: validation loss, fine-tuned from shakespeare" in measures
    assert "poem-1k: validation loss, the shakespeare starter alone" in measures
    goal = rows[measures.index("poem-1k: validation loss, fine-tuned from shakespeare")]
    assert goal["met"] == (goal["value"] <= goal["baseline_value"] - 0.3)

    (corpus,) = data["corpora"]
    assert corpus["fine-tuned"]["steps"] == corpus["scratch"]["steps"] == 2  # equal budget
    assert corpus["starter"]["steps"] == 0
    assert data["budget"]["steps"] == 2
