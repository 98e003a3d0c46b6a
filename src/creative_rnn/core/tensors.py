"""Tensors on disk: safetensors with a SHA-256 of the tensors and JSON metadata. No pickle.

Every file carries the checksum in its header, so a truncated, bit-flipped or foreign file
is refused with a clear error instead of loading garbage. Since format 2 the checksum also
covers the JSON metadata (a resume trusts its step, cursor and best loss as much as the
weights); files of format 1 (tensors only) still load, and their readers check the metadata's
shape themselves.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as st_save

from ..errors import CheckpointError
from .files import atomic_write_bytes

FORMAT = "creative-rnn/2"
LEGACY_FORMAT = "creative-rnn/1"  # the checksum covers the tensors only


def _digest(tensors: dict[str, torch.Tensor], meta: str | None) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    if meta is not None:
        h.update(b"meta|" + meta.encode())
    return h.hexdigest()


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor],
                 meta: dict[str, Any] | None = None) -> None:
    """Atomically write tensors (moved to CPU, made contiguous) with a checksum and metadata."""
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    text = json.dumps(meta or {}, ensure_ascii=False)
    metadata = {"format": FORMAT, "sha256": _digest(cpu, text), "meta": text}
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
    version = metadata.get("format")
    if version not in (FORMAT, LEGACY_FORMAT) or "sha256" not in metadata:
        raise CheckpointError(f"{p} was not written by creative-rnn (no checksum); refusing it")
    text = metadata.get("meta", "{}")
    if _digest(tensors, text if version == FORMAT else None) != metadata["sha256"]:
        raise CheckpointError(f"{p} fails its checksum: the file is damaged or was edited")
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError):
        meta = None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{p} has corrupt metadata; restore it or train again")
    return tensors, meta


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes from a file's header alone (nothing else is read): enough to check a
    config against its weights before building a model of the config's size."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p} is missing; train a model first or check the run path")
    try:
        with safe_open(str(p), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as e:  # as in load_tensors: a damaged header has several error types
        raise CheckpointError(
            f"{p} is not a readable safetensors checkpoint ({type(e).__name__}); "
            "it is truncated or not ours: restore it or train again"
        ) from None
