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

import hashlib
from pathlib import Path
from typing import Any

from ..core.files import read_json
from ..errors import CheckpointError, UserError

HOME = Path(__file__).resolve().parent
MANIFEST = "starter.json"
MAX_BYTES = 10 * 1024 * 1024  # the limit on one starter's weights
_VERIFIED: set[str] = set()  # starters whose files matched their manifest in this process


def names() -> list[str]:
    """The starters this install has, sorted."""
    # a name starting with "." is the packer's folder in the making (build.py)
    return sorted(p.name for p in HOME.iterdir()
                  if not p.name.startswith(".") and (p / MANIFEST).is_file())


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


def checksums(name: str) -> dict[str, str]:
    """File name -> SHA-256 as the manifest records them (the weights and the small files)."""
    m = manifest(name)
    weights, files = m.get("weights"), m.get("files")
    if not (isinstance(weights, dict) and isinstance(files, dict)):
        raise CheckpointError(f"the starter {name!r} has no checksums in its {MANIFEST}; "
                              "reinstall creative-rnn")
    return {**files, weights.get("file", "model.safetensors"): weights.get("sha256")}


def verify(name: str) -> None:
    """Check the starter's files against its manifest, once per process: a damaged or edited
    install is refused, asking for a reinstall (the files are the package's, not the user's)."""
    if name in _VERIFIED:
        return
    folder = path(name)
    for file, expected in checksums(name).items():
        try:
            found = hashlib.sha256((folder / file).read_bytes()).hexdigest()
        except OSError:
            found = None
        if found != expected:
            raise CheckpointError(f"the starter model {name!r} is damaged ({folder / file} "
                                  f"{'fails its checksum' if found else 'cannot be read'}); "
                                  "reinstall creative-rnn (pip install --force-reinstall "
                                  "creative-rnn)")
    _VERIFIED.add(name)
