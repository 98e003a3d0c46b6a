"""A piece's provenance from a loaded Generator: which run and weights, which settings.

Everything ``regenerate`` needs to make the same piece again is written here, and read back
by rebuild.py: the weights' checksum (the one the safetensors header carries, verified when
the weights were loaded, so recording costs a header read, not a hash of the file), the
seed actually used, every sampling option, the batch size and the piece's place in it
(a batch shares one random stream), the device and the engine.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .. import starters
from ..config import MAX_SEED

# the sampling options a piece keeps (generate_ids' keyword arguments), by their own names
SAMPLING = ("temperature", "top_k", "top_p", "greedy", "unknown", "constraints", "max_copy")


def weights_header(path: str | Path) -> tuple[str | None, int | None]:
    """The SHA-256 and the step recorded in a weights file's safetensors header (None for
    what cannot be read: a file that vanished since it was loaded)."""
    import json

    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:  # safetensors raises several types; provenance goes on without it
        return None, None
    try:
        step = json.loads(meta.get("meta", "{}")).get("step")
    except (ValueError, AttributeError):
        step = None
    return meta.get("sha256"), step if isinstance(step, int) else None


def versions() -> dict[str, str]:
    """The versions whose change may change a piece made again (regenerate says which)."""
    return dict(_versions())


@functools.cache  # read once a process: the metadata lookup walks the installed packages
def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import numpy
    import torch

    try:  # not the package root's __version__: only cli/ imports the root (ARCHITECTURE.md)
        ours = version("creative-rnn")
    except PackageNotFoundError:
        ours = "unknown"
    return {"creative_rnn": ours, "torch": torch.__version__, "numpy": numpy.__version__}


def new_seed() -> int:
    """A seed for a sample the user gave none: drawn here, so the library knows it."""
    import os

    return int.from_bytes(os.urandom(8), "little") % (MAX_SEED + 1)


def run_fields(run: str | Path, gen: Any, last: bool = False) -> dict[str, Any]:
    """The run part of a piece made by a loaded Generator (``run_fields_of``)."""
    weights = gen.config.get("weights", {})
    return run_fields_of(run, Path(weights.get("path", "")), gen.codec.name)


def run_fields_of(run: str | Path, wpath: Path, codec: str) -> dict[str, Any]:
    """The run part of a piece: the run as given, its resolved path, the starter's name if
    it is one, the checksum and step of the weights file ``wpath``, best or last, and the
    codec's name."""
    folder = wpath.parent.parent if wpath.parent.name == "best" else wpath.parent
    try:
        resolved = str(folder.resolve())
    except OSError:
        resolved = str(folder)
    starter = folder.name if starters.is_starter(folder) else None
    sha, step = weights_header(wpath) if wpath.name else (None, None)
    return {"run": str(run), "run_path": resolved, "starter": starter,
            "weights_sha256": sha, "step": step,
            "weights": "best" if wpath.parent.name == "best" else "last", "codec": codec}


def sample_piece(gen: Any, run: str | Path, ids: list[int], *, maker: str, seed: int,
                 options: dict[str, Any], length: int, num: int, index: int, prime: Any,
                 last: bool, draws: str = "whole", files: list[Any] = (),
                 novelty: Any = None, engine: str | None = None,
                 prefix: int | None = None) -> dict[str, Any]:
    """One generated piece with everything ``regenerate`` needs. ``options``: the keyword
    arguments given to the generator (``SAMPLING``'s keys); ``draws``: "whole" for
    ``sample_ids`` (whole items drawn again up to WHOLE_DRAWS times), "one" for a single
    ``generate_ids`` pass (the streamed sample); ``novelty``: the copy meter's reading.
    ``prefix``: how many of ``ids`` come before the new tokens. None: the encoded prime
    (as ``sample_ids`` gives them), or ``gen.prime_ids(prime)`` where ``ids`` start with
    the start token those begin with; give it where ``ids`` start with what was fed and
    that may read as a new token (a stream run's line break when there is no prime)."""
    settings = {k: options.get(k) for k in SAMPLING if k in options}
    unknown = options.get("unknown", "error")
    if prefix is None:
        prefix = len(gen.codec.encode(prime, unknown=unknown)) if prime else 0
        if ids[:1] == [gen.codec.vocab.bos]:  # never a new token: the fed <s> + prime
            prefix = len(gen.prime_ids(prime, unknown))
    prompt = prefix
    # a prime read from a file is kept as its tokens (ids[:prime_tokens]), not as the file
    settings.update(length=length, num=num, index=index, last=last, draws=draws,
                    prime_tokens=prompt, prime_text=isinstance(prime, str),
                    device=gen.device.type, engine=engine or gen.engine, versions=versions())
    try:
        text = gen.codec.render(gen.codec.decode(ids))
    except Exception as e:  # a sample that does not decode (odd ABC) is kept by its ids
        text = f"(not shown: {type(e).__name__})"
    summary = None
    if novelty is not None:
        summary = {k: v for k, v in novelty.to_json().items() if k != "spans"}
    return {"maker": maker, **run_fields(run, gen, last), "seed": seed, "settings": settings,
            "prime": prime if isinstance(prime, str) else gen.codec.render(prime) if prime
            else "", "length": len(ids) - prompt, "novelty": summary, "text": text,
            "ids": [int(i) for i in ids], "files": [str(f) for f in files]}


def record_samples(gen: Any, run: str | Path, samples: list[Any], *, maker: str, seed: int,
                   length: int, num: int, prime: Any = "", last: bool = False,
                   files: list[Any] = (), library: Any = None, say: bool = True,
                   **options: Any) -> Any:
    """Record what ``gen.generate(prime, length, num, seed=seed, **options)`` returned
    (items, or lists of ids): the hook the demo and the studio call. ``say``: print the
    one line (recorded as which pieces, or why not) on stderr; the studio shows
    ``Recorded.why`` itself. The ``Recorded`` is returned."""
    import sys

    from .pieces import record

    pieces = []
    for i, s in enumerate(samples):
        ids = [int(t) for t in s] if isinstance(s, list) and all(
            isinstance(t, int) for t in s) else None
        p = sample_piece(gen, run, ids if ids is not None else [], maker=maker, seed=seed,
                         options=options, length=length, num=num, index=i, prime=prime,
                         last=last, files=files)
        if ids is None:  # items: kept as their text, compared by their text
            p.update(ids=None, text=gen.codec.render(s), length=None)
        pieces.append(p)
    done = record(pieces, library)
    line = done.line(files)
    if say and line:
        print(line, file=sys.stderr)
    return done
