"""``export``: pieces out of the library as a book, MIDI files, a text file or JSON.

A book is many pieces in one file of their codec's own format (ABC: a tunebook); which
formats exist, and how a book is written, the codecs say (``book_format``, ``book``).
MIDI is written by each piece's own codec (``codec.outputs``, the same writer ``sample
--out`` uses), rebuilt from the run's codec.json so that token ids mean what they meant when
the piece was made; a piece whose run is gone is said and skipped, not silently dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .. import codecs, rundir
from ..core.files import atomic_write_json, atomic_write_text
from ..errors import UserError
from .db import LibraryError
from .rebuild import _run_folder

FORMATS = ("midi", "text", "json")  # for any piece; books come from the codecs


def formats() -> list[str]:
    """Every ``--format``: the books the codecs write ("abc"), then midi, text and json."""
    return [f for f in codecs.book_formats() if f not in FORMATS] + list(FORMATS)


def export(pieces: list[dict[str, Any]], fmt: str, out: str | Path) -> list[Path]:
    """Write ``pieces`` (whole, from ``Library.get``) as ``fmt`` at ``out``; the files."""
    out = Path(out)
    if fmt not in formats():
        raise LibraryError(f"--format {fmt}: choose one of {', '.join(formats())}")
    if not pieces:
        raise LibraryError("no pieces to export")
    if fmt == "json":
        atomic_write_json(out, [{k: v for k, v in p.items() if k != "run_path"}
                                for p in pieces])
        return [out]
    if fmt == "text":
        atomic_write_text(out, "".join(
            f"# piece {p['id']}: {p.get('title') or p.get('maker')}, run "
            f"{p.get('starter') or p.get('run')}, seed {p.get('seed')}\n"
            f"{(p.get('text') or '').rstrip()}\n\n" for p in pieces))
        return [out]
    if fmt in FORMATS:
        return _midi(pieces, out)
    return [_book(pieces, fmt, out)]


def _book(pieces: list[dict[str, Any]], fmt: str, out: Path) -> Path:
    """The pieces as one book of ``fmt``, written by the codec that declares it; every
    piece must be that codec's, in order, each with its library id."""
    name = codecs.book_formats()[fmt]
    other = [p for p in pieces if p.get("codec") != name]
    if other:
        p = other[0]
        raise LibraryError(f"piece {p['id']} is a {p.get('codec')} piece, not {name}; export "
                           f"{name} pieces with --format {fmt} (filter with --run), others "
                           "with --format midi or text")
    book = codecs.get(name).book([p.get("text") or "" for p in pieces],
                                 [f"library piece {p['id']}" for p in pieces])
    atomic_write_text(out, book)
    return out


def _midi(pieces: list[dict[str, Any]], out: Path) -> list[Path]:
    """A folder: piece-ID.mid for each music piece, by its run's own codec."""
    if out.exists() and not out.is_dir():
        raise LibraryError(f"{out} is a file; --format midi writes a folder, give a folder")
    codecs: dict[str, Any] = {}
    written: list[Path] = []
    skipped: list[str] = []
    for p in pieces:
        try:
            run = _run_folder(p)
            key = str(run)
            if key not in codecs:
                codecs[key] = rundir.read_codec(run)
            codec = codecs[key]
            if not codec.writes("mid"):
                skipped.append(f"{p['id']} (a {codec.name} piece has no MIDI)")
                continue
            item = codec.decode(p["ids"]) if p.get("ids") else p.get("text") or ""
            asked = [] if codec.file_suffix == ".mid" else ["mid"]  # ABC writes .abc and .mid
            files = codec.outputs(item, out / f"piece-{p['id']}", asked)
            written += [f for f in files if f.suffix == ".mid"]
        except UserError as e:
            skipped.append(f"{p['id']} ({e})")
    if skipped:
        print(f"not exported: {'; '.join(skipped)}", file=sys.stderr)
    if not written:
        raise LibraryError("no piece could be written as MIDI: " + "; ".join(skipped))
    return written
