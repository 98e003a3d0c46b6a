"""Encoding big plain-text files for the char codec without holding them in memory
(``CharCodec.stream_encoder``: the token cache asks the codec, never this module).

``codec.encode`` turns a text into a Python list with one int per character: for a 1 GB
book that is tens of GB. Here each file is read in chunks of ``CHUNK_BYTES`` through an
incremental decoder (a multi-byte character split between two chunks is held back by the
decoder, never cut), in two passes:

1. ``scan``: which code points occur (to fit the vocabulary), how many characters each file
   has (the size of the ids array), and which files are unreadable or blank;
2. ``write_ids``: each chunk's code points (its UTF-32 form viewed as ``uint32``) go through a
   lookup table indexed by code point, and the ids are appended to an open file.

Memory stays a few times the chunk size. Each file gives exactly the ids that
``codec.encode(codec.read(file))`` gives: the same strict decoding, the same leading BOM
dropped, the same blank files left out (corpora.load's stream mode).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorpusError
from .capabilities import StreamEncoder
from .vocab import NUM_SPECIAL, Vocabulary

CHUNK_BYTES = 2 << 20  # 2 MB of text: ~60 MB of transient arrays at worst, 512 reads per GB
CODE_POINTS = 0x110000  # every Unicode code point; the lookup table is 4.4 MB


def _code_points(text: str) -> np.ndarray:
    # surrogatepass: a lone surrogate (only possible from odd codecs) maps like any other
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def read_chunks(path: Path, encoding: str, bar=None) -> Iterator[str]:
    """The text of ``path`` in pieces, joined exactly what ``codecs.text.read_text`` returns.

    Raises the same ``CorpusError`` messages for a binary, wrongly encoded or unreadable file
    (a file with both a NUL byte and a bad sequence may name the other one first)."""
    check_nul = not encoding.lower().replace("-", "").startswith("utf16")
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        raise CorpusError(f"unknown encoding {encoding!r}; try utf-8 or latin-1") from None
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror}") from None
    offset, at_start = 0, True
    with f:
        while True:
            try:
                raw = f.read(CHUNK_BYTES)
            except OSError as e:
                raise CorpusError(f"cannot read {path}: {e.strerror}") from None
            nul = raw.find(b"\x00") if check_nul else -1
            if nul >= 0:
                raise CorpusError(f"{path} looks binary (NUL byte at offset {offset + nul}); "
                                  "give a text file, or --encoding if it is UTF-16")
            held = len(decoder.getstate()[0])  # bytes of a character the last chunk split
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as e:
                at = offset - held + e.start
                raise CorpusError(
                    f"{path} is not valid {encoding} (byte {e.object[e.start]:#04x} at offset "
                    f"{at}); pass --encoding (e.g. --encoding latin-1) or convert the file"
                ) from None
            offset += len(raw)
            if bar is not None:
                bar.update(len(raw))
            if at_start and text:
                text, at_start = text.removeprefix("\ufeff"), False  # as read_text does
            if text:
                yield text
            if not raw:
                return


@dataclass
class Scan:
    """Pass 1 over the files: what to encode and with which vocabulary."""

    used: list[tuple[Path, int]] = field(default_factory=list)  # (file, characters)
    skipped: list[str] = field(default_factory=list)
    seen: np.ndarray = field(default_factory=lambda: np.zeros(CODE_POINTS, dtype=bool))

    @property
    def num_tokens(self) -> int:
        return sum(n for _, n in self.used)

    def characters(self) -> list[str]:
        return [chr(c) for c in np.flatnonzero(self.seen)]

    def tokens(self) -> list[str]:  # StreamEncoder's name for what the vocabulary is fitted to
        return self.characters()


def scan(files: list[Path], explicit: set, encoding: str, bar=None) -> Scan:
    """Count characters and collect the character set. A file named directly must be
    readable (its error is raised); one found in a folder is skipped and reported."""
    result = Scan()
    for path in files:
        seen = np.zeros(CODE_POINTS, dtype=bool)
        n, blank = 0, True
        try:
            for text in read_chunks(path, encoding, bar=bar):
                _mark(seen, text)
                n += len(text)
                blank = blank and text.isspace()
        except CorpusError as e:
            if path in explicit:
                raise
            result.skipped.append(str(e))
            continue
        if not blank:  # corpora.load drops a file of only whitespace
            result.used.append((path, n))
            result.seen |= seen
    return result


def _mark(seen: np.ndarray, text: str) -> None:
    """``seen[c] = True`` for every code point ``c`` in ``text``."""
    if text.isascii():  # most chunks of most corpora (isascii is O(1) in CPython)
        # delete the characters already seen (bytes.translate runs at memory speed), so only
        # the first chunks pay for numpy's fancy indexing
        known = np.flatnonzero(seen[:128]).astype(np.uint8).tobytes()
        new = text.encode("ascii").translate(None, known)
        if new:
            seen[np.frombuffer(new, dtype=np.uint8)] = True
    else:
        seen[_code_points(text)] = True


def lookup_table(vocab: Vocabulary) -> np.ndarray:
    """Code point -> id (-1 where the character is not in the vocabulary)."""
    table = np.full(CODE_POINTS, -1, dtype=np.int32)
    for i, token in enumerate(vocab.tokens):
        if i >= NUM_SPECIAL and len(token) == 1:
            table[ord(token)] = i
    return table


def write_ids(out, used: list[tuple[Path, int]], encoding: str, table: np.ndarray,
              dtype: np.dtype, hasher=None, bar=None) -> None:
    """Pass 2: append each file's ids (as ``dtype``) to the binary file ``out``; feed the
    same bytes to ``hasher`` (a hashlib object) so the digest costs no second read."""
    # ASCII text with byte-sized ids: one bytes.translate per chunk. Unknown characters map
    # to 0, which is <pad>, never a character's id.
    ascii_ids = np.where(table[:256] < 0, 0, table[:256]).astype(np.uint8).tobytes() \
        if dtype == np.uint8 else None
    for path, expected in used:
        n = 0
        for text in read_chunks(path, encoding, bar=bar):
            if ascii_ids is not None and text.isascii():
                data = text.encode("ascii").translate(ascii_ids)
                unknown = b"\x00" in data
            else:
                ids = table[_code_points(text)]
                data, unknown = ids.astype(dtype).tobytes(), bool((ids < 0).any())
            if unknown:  # pass 1 saw every character, unless the file changed since
                raise CorpusError(f"{path} changed while it was being encoded; run again")
            out.write(data)
            if hasher is not None:
                hasher.update(data)
            n += len(text)
        if n != expected:
            raise CorpusError(f"{path} changed while it was being encoded; run again")


class CharStream(StreamEncoder):
    """The char codec's ``stream_encoder``: the two passes above, in one encoding."""

    scanning = "reading characters"

    def __init__(self, encoding: str = "utf-8"):
        self.encoding = encoding

    def scan(self, files: list[Path], explicit: set, bar=None) -> Scan:
        return scan(files, explicit, self.encoding, bar)

    def write_ids(self, out, used: list[tuple[Path, int]], vocab: Vocabulary, dtype: np.dtype,
                  hasher=None, bar=None) -> None:
        write_ids(out, used, self.encoding, lookup_table(vocab), dtype, hasher, bar)
