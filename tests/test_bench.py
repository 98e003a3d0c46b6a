"""`creative-rnn bench`: the table and its JSON; a real (quick) section end to end."""

import json

import pytest
import torch

from creative_rnn.bench import report
from creative_rnn.bench.report import Row
from creative_rnn.cli import main


def test_report_prints_every_row_and_writes_json(tmp_path):
    lines = []
    rows = report.run({"a": lambda d: [Row("x", "tok/s", "base", 100.0, 250.0, ">= 2x", True)],
                       "b": lambda d: [Row("y", "nats", "plain", 1.5, 1.2)]},
                      torch.device("cpu"), tmp_path / "out.json", log=lines.append)
    text = "\n".join(lines)
    assert [r.measure for r in rows] == ["x", "y"]
    assert "2.50x" in text and ">= 2x (met)" in text and "0.80x" in text
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["device"].startswith("cpu")
    assert [r["ratio"] for r in data["rows"]] == pytest.approx([2.5, 0.8])
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, no leftovers


def test_unknown_section_is_a_one_line_error(tmp_path, capsys):
    assert main(["bench", "--only", "nonsense", "--json", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nonsense" in err
    assert not (tmp_path / "b.json").exists()


def test_quick_sampling_section_measures_engine_against_eager(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "sampling", "--device", "cpu",
                 "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert "sample 2x128 LSTM, engine loop, 1 stream" in {r["measure"] for r in rows}
    for r in rows:
        assert r["baseline_value"] > 0 and r["value"] > 0
        assert r["ratio"] == pytest.approx(r["value"] / r["baseline_value"])
    assert "sample 2x128 LSTM, engine loop" in capsys.readouterr().out


def test_quick_corpus_section_reads_the_cache_on_the_second_run(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "corpus", "--corpus-mb", "2", "--device", "cpu",
                 "--json", str(out)]) == 0
    rows = {r["measure"]: r for r in json.loads(out.read_text())["rows"]}
    start = rows["2 MB text: launch to first step, second run"]
    assert start["value"] > 0 and start["baseline_value"] > 0
    rss = rows["2 MB text: peak RSS of the first run"]
    assert 0 < rss["value"] < rss["baseline_value"]  # under the 2 GB budget
    assert "second run read the token cache: True" in capsys.readouterr().out
