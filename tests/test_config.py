"""Config resolution: defaults < preset < file < --set; unknown keys and bad types are errors."""

import json
import math

import pytest

from creative_rnn.config import MAX_LENGTH, MAX_NUM, MAX_TOKENS, PRESETS, SampleConfig
from creative_rnn.config_layers import parse_set, resolve
from creative_rnn.errors import ConfigError, SamplingError


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


# --- non-finite and out-of-range numbers (issue 20) -----------------------------------------
@pytest.mark.parametrize("key, value", [
    ("lr", "nan"), ("lr", "inf"), ("lr", "0"), ("lr", "-1e-3"),
    ("grad_clip", "-1"), ("grad_clip", "nan"), ("grad_clip", "inf"),
    ("weight_decay", "nan"), ("weight_decay", "-0.1"),
    ("min_lr_ratio", "nan"), ("min_lr_ratio", "1.5"), ("min_lr_ratio", "-0.1"),
    ("max_minutes", "nan"), ("max_minutes", "inf"), ("max_minutes", "-1"),
    ("forget_bias", "nan"), ("forget_bias", "-inf"),
    ("dropout", "nan"), ("weight_drop", "inf"), ("ema", "nan"), ("val_fraction", "nan"),
    ("hidden_size", str(10**9)), ("num_layers", "1000"), ("embedding_size", str(10**8)),
    ("batch_size", str(10**9)), ("seq_len", str(10**9)), ("seed", "-1"), ("seed", str(2**64)),
])
def test_non_finite_and_out_of_range_numbers_are_refused(key, value):
    """Every number a user types is finite and in range where it enters, with one line
    naming the key (nan compares false with everything, so plain range checks let it by)."""
    with pytest.raises(ConfigError, match=key) as e:
        resolve(overrides={key: value})
    assert "\n" not in str(e.value)


def test_grad_clip_zero_is_off_and_allowed():
    _, train = resolve(overrides={"grad_clip": "0"})
    assert train.grad_clip == 0.0


def test_config_files_with_nan_or_huge_numbers_are_clear_errors(tmp_path):
    f = tmp_path / "c.json"
    f.write_text('{"lr": NaN}')
    with pytest.raises(ConfigError, match="lr"):
        resolve(file=f)
    f.write_text('{"hidden_size": ' + "9" * 5000 + "}")  # beyond Python's int() digit limit
    with pytest.raises(ConfigError, match="c.json"):
        resolve(file=f)
    t = tmp_path / "c.toml"
    t.write_text("hidden_size = " + "9" * 5000 + "\n")
    with pytest.raises(ConfigError, match="c.toml"):
        resolve(file=t)
    t.write_text("lr = nan\n")
    with pytest.raises(ConfigError, match="lr"):
        resolve(file=t)


@pytest.mark.parametrize("options, match", [
    ({"temperature": math.nan}, "temperature"), ({"temperature": math.inf}, "temperature"),
    ({"temperature": 1e-30}, "temperature"), ({"temperature": 1e9}, "temperature"),
    ({"temperature": math.nan, "greedy": True}, "temperature"),
    ({"top_p": math.nan}, "top_p"), ({"top_k": 10**12}, "top_k"),
    ({"length": 10**9}, "length"), ({"num": 100_000_000}, "num"),
    ({"num": 1000, "length": 100_000}, "num"),
    ({"seed": -1}, "seed"), ({"seed": 2**64}, "seed"),
])
def test_bad_sampling_numbers_are_refused(options, match):
    sc = SampleConfig(**options)
    with pytest.raises(SamplingError, match=match) as e:
        sc.validate()
    assert "\n" not in str(e.value)


def test_sampling_caps_are_stated_in_the_message():
    with pytest.raises(SamplingError, match=f"{MAX_NUM:,}"):
        SampleConfig(num=MAX_NUM + 1).validate()
    with pytest.raises(SamplingError, match=f"{MAX_LENGTH:,}"):
        SampleConfig(length=MAX_LENGTH + 1).validate()
    SampleConfig(num=MAX_NUM, length=MAX_TOKENS // MAX_NUM).validate()  # the caps themselves
