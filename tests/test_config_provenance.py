"""Where each value of a run's configuration came from: the one resolver
(config.resolve_layers) keeps every key's source, train() records it in config.json, and
`creative-rnn config RUN` prints it. Old runs (and the starters) have none and still load.

The trained run is conftest's session `tiny_text_run`; a fine-tune's sources are checked in
test_finetune.py (folk on the command line), the machine's in test_training_fit.py."""

import json
import shutil

import numpy as np
import pytest

import creative_rnn as cr
from creative_rnn import rundir
from creative_rnn.cli import main
from creative_rnn.config import DEFAULT_CELL, PRESETS, ModelConfig
from creative_rnn.config_layers import Layer, given_layers, resolve_layers
from creative_rnn.data.store import Split
from creative_rnn.errors import ConfigError
from creative_rnn.training.lm import fit_shapes


def test_each_key_says_where_its_value_came_from(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[train]\nbatch_size = 8\n")
    resolved = resolve_layers(*given_layers(
        "tiny", f, {"hidden_size": "33", "max_steps": 5}, {"max_steps": "flag --max-steps"}))
    assert (resolved.model.hidden_size, resolved.train.max_steps) == (33, 5)
    assert resolved.sources["hidden_size"] == "--set"
    assert resolved.sources["max_steps"] == "flag --max-steps"
    assert resolved.sources["batch_size"] == f"config file {f}"
    assert resolved.sources["lr"] == "preset tiny" and resolved.train.lr == PRESETS["tiny"]["lr"]
    assert resolved.sources["weight_decay"] == "default"
    assert resolved.pinned == {"hidden_size", "max_steps", "batch_size"}
    # every config key has a source
    assert set(resolved.sources) == set(vars(resolved.model)) - {"vocab_size", "output_size"} \
        | set(vars(resolved.train))


def test_the_users_key_beats_a_fitted_one_and_a_limit_beats_both():
    user = Layer("--set", {"batch_size": 64, "seq_len": 50}, "user")
    fitted = Layer("fitted to the machine", {"batch_size": 16, "hidden_size": 128}, "fitted",
                   {"hidden_size": "a step took 90 ms"})
    # given after the user's layer, a fitted value still loses to it (ranks, not order)
    resolved = resolve_layers(user).then(fitted)
    assert (resolved.train.batch_size, resolved.model.hidden_size) == (64, 128)
    assert resolved.sources["batch_size"] == "--set"
    assert resolved.sources["hidden_size"] == "fitted to the machine: a step took 90 ms"
    limit = Layer("fitted to the corpus", {"seq_len": 20}, "limit", {"seq_len": "too small"})
    assert resolved.then(limit).train.seq_len == 20
    assert resolved.then(limit).sources["seq_len"] == "fitted to the corpus: too small"
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) hidden \(fitted to x\)"):
        resolve_layers(Layer("fitted to x", {"hidden": 1}))


def test_a_small_corpus_is_a_limit_over_the_users_batch(capsys):
    resolved = resolve_layers(Layer("--set", {"batch_size": 32, "seq_len": 10}, "user"))
    layers = fit_shapes(resolved.train, Split(stream=np.arange(101)))
    shrunk = resolved.then(*layers)
    assert (shrunk.train.batch_size, shrunk.train.seq_len) == (10, 10)
    assert shrunk.sources["batch_size"] == ("fitted to the corpus: 101 training tokens hold no "
                                            "more (asked for 32)")
    assert shrunk.sources["seq_len"] == "--set"  # it fits: the user's stays
    assert "corpus is small" in capsys.readouterr().err
    assert fit_shapes(resolved.train, Split(stream=np.arange(10_000))) == []


def test_the_default_cell_has_one_home():
    assert ModelConfig().cell == DEFAULT_CELL
    assert all(p["cell"] == DEFAULT_CELL for p in PRESETS.values())


def test_a_run_records_its_sources_and_config_prints_them(tiny_text_run, capsys):
    sources = rundir.read_config(tiny_text_run)[rundir.SOURCES]
    # conftest: train(preset="tiny", hidden_size=48, max_steps=60, ...) from Python
    assert sources["hidden_size"] == "train(hidden_size=...)"
    assert sources["lr"] == "preset tiny" and sources["ema"] == "default"
    assert sources["vocab_size"] == "filled in from the char codec"
    assert main(["config", str(tiny_text_run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[model]" and "[train]" in lines
    assert "  hidden_size       48      train(hidden_size=...)" in lines
    assert any(line.split() == ["lr", "0.005", "preset", "tiny"] for line in lines)
    assert main(["config", str(tiny_text_run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recorded"] is True
    assert data["train"]["max_steps"] == {"value": 60, "source": "train(max_steps=...)"}
    assert data["model"]["cell"] == {"value": DEFAULT_CELL, "source": "preset tiny"}


def test_a_run_from_before_provenance_loads_and_says_so(tiny_text_run, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(tiny_text_run, old)
    config = json.loads((old / rundir.CONFIG).read_text())
    del config[rundir.SOURCES]
    (old / rundir.CONFIG).write_text(json.dumps(config))
    assert cr.load(old).generate(prime="The", length=5, seed=0)  # still loads and samples
    assert main(["config", str(old)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{old}: recorded before provenance: its values, not where they came from"
    assert "  hidden_size       48" in out  # the values, no source
    assert main(["config", str(old), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recorded"] is False
    assert data["model"]["hidden_size"] == {"value": 48, "source": "recorded before provenance"}
    # a starter, by name: the same (they were trained before provenance was recorded)
    assert main(["config", "folk"]) == 0
    assert "recorded before provenance" in capsys.readouterr().out


def test_no_such_run_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["config", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "nowhere" in err


def test_a_damaged_sources_section_is_one_line(tiny_text_run, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_text_run, bad)
    config = json.loads((bad / rundir.CONFIG).read_text())
    config[rundir.SOURCES] = {"lr": 3}
    (bad / rundir.CONFIG).write_text(json.dumps(config))
    assert main(["config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged sources section" in err
