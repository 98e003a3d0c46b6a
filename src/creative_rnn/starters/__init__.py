"""Starter models: trained runs that ship inside the package, usable by name.

Each starter is a folder beside this module holding a read-only run directory (config.json,
codec.json, model.safetensors: the best weights of its training run, metrics.jsonl) and
``starter.json``, its manifest: the exact command that trained it (``recipe``), what it was
trained on and that data's licence, its validation loss, and the SHA-256 and size of its
weights. ``creative-rnn models`` lists them; everywhere a run directory is accepted, a
starter's name works too (``rundir.locate``).

This module is bottom-layer: it imports nothing of the package but core and errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.files import read_json
from ..errors import UserError

HOME = Path(__file__).resolve().parent
MANIFEST = "starter.json"
MAX_BYTES = 10 * 1024 * 1024  # the limit on one starter's weights


def names() -> list[str]:
    """The starters this install has, sorted."""
    return sorted(p.name for p in HOME.iterdir() if (p / MANIFEST).is_file())


def path(name: str) -> Path:
    """The folder of the starter ``name`` (a run directory readers accept)."""
    folder = HOME / name
    if name not in names():
        raise UserError(f"no starter model named {name!r}; `creative-rnn models` lists them "
                        f"({', '.join(names()) or 'none installed'})")
    return folder


def manifest(name: str) -> dict[str, Any]:
    """The starter's starter.json (recipe, corpus, licence, validation loss, checksum, size)."""
    data = read_json(path(name) / MANIFEST)
    if not isinstance(data, dict):
        raise UserError(f"{path(name) / MANIFEST} is damaged; reinstall creative-rnn")
    return data


def is_starter(run: str | Path) -> bool:
    """Whether ``run`` is the folder of a shipped starter (readers never write into one)."""
    try:
        return Path(run).resolve().parent == HOME and Path(run).name in names()
    except OSError:
        return False
