"""Config resolution: defaults < preset < file < --set; unknown keys and bad types are errors."""

import json

import pytest

from creative_rnn.config import PRESETS, parse_set, resolve
from creative_rnn.errors import ConfigError


def test_precedence_defaults_preset_file_set(tmp_path):
    model, train = resolve()
    assert model.hidden_size == 256 and train.batch_size == 32  # dataclass defaults
    model, train = resolve("tiny")
    assert model.hidden_size == PRESETS["tiny"]["hidden_size"]
    f = tmp_path / "c.toml"
    f.write_text("[model]\nhidden_size = 96\n[train]\nbatch_size = 8\nlr = 0.01\n")
    model, train = resolve("tiny", f)
    assert (model.hidden_size, train.batch_size, train.lr) == (96, 8, 0.01)
    model, train = resolve("tiny", f, parse_set(["hidden_size=33", "cell=gru"]))
    assert (model.hidden_size, model.cell, train.batch_size) == (33, "gru", 8)


def test_json_config_file(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"num_layers": 3, "dropout": 0.1}))
    model, _ = resolve(file=f)
    assert (model.num_layers, model.dropout) == (3, 0.1)


@pytest.mark.parametrize("overrides, match", [
    ({"hiden_size": "3"}, "unknown config key.*hiden_size"),
    ({"hidden_size": "big"}, "hidden_size.*expects int"),
    ({"hidden_size": "2.5"}, "expects int"),
    ({"documents": "maybe"}, "expects bool"),
    ({"cell": "transformer"}, "cell='transformer'"),
    ({"dropout": "1.5"}, "dropout"),
    ({"batch_size": "0"}, "batch_size must be at least 1"),
    ({"precision": "fp8"}, "precision"),
])
def test_bad_values_are_clear_errors(overrides, match):
    with pytest.raises(ConfigError, match=match):
        resolve(overrides=overrides)


def test_bad_preset_and_files(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset"):
        resolve("huge")
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(file=tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("hidden_size = [")
    with pytest.raises(ConfigError, match="not valid"):
        resolve(file=bad)
    with pytest.raises(ConfigError, match="key=value"):
        parse_set(["hidden_size"])
