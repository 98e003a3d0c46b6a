"""Named corpora: the course's Star Trek titles shipped in this package (data/; source in
data/SOURCES.md), what ships with the dependencies (music21's folk tunes and Bach chorales,
Python's standard library) and tiny-shakespeare, downloaded once and checked. The course's
melodies and Metatone gestures carry no licence to redistribute, so they are not shipped:
a user who has them gives their path (``train melodies.jsonl --codec melody``)."""

from __future__ import annotations

import hashlib
import os
import sys
import sysconfig
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from ..core.files import atomic_write_bytes, cache_dir
from ..errors import CorpusError

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

# the course data we may redistribute, package data beside this module: a fresh clone or a
# pip install has it, so the first lesson needs nothing from outside
PACKAGED = Path(__file__).resolve().parent / "data"
PACKAGED_FILES = {"startrek": "startrekepisodes.txt"}


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


def packaged_file(name: str) -> Path:
    """The file of a course corpus shipped in the package (``startrek``), e.g. to read it
    yourself."""
    if name not in PACKAGED_FILES:
        raise CorpusError(f"no packaged corpus named {name!r}; choose from "
                          f"{', '.join(PACKAGED_FILES)}")
    path = PACKAGED / PACKAGED_FILES[name]
    if not path.is_file():  # an install that dropped its package data
        raise CorpusError(f"the {name} corpus file {path} is missing from this install; "
                          "reinstall creative-rnn (pip install --force-reinstall creative-rnn)")
    return path


def _whole(name: str, files: Callable[..., list[Path]]) -> Callable[..., list[Path]]:
    """A corpus that has no parts to pick: ``startrek:x`` is refused in one line."""
    def pick(*parts: list[str], **options) -> list[Path]:
        if parts:
            raise CorpusError(f"the {name} corpus has no parts to choose from; give "
                              f"{name} alone, without ':{','.join(parts[0])}'")
        return files(**options)
    return pick


def _packaged(name: str) -> Callable[[], list[Path]]:
    return lambda: [packaged_file(name)]


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
                    _whole("shakespeare", lambda **kw: [shakespeare_file(**kw)])),
    "startrek": ("734 Star Trek episode titles, one a line (the lecture's first exercise; "
                 "--documents: one title per document)", _whole("startrek", _packaged("startrek"))),
    "quartets": ("Bach chorales as four performers for the ensemble codec: each voice's pitch "
                 "class above the tonic per eighth note, 12 = rest (--codec ensemble "
                 "--codec-opt classes=13)", _whole("quartets", lambda: [_quartets()])),
}


def _quartets() -> Path:
    from .quartets import quartet_file  # music21's parse runs only when asked for
    return quartet_file(bach_files)


