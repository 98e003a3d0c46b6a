"""Corpora: named built-ins and user paths (files, folders, globs) turned into items.

A file the user names directly must be readable, or it is an error naming the file. Files
found by walking a folder or a glob are skipped when unreadable, counted and reported, so
one stray binary does not stop a night of training.
"""

from __future__ import annotations

import glob
import hashlib
import os
import sys
import sysconfig
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .codecs.base import Codec
from .errors import CorpusError, UserError

SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
# SHA-256 of the 1,115,394-character tiny-shakespeare file (karpathy/char-rnn)
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_ENV = "CREATIVE_RNN_SHAKESPEARE"  # path to a local copy; skips the download

# music21's folk collections in ABC (its josquin ABC files are not folk tunes)
FOLK_COLLECTIONS = ("ryansMammoth", "oneills1850", "essenFolksong", "airdsAirs", "miscFolk",
                    "nottingham-dataset")

# named groups of those: O'Neill's Music of Ireland (1850 tunes) and Ryan's Mammoth Collection
FOLK_GROUPS = {"irish": ("oneills1850", "ryansMammoth")}

UNITS = ("file", "line", "paragraph")


@dataclass
class Corpus:
    """Items for a codec, where they came from, and what was skipped (and why)."""

    items: list[Any]
    sources: list[str]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


def cache_dir() -> Path:
    """$CREATIVE_RNN_CACHE, else the platform cache folder's creative-rnn/."""
    if os.environ.get("CREATIVE_RNN_CACHE"):
        return Path(os.environ["CREATIVE_RNN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "creative-rnn"


# --- named corpora --------------------------------------------------------------------------
def _music21_corpus() -> Path:
    try:
        import music21
    except ImportError:  # pragma: no cover - music21 is a dependency
        raise CorpusError("the folk corpus needs music21: pip install music21") from None
    return Path(music21.__file__).parent / "corpus"


def folk_files(collections: Iterable[str] = FOLK_COLLECTIONS) -> list[Path]:
    """The ABC files of music21's bundled folk collections, in a stable order. A name may
    be a group of collections (``irish``), e.g. ``folk:irish`` or ``folk:oneills1850``."""
    root = _music21_corpus()
    files: list[Path] = []
    names = [c for name in collections for c in FOLK_GROUPS.get(name, (name,))]
    for name in names:
        if name not in FOLK_COLLECTIONS:
            raise CorpusError(f"unknown folk collection {name!r}; choose from "
                              f"{', '.join(FOLK_COLLECTIONS + tuple(FOLK_GROUPS))}")
        files += sorted((root / name).rglob("*.abc"))
    return files


def python_files() -> list[Path]:
    """The top-level modules of this Python's standard library (about 4.7 MB of source)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return sorted(stdlib.glob("*.py"))


def bach_files(names: Iterable[str] | None = None, limit: int | None = None) -> list[Path]:
    """music21's bundled Bach chorales (MusicXML), e.g. ``names=["bwv66.6"]``; ``limit``
    takes the first few (for quick trials). The codec decides what is read: the soprano
    line (melody) or all four voices (performance)."""
    files = sorted((_music21_corpus() / "bach").glob("bwv*.mxl"))
    if names is not None:
        wanted = {n.removesuffix(".mxl") for n in names}
        files = [f for f in files if f.name.removesuffix(".mxl") in wanted]
        if len(files) < len(wanted):
            raise CorpusError(f"no Bach chorale named {', '.join(sorted(wanted))} in music21's "
                              "corpus (names look like bwv66.6)")
    return files[:limit] if limit else files


def shakespeare_file(local: str | Path | None = None, url: str = SHAKESPEARE_URL) -> Path:
    """tiny-shakespeare: a local copy (argument or $CREATIVE_RNN_SHAKESPEARE), else the
    cached download, else download once, check its SHA-256, and cache it atomically."""
    local = local or os.environ.get(SHAKESPEARE_ENV)
    if local:
        p = Path(local)
        if not p.is_file():
            raise CorpusError(f"local shakespeare copy {p} does not exist; fix the path "
                              f"(--shakespeare-file or ${SHAKESPEARE_ENV})")
        return p
    target = cache_dir() / "tiny-shakespeare.txt"
    if target.is_file() and _sha256(target.read_bytes()) == SHAKESPEARE_SHA256:
        return target
    print(f"downloading tiny-shakespeare from {url} ...", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            data = r.read()
    except OSError as e:
        raise CorpusError(f"cannot download shakespeare ({e}); give a local copy with "
                          f"--shakespeare-file or ${SHAKESPEARE_ENV}") from None
    if _sha256(data) != SHAKESPEARE_SHA256:
        raise CorpusError("downloaded shakespeare fails its SHA-256 check; not using it "
                          f"(give a local copy with ${SHAKESPEARE_ENV})")
    from .checkpoint import atomic_write_bytes

    atomic_write_bytes(target, data)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# name -> (description, function giving the files)
NAMED: dict[str, tuple[str, Callable[..., list[Path]]]] = {
    "folk": ("ABC folk tunes bundled with music21 (O'Neill, Ryan, Aird, Essen, ...)", folk_files),
    "bach": ("Bach chorales bundled with music21 (melody: soprano; performance: all voices)",
             bach_files),
    "python": ("the Python standard library's own source", python_files),
    "shakespeare": ("tiny-shakespeare, 1.1 M characters (downloaded once, checked)",
                    lambda **kw: [shakespeare_file(**kw)]),
}


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


def load(sources: str | Path | Iterable[str | Path], codec: Codec, documents: bool = False,
         unit: str = "line", **named_options: Any) -> Corpus:
    """Items for ``codec`` from corpus names, files, folders or globs.

    In stream mode each file is one item. In documents mode each file is split into
    documents by ``unit`` (``line`` for one title per line, ``paragraph`` for tunes
    separated by blank lines, ``file`` for one document per file).
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    files, explicit = resolve_files(sources, **named_options)
    if hasattr(codec, "read_items"):  # several items per file: parallel, timed, cached
        from .corpus_loader import load_files

        return load_files(files, explicit, codec, list(sources))
    items: list[Any] = []
    used: list[str] = []
    skipped: list[str] = []
    for f in files:
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
