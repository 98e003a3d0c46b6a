"""Training entry points: corpus -> token store -> Trainer -> run directory.

``train`` starts a run or resumes one; ``prepare`` loads and encodes a corpus. The loop
itself is in ``trainer.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import threading
from pathlib import Path
from typing import Any

from . import checkpoint as ckpt
from . import codecs, distributed, token_cache
from .config import ModelConfig, TrainConfig, from_dict, resolve, to_dict
from .data import TokenStore, fit_stream_shape
from .errors import CheckpointError, UserError
from .rng import seed_everything
from .trainer import RunResult, Trainer, autocast_for, pick_device

__all__ = ["train", "prepare", "RunResult", "Trainer", "autocast_for", "pick_device",
           "seed_everything"]

UNLIMITED_STEPS = 10**9


def _ids_digest(store: TokenStore) -> str:
    if store.digest is not None:  # the token cache hashed the ids once, when it wrote them
        return store.digest
    return hashlib.sha256(store.ids.tobytes() + store.offsets.tobytes()).hexdigest()[:16]


# --- corpus preparation ----------------------------------------------------------------------
def prepare(corpus_spec: dict[str, Any], codec: codecs.Codec, fit: bool) -> TokenStore:
    """Load the corpus, fit the codec's vocabulary (new runs) and encode it; a corpus encoded
    before is memory-mapped from the token cache instead (``token_cache.py``)."""
    return token_cache.prepare(corpus_spec, codec, fit)


def _fit_shapes(train_cfg: TrainConfig, train_split) -> TrainConfig:
    """Shrink batch/sequence length for a small corpus, and say so."""
    if train_split.stream is not None:
        B, T = fit_stream_shape(len(train_split.stream), train_cfg.batch_size, train_cfg.seq_len)
    else:
        B, T = min(train_cfg.batch_size, len(train_split.docs)), train_cfg.seq_len
    if (B, T) != (train_cfg.batch_size, train_cfg.seq_len):
        if distributed.is_main():
            print(f"note: the corpus is small; using batch_size={B}, seq_len={T} "
                  f"(asked for {train_cfg.batch_size}, {train_cfg.seq_len})", file=sys.stderr)
        train_cfg = dataclasses.replace(train_cfg, batch_size=B, seq_len=T)
    return train_cfg


# --- public entry point ----------------------------------------------------------------------
def train(corpus: str | list[str] | None = None, out: str | Path | None = None,
          codec: str | codecs.Codec = "char", preset: str | None = None,
          config: str | Path | None = None, resume: str | Path | None = None,
          documents: bool | None = None, unit: str = "line", encoding: str = "utf-8",
          max_vocab: int | None = None, named_options: dict | None = None,
          progress_bar: bool = True, stop: threading.Event | None = None,
          **overrides: Any) -> RunResult:
    """Train a new run into ``out``, or continue ``resume`` in place.

    ``overrides`` are config keys (``hidden_size=128``, ``max_steps=500``, ...): they win over
    the file and the preset. On resume only ``max_steps``/``max_minutes`` may change.
    Setting ``stop`` (from another thread) ends the run after the current step, saved.
    """
    if resume is not None:
        return _resume(Path(resume), progress_bar, stop, **overrides)
    if corpus is None or out is None:
        raise UserError("train needs a corpus and --out RUN (or --resume RUN)")
    out = Path(out)
    if (out / "optimizer.safetensors").exists():
        raise UserError(f"{out} already holds a run; continue it with --resume {out} "
                        "or choose another --out")
    if documents is not None:
        overrides["documents"] = documents
    elif getattr(codecs.get(codec) if isinstance(codec, str) else codec, "documents", False):
        overrides.setdefault("documents", True)  # the codec's items are whole (ABC tunes)
    if "max_minutes" in overrides and overrides["max_minutes"] and "max_steps" not in overrides:
        overrides["max_steps"] = UNLIMITED_STEPS  # a time budget alone: time decides the end
    model_cfg, train_cfg = resolve(preset, config, overrides)
    if isinstance(codec, str):
        opts: dict[str, Any] = {}
        if codec in ("char", "word"):
            opts["encoding"] = encoding
            if max_vocab is not None:
                opts["max_vocab"] = max_vocab
        codec = codecs.get(codec, **opts)
    sources = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    spec = {"sources": [str(s) for s in sources], "documents": train_cfg.documents,
            "unit": unit, "named_options": named_options or {}}
    seed_everything(train_cfg.seed)
    store = prepare(spec, codec, fit=True)
    train_split, val_split = store.split(train_cfg.val_fraction, train_cfg.doc_max_len)
    train_cfg = _fit_shapes(train_cfg, train_split)
    distributed.check_batch(train_cfg.batch_size, distributed.world())  # before any write
    model_cfg = dataclasses.replace(model_cfg, vocab_size=codec.vocab_size,
                                    output_size=codec.output_size)
    if distributed.is_main():  # with many processes (torchrun) rank 0 alone writes the run
        out.mkdir(parents=True, exist_ok=True)
        ckpt.atomic_write_json(out / "codec.json", codec.to_json())
        ckpt.atomic_write_json(out / "config.json", {
            "format": ckpt.FORMAT, "task": "lm", "model": to_dict(model_cfg),
            "train": to_dict(train_cfg),
            "corpus": spec, "corpus_digest": _ids_digest(store),
        })
        (out / "metrics.jsonl").write_text("")
    trainer = Trainer(out, model_cfg, train_cfg, codec, train_split, val_split, stop)
    return trainer.run(progress_bar)


def _resume(run: Path, progress_bar: bool, stop: threading.Event | None,
            **overrides: Any) -> RunResult:
    if not run.is_dir():
        raise CheckpointError(f"run directory {run} does not exist; check the --resume path")
    cfg = ckpt.read_json(run / "config.json")
    if cfg.get("task", "lm") != "lm":
        raise UserError(f"{run} is a {cfg['task']} run; only language-model runs resume")
    allowed = {"max_steps", "max_minutes"}
    if set(overrides) - allowed:
        raise UserError(f"on --resume only {', '.join(sorted(allowed))} can change "
                        f"(got {', '.join(sorted(set(overrides) - allowed))})")
    try:
        model_cfg = from_dict(ModelConfig, cfg["model"])
        train_cfg = from_dict(TrainConfig, cfg["train"])
        spec = cfg["corpus"]
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{run}/config.json is incomplete ({e}); cannot resume") from None
    train_cfg = dataclasses.replace(train_cfg, **overrides)
    train_cfg.validate()
    codec = codecs.from_json(ckpt.read_json(run / "codec.json"))
    store = prepare(spec, codec, fit=False)
    if _ids_digest(store) != cfg.get("corpus_digest"):
        raise CheckpointError(f"the corpus {spec['sources']} changed since {run} was trained; "
                              "resume needs the same data (or start a new run)")
    train_split, val_split = store.split(train_cfg.val_fraction, train_cfg.doc_max_len)
    trainer = Trainer(run, model_cfg, train_cfg, codec, train_split, val_split, stop)
    trainer.restore()
    return trainer.run(progress_bar)


