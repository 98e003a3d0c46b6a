"""User paths (files, folders, globs) and names, expanded to files and read into items.

A file the user names directly must be readable, or it is an error naming the file. Files
found by walking a folder or a glob are skipped when unreadable, counted and reported, so
one stray binary does not stop a night of training.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CorpusError, UserError
from .named import NAMED

UNITS = ("file", "line", "paragraph")


@dataclass
class Corpus:
    """Items for a codec, where they came from, and what was skipped (and why)."""

    items: list[Any]
    sources: list[str]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


# --- paths ----------------------------------------------------------------------------------
def resolve_files(sources: Iterable[str | Path], **named_options: Any) -> tuple[list[Path], set]:
    """Expand names, files, folders and globs. Returns the files and the set of those the
    user named directly (which must be readable)."""
    files: list[Path] = []
    explicit: set[Path] = set()
    for src in sources:
        s = str(src)
        name, colon, pick = s.partition(":")
        if s in NAMED or (colon and name in NAMED and not Path(s).exists()):
            # "folk:oneills1850,airdsAirs": a named corpus narrowed to some of its parts
            args = [pick.split(",")] if colon else []
            found = NAMED[name][1](*args, **named_options.get(name, {}))
            files += found
            explicit.update(found)
            continue
        p = Path(s)
        if p.is_file():
            files.append(p)
            explicit.add(p)
        elif p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file()
                            and not any(part.startswith(".") for part in f.relative_to(p).parts))
        elif glob.has_magic(s):
            matched = sorted(Path(m) for m in glob.glob(s, recursive=True) if Path(m).is_file())
            if not matched:
                raise CorpusError(f"the pattern {s!r} matches no files")
            files += matched
        else:
            raise CorpusError(f"{s} does not exist: give a file, a folder, a glob or a corpus "
                              f"name ({', '.join(NAMED)})")
    return files, explicit


def split_units(text: str, unit: str) -> list[str]:
    """Split one file's text into documents: the whole file, each line, or each paragraph."""
    if unit == "file":
        return [text] if text.strip() else []
    if unit == "line":
        return [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if unit == "paragraph":
        paragraphs = text.replace("\r\n", "\n").split("\n\n")
        return [p.strip("\n") + "\n" for p in paragraphs if p.strip()]
    raise UserError(f"unknown document unit {unit!r}; choose one of {', '.join(UNITS)}")
