"""Text codecs: characters (Unicode code points) and words.

Characters are code points, never bytes, so an emoji, CJK text and combining marks come
back exactly as they went in. Words keep their whitespace as tokens so decoded text reads
as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core.files import atomic_write_text
from ..errors import CorpusError
from .base import Codec
from .char_stream import CharStream
from .vocab import NUM_SPECIAL, Vocabulary


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Read a text file strictly: a binary or wrongly encoded file is named with its byte offset."""
    p = Path(path)
    try:
        if p.exists() and not p.is_file():  # a device (/dev/zero) or a pipe could be endless
            raise CorpusError(f"{p} is not a regular file; give a text file")
        raw = p.read_bytes()
    except OSError as e:
        raise CorpusError(f"cannot read {p}: {e.strerror}") from None
    nul = raw.find(b"\x00")
    if nul >= 0 and not encoding.lower().replace("-", "").startswith("utf16"):
        raise CorpusError(
            f"{p} looks binary (NUL byte at offset {nul}); give a text file, "
            "or --encoding if it is UTF-16"
        )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise CorpusError(
            f"{p} is not valid {encoding} (byte {raw[e.start]:#04x} at offset {e.start}); "
            "pass --encoding (e.g. --encoding latin-1) or convert the file"
        ) from None
    except LookupError:
        raise CorpusError(f"unknown encoding {encoding!r}; try utf-8 or latin-1") from None
    return text.removeprefix("\ufeff")  # a BOM is an encoding detail, not text


class TextCodec(Codec):
    """Shared reading and writing of plain text items."""

    file_options = ("encoding", "max_vocab")

    def read(self, path: str | Path) -> str:
        return read_text(path, self.options.get("encoding", "utf-8"))

    def write(self, item: str, path: str | Path) -> None:
        atomic_write_text(path, item)

    def detokenize(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)

    def span_text(self, ids: Sequence[int]) -> str:
        """Text reads as it was written: the tokens' text joined as it is."""
        return "".join(self.token_text(int(t)) for t in ids)

    def _closers(self, unit: str, closes) -> list[int] | None:
        """The ids whose text ``closes`` a word (a space, or a word itself)."""
        if unit != "word":
            return None
        tokens = self._need_vocab().tokens
        return [i for i in range(NUM_SPECIAL, len(tokens)) if closes(tokens[i])]


class CharCodec(TextCodec):
    """One token per Unicode code point.

    Args:
        max_vocab: Most distinct characters a corpus may have; more is refused (1000 is far
            beyond any alphabet: a corpus that needs more is usually a binary file read as
            text, or CJK, which can raise it).
        encoding: Text encoding of the corpus files.
    """

    name = "char"
    units = ("token", "word")
    copy_ngram = 10  # about two words

    def __init__(self, max_vocab: int = 1000, encoding: str = "utf-8"):
        # 1000 distinct characters is far beyond any alphabet's text; a corpus that needs
        # more is usually a binary file read as text (or CJK, which can raise the limit).
        super().__init__(max_vocab=max_vocab, encoding=encoding)

    def tokenize(self, item: str) -> list[str]:
        return list(item)

    def stream_encoder(self) -> CharStream:
        """A plain-text file's ids are its characters' ids one by one, so the token cache
        encodes big streams in chunks (char_stream.py) instead of item by item."""
        return CharStream(self.options.get("encoding", "utf-8"))

    def unit_done(self, unit: str, new: Sequence[int]) -> bool:
        """A word ends with the whitespace after it: ``"rship "`` after ``"Sta"``."""
        if unit != "word":
            return super().unit_done(unit, new)
        texts = [self.token_text(i) for i in new]
        return bool(texts) and texts[-1].isspace() and any(
            t and not t.isspace() for t in texts[:-1])

    def unit_closers(self, unit: str) -> list[int] | None:
        return self._closers(unit, str.isspace)

    def check_vocab(self) -> None:
        n = len(self.vocab) - NUM_SPECIAL
        if n > self.options["max_vocab"]:
            raise CorpusError(
                f"the corpus has {n} distinct characters (limit {self.options['max_vocab']}): "
                "it is probably binary; if it really is text (e.g. Chinese), raise --max-vocab"
            )


_WORD = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


class WordCodec(TextCodec):
    """Words, single punctuation marks and whitespace runs as tokens.

    The vocabulary keeps the ``max_vocab`` most frequent tokens; rarer ones become ``<unk>``
    (decoded as the Unicode replacement character so it is visible but not mistaken for text).

    Args:
        max_vocab: How many of the most frequent tokens the vocabulary keeps.
        encoding: Text encoding of the corpus files.
        lowercase: Lower-case the text before splitting it into words.
    """

    name = "word"
    units = ("token", "word")
    copy_ngram = 8  # about four words with their spaces

    def __init__(self, max_vocab: int = 20000, encoding: str = "utf-8", lowercase: bool = False):
        super().__init__(max_vocab=max_vocab, encoding=encoding, lowercase=lowercase)

    def tokenize(self, item: str) -> list[str]:
        if self.options["lowercase"]:
            item = item.lower()
        return _WORD.findall(item)

    def fit(self, items: Iterable[Any]) -> None:
        counts: Counter[str] = Counter()
        for item in items:
            counts.update(self.tokenize(item))
        # ties broken by the token itself so the vocabulary does not depend on file order
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        self.vocab = Vocabulary.build(t for t, _ in ranked[: self.options["max_vocab"]])

    def encode(self, item: Any, unknown: str = "unk") -> list[int]:
        # rare words are expected with a capped vocabulary, so <unk> is the default here
        return super().encode(item, unknown=unknown)

    def unit_done(self, unit: str, new: Sequence[int]) -> bool:
        """A word is one token that is not whitespace (the spaces before it come with it)."""
        if unit != "word":
            return super().unit_done(unit, new)
        last = self.token_text(new[-1]) if new else ""
        return bool(last) and not last.isspace()

    def unit_closers(self, unit: str) -> list[int] | None:
        return self._closers(unit, lambda t: not t.isspace())

    def token_text(self, i: int) -> str:
        return "\ufffd" if i == 3 else super().token_text(i)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.token_text(int(i)) for i in ids)
