"""Corpora: named built-ins and user paths turned into items for a codec.

named.py (the built-in corpora), files.py (paths, folders, globs; documents by unit),
parallel.py (codecs with many items per file: read in worker processes, cached), folkrnn.py
(folk-rnn's data files read as ABC).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..codecs.base import Codec
from ..errors import CorpusError
from .files import UNITS, Corpus, resolve_files, split_units
from .folkrnn import read_as_abc
from .named import (
    FOLK_COLLECTIONS,
    FOLK_GROUPS,
    NAMED,
    SHAKESPEARE_ENV,
    SHAKESPEARE_SHA256,
    SHAKESPEARE_URL,
    bach_files,
    folk_files,
    packaged_file,
    python_files,
    shakespeare_file,
)
from .parallel import load_files


def load(sources: str | Path | Iterable[str | Path], codec: Codec, documents: bool = False,
         unit: str = "line", progress: Callable[[int, int], None] | None = None,
         **named_options: Any) -> Corpus:
    """Items for ``codec`` from corpus names, files, folders or globs. ``progress(done,
    total)`` is called as files are read (the web studio's Train view shows it).

    In stream mode each file is one item. In documents mode each file is split into
    documents by ``unit`` (``line`` for one title per line, ``paragraph`` for tunes
    separated by blank lines, ``file`` for one document per file).
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    files, explicit = resolve_files(sources, **named_options)
    # folk-rnn's data files, for a codec that reads ABC: as the ABC tunebooks they hold
    files, explicit = read_as_abc(files, explicit, codec.file_suffix)
    if codec.items_per_file:  # several items per file: parallel, timed, cached
        return load_files(files, explicit, codec, list(sources), progress=progress)
    items: list[Any] = []
    used: list[str] = []
    skipped: list[str] = []
    for n, f in enumerate(files):
        if progress is not None:
            progress(n, len(files))
        try:
            item = codec.read(f)
        except CorpusError as e:
            if f in explicit:
                raise
            skipped.append(str(e))
            continue
        if documents and isinstance(item, str):
            parts = split_units(item, unit)
        else:
            blank = item.strip() == "" if isinstance(item, str) else not item
            parts = [] if blank else [item]
        items += parts
        used.append(str(f))
    if not items:
        what = ", ".join(map(str, sources))
        extra = f" ({len(skipped)} unreadable file(s) skipped)" if skipped else ""
        raise CorpusError(f"the corpus {what} is empty{extra}; give files with some content")
    return Corpus(items, used, skipped)


__all__ = ["load", "Corpus", "UNITS", "NAMED", "resolve_files", "split_units", "folk_files",
           "bach_files", "python_files", "packaged_file", "shakespeare_file", "FOLK_COLLECTIONS",
           "FOLK_GROUPS", "SHAKESPEARE_ENV", "SHAKESPEARE_SHA256", "SHAKESPEARE_URL"]
