"""The run directory's files: atomic, checksummed, never unpickled."""

import os
import pickle
import subprocess
import sys

import pytest
import torch

from creative_rnn.core import files, tensors
from creative_rnn.errors import CheckpointError


def test_tensors_round_trip_with_metadata(tmp_path):
    t = {"a": torch.randn(3, 4), "b": torch.arange(5), "h": torch.randn(2, 2).bfloat16()}
    tensors.save_tensors(tmp_path / "x.safetensors", t, {"step": 7})
    back, meta = tensors.load_tensors(tmp_path / "x.safetensors")
    assert meta == {"step": 7}
    assert all(torch.equal(t[k], back[k]) for k in t)


def test_truncated_file_is_refused(tmp_path):
    p = tmp_path / "m.safetensors"
    tensors.save_tensors(p, {"w": torch.randn(64, 64)})
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not ours"):
        tensors.load_tensors(p)


def test_bit_flip_is_caught_by_the_checksum(tmp_path):
    p = tmp_path / "m.safetensors"
    tensors.save_tensors(p, {"w": torch.randn(64, 64)})
    data = bytearray(p.read_bytes())
    data[-100] ^= 0x04  # one bit in the tensor data: safetensors alone would load it
    p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        tensors.load_tensors(p)


def test_pickle_posing_as_checkpoint_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    p = tmp_path / "model.safetensors"
    p.write_bytes(pickle.dumps({"w": Evil()}))
    with pytest.raises(CheckpointError):
        tensors.load_tensors(p)
    assert not marker.exists()


def test_foreign_safetensors_without_checksum_is_refused(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "m.safetensors"
    save_file({"w": torch.zeros(2)}, str(p))
    with pytest.raises(CheckpointError, match="not written by creative-rnn"):
        tensors.load_tensors(p)


def test_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match="missing"):
        tensors.load_tensors(tmp_path / "none.safetensors")
    with pytest.raises(CheckpointError, match="missing"):
        files.read_json(tmp_path / "config.json")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        files.read_json(tmp_path / "config.json")


def test_kill_during_write_leaves_the_old_file(tmp_path):
    """A process killed after writing the temporary file but before the rename."""
    target = tmp_path / "state.json"
    files.atomic_write_json(target, {"step": 1})
    script = f"""
import os, signal
import creative_rnn.core.files as c
real = os.replace
def die(*a):
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = die
c.atomic_write_json({str(target)!r}, {{"step": 2}})
"""
    r = subprocess.run([sys.executable, "-c", script])
    assert r.returncode == -9
    assert files.read_json(target) == {"step": 1}


def test_atomic_write_cleans_up_on_error(tmp_path):
    class Boom(Exception):
        pass

    target = tmp_path / "f.bin"
    real = os.replace

    def fail(*a):
        raise Boom

    os.replace = fail
    try:
        with pytest.raises(Boom):
            files.atomic_write_bytes(target, b"data")
    finally:
        os.replace = real
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_one_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    from creative_rnn.errors import WriteError

    target = tmp_path / "model.safetensors"
    tensors.save_tensors(target, {"w": torch.ones(3)}, {"step": 1})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(WriteError, match="No space left on device.*earlier file is kept"):
        tensors.save_tensors(target, {"w": torch.zeros(3)}, {"step": 2})
    monkeypatch.undo()
    loaded, meta = tensors.load_tensors(target)
    assert meta == {"step": 1} and torch.equal(loaded["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left
