"""Train on your favourites: a new run from a run's weights, on the pieces you kept.

The pieces (starred ones of the run, a tag's, or ids) are written as a corpus by the run's
own codec (``codec.write``: .abc, .mid, .txt) into a cache folder named by their content, and
``train(..., init_from=RUN)`` fine-tunes from the run (training/finetune.py records the
parent in the new run's config.json). ``mix`` draws that share of the training items from
the run's own corpus, so a few pieces do not make the model forget everything else. The new
run keeps the ids of its source pieces in ``favourites.json``.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from .. import corpora, rundir
from ..core.files import atomic_write_json, cache_dir
from .db import LibraryError
from .pieces import MAX_LIST, Library
from .rebuild import _run_folder

SOURCES = "favourites.json"  # in the new run: where its training pieces came from
CHUNK = 2000  # characters per passage drawn from a text run's own corpus for the mix


def pieces_for(lib: Library, run: str, ids: list[int] | None = None,
               tag: str | None = None) -> list[dict[str, Any]]:
    """The pieces to train on: ``ids``, else those of ``run`` with ``tag``, else its
    starred ones; whole, oldest first."""
    if ids:
        chosen = [lib.get(int(i)) for i in ids]
    else:
        rows = lib.list(run=run, tag=tag, starred=None if tag else True, limit=MAX_LIST)
        chosen = [lib.get(p["id"]) for p in reversed(rows)]
    chosen = [p for p in chosen if p.get("ids") or p.get("text")]
    if not chosen:
        what = f"tagged {tag!r}" if tag else "starred"
        raise LibraryError(f"no {what} pieces of {run} in the library; star some with "
                           "`creative-rnn library star ID` (list them with `creative-rnn "
                           f"library list --run {run}`)")
    return chosen


def write_corpus(pieces: list[dict[str, Any]], codec: Any, mix: float = 0.0,
                 own: list[Any] | None = None, seed: int = 0) -> Path:
    """The pieces (and, with ``mix``, items of the run's own corpus ``own``) as files in a
    cache folder named by their content; the folder."""
    items = [codec.decode(p["ids"]) if p.get("ids") else p["text"] for p in pieces]
    extra: list[Any] = []
    if mix > 0 and own:
        rng = random.Random(seed)
        if all(isinstance(x, str) for x in own) and len(own) < 2 * len(items):
            # a text stream is one long item: draw passages to the share of characters
            want = int(sum(len(str(x)) for x in items) * mix / (1 - mix))
            while sum(map(len, extra)) < want:
                text = rng.choice(own)
                start = rng.randrange(max(1, len(text) - CHUNK))
                extra.append(text[start: start + CHUNK])
        else:
            want = round(len(items) * mix / (1 - mix))
            extra = rng.sample(own, min(want, len(own)))
    digest = hashlib.sha256(json.dumps([[p["id"] for p in pieces], mix, seed,
                                        codec.name]).encode()).hexdigest()[:16]
    folder = cache_dir() / "favourites" / digest
    suffix = codec.file_suffix
    for n, item in enumerate(items + extra):
        name = f"piece-{pieces[n]['id']}" if n < len(items) else f"own-{n - len(items)}"
        codec.write(item, folder / f"{name}{suffix}")
    return folder


def train_on_favourites(run: str | Path, out: str | Path, lib: Library | None = None,
                        ids: list[int] | None = None, tag: str | None = None,
                        mix: float = 0.0, progress_bar: bool = False,
                        **train_options: Any) -> Any:
    """Fine-tune ``run`` on its starred pieces (or ``tag``'s, or ``ids``) into ``out``,
    ``mix`` of the items from the run's own corpus; the RunResult."""
    from ..training import train

    if not 0.0 <= mix <= 0.95:
        raise LibraryError(f"mix={mix}: give a share from 0 to 0.95")
    rundir.check_new(out)  # before any work
    own_lib = lib is None
    lib = lib or Library()
    try:
        pieces = pieces_for(lib, str(run), ids, tag)
    finally:
        if own_lib:
            lib.close()
    folder = rundir.locate(run)
    if not rundir.exists(folder):
        folder = _run_folder(pieces[0])
    codec = rundir.read_codec(folder)
    wrong = [p["id"] for p in pieces if p.get("codec") not in (None, codec.name)]
    if wrong:
        raise LibraryError(f"piece {wrong[0]} was not made by a {codec.name} run; train on "
                           f"pieces of {run} only")
    own = None
    if mix > 0:
        spec = rundir.read_config(folder).get("corpus") or {}
        if not spec.get("sources"):
            raise LibraryError(f"{run} records no corpus to mix in; use mix=0")
        own = list(corpora.load(spec["sources"], codec, documents=bool(spec.get("documents")),
                                unit=spec.get("unit", "line"),
                                **(spec.get("named_options") or {})).items)
    corpus = write_corpus(pieces, codec, mix, own)
    result = train(corpus=[str(corpus)], out=out, init_from=str(run),
                   progress_bar=progress_bar, **train_options)
    atomic_write_json(Path(out) / SOURCES, {"run": str(run), "pieces": [p["id"] for p in pieces],
                                            "mix": mix})
    return result
