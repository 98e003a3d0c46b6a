"""The run directory: the only artifact of training, written atomically, no pickle.

    RUN/config.json            resolved ModelConfig + TrainConfig (+ corpus description)
    RUN/codec.json             codec name, options and vocabulary
    RUN/model.safetensors      latest weights (what readers load with --last)
    RUN/optimizer.safetensors  everything a resume needs, as ONE file: weights, AdamW
                               moments, the carried hidden state, and the trainer state
                               (step, RNG states, data cursor, best loss) as JSON metadata
    RUN/state.json             a readable copy of that trainer state
    RUN/best/model.safetensors best weights by validation loss (what readers load by default)
    RUN/metrics.jsonl          one JSON object per logged step
    RUN/loss.png               loss curves

Why resume state is one file: a process can be killed between any two renames. With the
weights, moments and cursor in one atomically replaced file, the resume state is always
from a single step; the other files are each valid on their own.

Every safetensors file carries the SHA-256 of its tensors in its header, so a truncated,
bit-flipped or foreign file is refused with a clear error instead of loading garbage.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as st_save

from .errors import CheckpointError

FORMAT = "creative-rnn/1"
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the mode a plain open() would give a new file


# --- atomic files -------------------------------------------------------------------------
def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are for sharing
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:  # makes the rename itself durable; not possible on every platform
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def read_json(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p} is missing; is {p.parent} a creative-rnn run directory?")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{p} is corrupt ({e}); restore it or train again") from None


# --- tensors ------------------------------------------------------------------------------
def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor],
                 meta: dict[str, Any] | None = None) -> None:
    """Atomically write tensors (moved to CPU, made contiguous) with a checksum and metadata."""
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    metadata = {"format": FORMAT, "sha256": _digest(cpu),
                "meta": json.dumps(meta or {}, ensure_ascii=False)}
    atomic_write_bytes(path, st_save(cpu, metadata=metadata))


def load_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify a file written by ``save_tensors``. Never unpickles anything."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p} is missing; train a model first or check the run path")
    try:
        with safe_open(str(p), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises several types for a damaged header or body
        raise CheckpointError(
            f"{p} is not a readable safetensors checkpoint ({type(e).__name__}); "
            "it is truncated or not ours: restore it or train again"
        ) from None
    if metadata.get("format") != FORMAT or "sha256" not in metadata:
        raise CheckpointError(f"{p} was not written by creative-rnn (no checksum); refusing it")
    if _digest(tensors) != metadata["sha256"]:
        raise CheckpointError(f"{p} fails its checksum: the file is damaged or was edited")
    try:
        meta = json.loads(metadata.get("meta", "{}"))
    except json.JSONDecodeError:
        raise CheckpointError(f"{p} has corrupt metadata; restore it or train again") from None
    return tensors, meta


# --- reading a run ------------------------------------------------------------------------
def load_run(run_dir: str | Path, last: bool = False, device: str | None = "cpu"):
    """(model, codec, config) from a run directory: the best weights unless ``last``.

    The run directory is self-describing: codec, vocabulary and model shape all come from it.
    """
    from . import codecs
    from .config import ModelConfig, from_dict
    from .models import SequenceModel

    run = Path(run_dir)
    if not run.is_dir():
        raise CheckpointError(f"run directory {run} does not exist; train one first")
    cfg = read_json(run / "config.json")
    if cfg.get("task", "lm") != "lm":  # classify/seq2seq runs have their own loaders (tasks/)
        raise CheckpointError(f"{run} is a {cfg['task']} run, not a language model; use "
                              "creative-rnn respond (seq2seq) or creative-rnn classify")
    codec = codecs.from_json(read_json(run / "codec.json"))
    try:
        model_cfg = from_dict(ModelConfig, cfg["model"])
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{run}/config.json has no valid model section ({e})") from None
    best = run / "best" / "model.safetensors"
    weights = run / "model.safetensors" if last or not best.exists() else best
    tensors, meta = load_tensors(weights)
    model = SequenceModel(model_cfg)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{weights} does not fit {run}/config.json ({e})") from None
    model.eval()
    if device is not None:
        model.to(device)
    cfg["weights"] = {"path": str(weights), **meta}
    return model, codec, cfg
