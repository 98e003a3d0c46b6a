"""``export``: pieces out of the library as a tunebook, MIDI files, a text file or JSON.

MIDI is written by each piece's own codec (``codec.outputs``, the same writer ``sample
--out`` uses), rebuilt from the run's codec.json so that token ids mean what they meant when
the piece was made; a piece whose run is gone is said and skipped, not silently dropped.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from .. import rundir
from ..core.files import atomic_write_json, atomic_write_text
from ..errors import UserError
from .db import LibraryError
from .rebuild import _run_folder

FORMATS = ("abc", "midi", "text", "json")


def export(pieces: list[dict[str, Any]], fmt: str, out: str | Path) -> list[Path]:
    """Write ``pieces`` (whole, from ``Library.get``) as ``fmt`` at ``out``; the files."""
    out = Path(out)
    if fmt not in FORMATS:
        raise LibraryError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
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
    if fmt == "abc":
        return [_tunebook(pieces, out)]
    return _midi(pieces, out)


def _tunebook(pieces: list[dict[str, Any]], out: Path) -> Path:
    """The ABC pieces as one tunebook, numbered X:1, X:2, ... in order, each with its id."""
    other = [p for p in pieces if p.get("codec") != "abc"]
    if other:
        p = other[0]
        raise LibraryError(f"piece {p['id']} is a {p.get('codec')} piece, not ABC; export "
                           "ABC tunes with --format abc (filter with --run), others with "
                           "--format midi or text")
    tunes = []
    for n, p in enumerate(pieces, 1):
        text = (p.get("text") or "").strip("\n")
        if re.match(r"^X:\s*\d+", text):
            text = re.sub(r"^X:\s*\d+", f"X:{n}", text)
        else:
            text = f"X:{n}\n{text}"
        head, _, rest = text.partition("\n")
        tunes.append(f"{head}\n% library piece {p['id']}\n{rest}\n")
    atomic_write_text(out, "\n".join(tunes))
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
            if not (codec.is_music or codec.file_suffix == ".abc"):
                skipped.append(f"{p['id']} (a {codec.name} piece has no MIDI)")
                continue
            item = codec.decode(p["ids"]) if p.get("ids") else p.get("text") or ""
            files = codec.outputs(item, out / f"piece-{p['id']}", [])
            written += [f for f in files if f.suffix == ".mid"]
        except UserError as e:
            skipped.append(f"{p['id']} ({e})")
    if skipped:
        print(f"not exported: {'; '.join(skipped)}", file=sys.stderr)
    if not written:
        raise LibraryError("no piece could be written as MIDI: " + "; ".join(skipped))
    return written
