"""The run directory's owner: a new run in a folder that kept an earlier attempt's files."""

from __future__ import annotations

import torch

from creative_rnn import codecs, rundir
from creative_rnn.core.tensors import save_tensors


def test_create_clears_a_best_left_by_a_run_stopped_before_its_first_checkpoint(tmp_path):


    save_tensors(tmp_path / "best" / "model.safetensors", {"w": torch.zeros(2)})
    assert not rundir.exists(tmp_path)  # no weights or resume state: may be started again
    codec = codecs.get("char")
    codec.fit(["ab"])
    rundir.create(tmp_path, {"task": "lm"}, codec)
    assert not (tmp_path / "best" / "model.safetensors").exists()
    assert rundir.read_config(tmp_path)["task"] == "lm" and rundir.read_metrics(tmp_path) == []
