"""folk-rnn's data files read as ABC, so its users train on what they have.

folk-rnn (Sturm, Santos, Ben-Tal and Korshunova, 2016) trains on one text file of tokenised
tunes: tunes separated by blank lines, each a run of tokens separated by spaces (its header
tokens usually on lines of their own), e.g.::

    M:6/8
    K:Cmaj
    |: G 2 E c 2 G | A G F E 2 D :|

The tokens are ABC cut into pieces: header fields (``M:6/8``, ``K:Cmaj``, sometimes ``L:``),
pitches with their accidentals and octave marks (``^F``, ``B,``, ``c'``), lengths (``2``,
``/2``, ``3/2``), broken rhythms (``>``, ``2<``), tuplets (``(3``), bar lines and repeats
(``|``, ``|:``, ``:|``, ``|1``), chords (``[``, ``]``), rests (``z``). Lengths are in eighths
(folk-rnn's tunes have no ``L:``), keys with no tonic (``K:maj``) are C, as folk-rnn
transposed its tunes.

Such a file is converted once to an ABC tunebook (cached under ``cache_dir()/folk-rnn/``,
named by the file's name and content), which the ABC-reading codec then reads like any
``.abc`` file: its tokenizer, transposition, unit normalisation and checks apply unchanged,
and there is one ABC reader, not two. Each tune's ``X:`` number is the line of the data file
where it starts, so a warning about a tune names its line. A token that is not folk-rnn's
stops the reading with ``FILE:LINE: ...``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..core.files import atomic_write_text, cache_dir
from ..errors import CorpusError

ABC_SUFFIX = ".abc"  # the files this reader makes; codecs whose own files are ABC read them
PROBE_BYTES = 4096  # enough of a file to tell a folk-rnn data file from anything else
DEFAULT_UNIT = "L:1/8"  # folk-rnn's lengths are eighths (ABC's default would vary by meter)

_HEADER = re.compile(r"[MKL]:\S+")
_TOKEN = re.compile(
    r"[=^_]{0,2}[A-Ga-g][,']*"  # a pitch
    r"|[zx]"  # a rest
    r"|\d{0,3}/{0,3}\d{0,3}[<>]{0,3}"  # a length, a broken rhythm, or both (2<, /2>)
    r"|\(\d(:\d?(:\d)?)?"  # a tuplet
    r"|:*\[?\|+\]?:*\d?|::|\[\d"  # bar lines, repeats and endings
    r"|[\[\]{}\-()]",  # chords, graces, ties, slurs
    re.ASCII)
_GLUED = re.compile(r"[\d/<>]+", re.ASCII)  # a length or broken rhythm: written onto its note


def is_data_file(path: Path) -> bool:
    """A folk-rnn data file: not an .abc file, no ``X:`` field, and the first token of its
    first line a header token (``M:6/8``)."""
    if path.suffix.lower() == ABC_SUFFIX:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(PROBE_BYTES)
    except OSError:
        return False  # the codec's reading reports it
    text = head.decode("latin-1")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or b"\x00" in head or any(line.startswith("X:") for line in lines):
        return False
    return bool(_HEADER.fullmatch(lines[0].split()[0]))


def as_abc(path: Path) -> Path:
    """The cached ABC tunebook of the folk-rnn data file ``path`` (made on first use)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    digest = hashlib.sha256(raw).hexdigest()[:16]
    target = cache_dir() / "folk-rnn" / f"{path.name}.{digest}{ABC_SUFFIX}"
    if not target.is_file():
        try:
            text = raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, tunebook(text, str(path)))
    return target


def tunebook(text: str, name: str) -> str:
    """folk-rnn's tokenised tunes -> an ABC tunebook, one tune per block of lines; ``name``:
    the file, as errors name it."""
    tunes: list[str] = []
    block: list[tuple[int, str]] = []  # (line number, text) of the tune being read
    for number, line in enumerate([*text.splitlines(), ""], 1):
        if line.strip():
            block.append((number, line))
        elif block:
            tunes.append(_tune(block, name))
            block = []
    if not tunes:
        raise CorpusError(f"{name} holds no tunes: folk-rnn's data files hold tunes of "
                          "tokens separated by spaces, one tune per block of lines")
    return "\n".join(tunes)


def _tune(block: list[tuple[int, str]], name: str) -> str:
    """One tune's lines of tokens -> ABC: ``X:`` (its first line), its headers, the body."""
    first = block[0][0]
    headers: list[str] = []
    body: list[str] = []
    for number, line in block:
        for token in line.split():
            if _HEADER.fullmatch(token):
                field = _key(token) if token[0] == "K" else token
                if body:  # a change inside the tune: an inline field
                    body.append(f"[{field}]")
                else:
                    headers.append(field)
            elif not _TOKEN.fullmatch(token):
                raise CorpusError(
                    f"{name}:{number}: {token[:40]!r} is not a folk-rnn token; a folk-rnn "
                    "data file holds tunes of ABC tokens separated by spaces "
                    "('M:6/8 K:Cmaj |: G 2 E ...'), one tune per block of lines")
            elif body and _GLUED.fullmatch(token):
                body[-1] += token  # ABC writes a length onto its note: "E2", not "E 2"
            else:
                body.append(token)
    if not any(h.startswith("K:") for h in headers):
        raise CorpusError(f"{name}:{first}: the tune has no key: a folk-rnn tune starts with "
                          "its header tokens, M: and K: ('M:6/8 K:Cmaj ...')")
    keys = [h for h in headers if h.startswith("K:")]
    others = [h for h in headers if not h.startswith("K:")]
    if not any(h.startswith("L:") for h in others):
        others.append(DEFAULT_UNIT)
    return "\n".join([f"X:{first}", *others, keys[-1], " ".join(body)]) + "\n"


def _key(token: str) -> str:
    """``K:maj`` (folk-rnn's mode tokens without a tonic) -> ``K:Cmaj``; others as written."""
    value = token[2:]
    return f"K:C{value}" if value[:1].islower() else token


def read_as_abc(files: list[Path], explicit: set, suffix: str) -> tuple[list[Path], set]:
    """For a codec whose own files are ``suffix`` (ABC): each folk-rnn data file among
    ``files`` replaced by its ABC tunebook (``explicit``, the files the user named, too)."""
    if suffix != ABC_SUFFIX:
        return files, explicit
    out, named = [], set(explicit)
    for f in files:
        if is_data_file(f):
            book = as_abc(f)
            if f in explicit:
                named.add(book)
            f = book
        out.append(f)
    return out, named
