"""The run directory's owner: what a new run may be written over, and what a tampered or
damaged run directory gets (one CheckpointError naming the file, before any big allocation)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as st_save

import creative_rnn as cr
from creative_rnn import codecs, rundir
from creative_rnn.core.files import atomic_write_bytes
from creative_rnn.core.tensors import LEGACY_FORMAT, _digest, save_tensors
from creative_rnn.errors import CheckpointError, UserError

pytestmark = pytest.mark.usefixtures("one_thread")


def _codec():
    codec = codecs.get("char")
    codec.fit(["ab"])
    return codec


def test_create_clears_a_best_left_by_a_run_stopped_before_its_first_checkpoint(tmp_path):
    rundir.create(tmp_path, {"task": "lm"}, _codec())  # the earlier attempt
    save_tensors(tmp_path / "best" / "model.safetensors", {"w": torch.zeros(2)})
    assert not rundir.exists(tmp_path)  # no weights or resume state: may be started again
    rundir.create(tmp_path, {"task": "lm"}, _codec())
    assert not (tmp_path / "best" / "model.safetensors").exists()
    assert rundir.read_config(tmp_path)["task"] == "lm" and rundir.read_metrics(tmp_path) == []


def test_a_folder_that_is_not_a_run_is_never_written_over(tmp_path, startrek):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": "settings"}')
    (mine / "metrics.jsonl").write_text("my numbers\n")
    with pytest.raises(UserError, match="not a creative-rnn run"):
        cr.train(corpus=[str(startrek)], out=mine, preset="tiny", max_steps=2,
                 progress_bar=False)
    assert (mine / "config.json").read_text() == '{"my": "settings"}'
    assert (mine / "metrics.jsonl").read_text() == "my numbers\n"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        rundir.check_new(tmp_path / "a-file")
    rundir.check_new(tmp_path / "empty")  # a new folder, and an empty one, are fine
    (tmp_path / "empty").mkdir()
    rundir.check_new(tmp_path / "empty")


def test_an_unwritable_out_is_one_line(tmp_path):
    with pytest.raises(UserError, match="cannot create the run folder"):
        rundir.create("/proc/creative-rnn-test/run", {"task": "lm"}, _codec())


@pytest.fixture
def run(tmp_path, tiny_text_run):
    copy = tmp_path / "run"
    shutil.copytree(tiny_text_run, copy)
    return copy


def _edit_json(path, change):
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data)))


def _set_model(**values):
    def change(cfg):
        cfg["model"].update(values)
        return cfg
    return change


@pytest.mark.parametrize("values", [
    {"hidden_size": 12000}, {"num_layers": 10**6}, {"hidden_size": -5},
    {"embedding_size": 2**40}, {"cell": "gru"},
])
def test_a_config_that_does_not_fit_its_weights_is_refused_before_building(run, monkeypatch,
                                                                           values):
    _edit_json(run / "config.json", _set_model(**values))
    built_on = []
    real = rundir.SequenceModel

    def spy(cfg):
        built_on.append(torch.empty(0).device.type)  # the default device while building
        return real(cfg)

    monkeypatch.setattr(rundir, "SequenceModel", spy)
    with pytest.raises(CheckpointError, match="config.json"):
        rundir.load_run(run)
    assert set(built_on) <= {"meta"}  # nothing of the config's size was allocated


def test_a_config_that_is_a_list_or_nested_deep_is_one_error(run):
    (run / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="not a JSON object"):
        rundir.load_run(run)
    (run / "config.json").write_text("[" * 30000 + "]" * 30000)
    with pytest.raises(CheckpointError, match="corrupt"):
        rundir.load_run(run)
    (run / "config.json").write_text('{"model": ' + "9" * 5000 + "}")
    with pytest.raises(CheckpointError, match="corrupt"):
        rundir.load_run(run)


def test_a_vocabulary_shorter_than_the_model_is_refused(run):
    def shorter(data):
        data["vocab"] = data["vocab"][:-3]
        return data

    _edit_json(run / "codec.json", shorter)
    with pytest.raises(CheckpointError, match="tokens but the model was trained on"):
        rundir.load_run(run)


def _rewrite_meta(path, change, legacy=False):
    """Edit the JSON metadata of a tensors file as a person with a script would: the tensors
    and the checksum stay as they were (or, ``legacy``, a first-format file is rewritten
    with its tensors-only checksum, which never covered the metadata)."""
    with safe_open(str(path), framework="pt") as f:
        header = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta = change(json.loads(header["meta"]))
    header["meta"] = json.dumps(meta)
    if legacy:
        header["format"], header["sha256"] = LEGACY_FORMAT, _digest(tensors, None)
    atomic_write_bytes(path, st_save(tensors, metadata=header))


def test_the_checksum_covers_what_resume_trusts(run):
    def lie(meta):
        meta["step"] += 1000
        meta["best_val_loss"] = 0.01
        return meta

    _rewrite_meta(run / "optimizer.safetensors", lie)
    with pytest.raises(CheckpointError, match="fails its checksum"):
        cr.train(resume=run, max_steps=200, progress_bar=False)


@pytest.mark.parametrize("cursor", [{"epoch": "x", "pos": 0}, {"epoch": 0}, [1, 2],
                                    {"epoch": -1, "pos": 3}, {"epoch": 0, "pos": 1e300}])
def test_a_damaged_cursor_in_a_first_format_file_is_one_error(run, cursor):
    def damage(meta):
        meta["cursor"] = cursor
        return meta

    _rewrite_meta(run / "optimizer.safetensors", damage, legacy=True)
    with pytest.raises(CheckpointError, match="cursor|trainer state"):
        cr.train(resume=run, max_steps=200, progress_bar=False)


def test_a_first_format_file_still_resumes(run):
    step = json.loads((run / "state.json").read_text())["step"]
    _rewrite_meta(run / "optimizer.safetensors", lambda m: m, legacy=True)
    result = cr.train(resume=run, max_steps=step + 2, progress_bar=False)
    assert result.step == step + 2


def test_a_full_disk_during_a_checkpoint_keeps_the_last_one(run, monkeypatch):
    import errno

    from creative_rnn.core import files
    from creative_rnn.errors import WriteError

    before = json.loads((run / "state.json").read_text())["step"]
    weights = (run / "optimizer.safetensors").read_bytes()

    real = files.os.replace

    def full_at_checkpoint(src, dst):  # the disk fills while the resume state is written
        if str(dst).endswith("optimizer.safetensors"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(files.os, "replace", full_at_checkpoint)
    with pytest.raises(WriteError, match="optimizer.safetensors .No space left on device"):
        cr.train(resume=run, max_steps=before + 2, progress_bar=False)
    monkeypatch.undo()
    assert (run / "optimizer.safetensors").read_bytes() == weights
    result = cr.train(resume=run, max_steps=before + 2, progress_bar=False)
    assert result.step == before + 2


@pytest.mark.parametrize("change", [
    lambda c: c.__setitem__("model", []), lambda c: c.__setitem__("train", 5),
    lambda c: c.__setitem__("corpus", "x"), lambda c: c["corpus"].__setitem__("sources", 5),
    lambda c: c.__setitem__("task", 5),
])
def test_a_damaged_config_section_is_one_error_for_every_reader(run, change):
    def apply(cfg):
        change(cfg)
        return cfg

    _edit_json(run / "config.json", apply)
    with pytest.raises(CheckpointError, match="damaged"):
        rundir.read_config(run)
    with pytest.raises(CheckpointError, match="damaged"):
        cr.train(resume=run, max_steps=200, progress_bar=False)


def test_metrics_that_are_not_text_are_skipped_line_by_line(run):
    rows = rundir.read_metrics(run)
    (run / "metrics.jsonl").write_bytes(b"\xff\xfe[[[\n" + (run / "metrics.jsonl").read_bytes())
    assert rundir.read_metrics(run) == rows


@pytest.mark.parametrize("values", [{"hidden_size": 12000}, {"num_layers": 10**6}])
def test_resume_and_evaluate_check_the_config_before_building_the_task(run, monkeypatch,
                                                                      values):
    from creative_rnn.training import evaluation, lm

    _edit_json(run / "config.json", _set_model(**values))
    built = []
    monkeypatch.setattr(lm, "SequenceModel", lambda cfg: built.append(cfg))
    with pytest.raises(CheckpointError, match="config.json"):
        cr.train(resume=run, max_steps=200, progress_bar=False)
    with pytest.raises(CheckpointError, match="config.json"):
        evaluation.validation_loss(run)
    assert built == []  # the task's model was never built


def test_loading_a_run_does_not_import_torch_dynamo():
    """The fit check builds its probe on the meta device with the initialisers skipped: their
    meta kernels import torch._dynamo, which cost about a second of every command that loads
    a run. Checked in a fresh process (this one has imported everything already)."""
    code = ("import sys, creative_rnn as cr; cr.load('folk'); "
            "print('torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
