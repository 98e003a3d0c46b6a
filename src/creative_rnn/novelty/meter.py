"""The copy meter: how much of a sample is copied from the run's training corpus.

For a sample it gives the longest span found verbatim in the training split (its length in
tokens, its text and where it comes from), the share of the sample's n-grams that occur
there, and every maximal copied span of at least n tokens (what the studio marks). Music is
compared as intervals (``transform.py``), so a transposed copy counts.

``index_for`` opens a run's index: it reads the corpus through the token cache, checks it
against the digest the run recorded (a corpus that moved or changed is an error, never a
silent comparison with other text) and builds the index on first use.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import corpora
from ..codecs import Codec
from ..data.cache import digest as store_digest
from ..data.cache import prepare
from ..errors import CorpusError, UserError
from .index import (
    INDEX_VERSION,
    CopyIndex,
    DamagedIndex,
    build,
    index_root,
    key,
    open_index,
    write,
)
from .transform import for_codec, ngram

_OPEN: dict[str, CopyIndex] = {}  # indexes opened by this process, by corpus stamp
_KEEP = 4  # a process rarely reads more runs' corpora than this at once


@dataclass
class Span:
    """Sample tokens ``start:end`` occur in the corpus at ``source``."""

    start: int
    end: int
    source: str


@dataclass
class Novelty:
    """The meter's reading of one sample (lengths in tokens)."""

    tokens: int
    longest: int
    longest_text: str
    longest_source: str
    ngram: int
    ngram_share: float  # of the sample's n-grams, the share found in the corpus
    spans: list[Span] = field(default_factory=list)

    def line(self) -> str:
        if self.longest == 0:
            copied = "nothing copied"
        else:
            text = self.longest_text if len(self.longest_text) <= 60 \
                else self.longest_text[:57] + "..."
            copied = f"longest copy {self.longest} tokens {text!r} from {self.longest_source}"
        return (f"novelty: {copied}; {100 * self.ngram_share:.1f}% of {self.ngram}-grams in "
                f"the corpus ({self.tokens} tokens)")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def index_for(config: dict[str, Any], codec: Codec, run: str | Path = "the run",
              progress: bool = True) -> CopyIndex:
    """The copy index of a run's training split (built and cached on first use)."""
    spec = config.get("corpus")
    train = config.get("train", {})
    if not isinstance(spec, dict) or "val_fraction" not in train:
        raise UserError(f"{run} records no corpus to compare with (a run of another task, or "
                        "one trained outside creative-rnn); the copy meter needs a language "
                        "model's run directory")
    sources = ", ".join(spec.get("sources", []))
    try:
        stamp = _stamp(spec, codec, [config.get("corpus_digest"), train.get("val_fraction"),
                                     train.get("doc_max_len")])
        if stamp in _OPEN:  # read and checked already by this process, and unchanged since
            return _OPEN[stamp]
        store = prepare(spec, codec, fit=False)
    except (UserError, OSError) as e:
        raise CorpusError(f"cannot read the corpus {sources} that {run} was trained on "
                          f"({e}); put it back where it was to measure copies") from None
    found = store.digest or store_digest(store.ids, store.offsets)
    recorded = config.get("corpus_digest")
    if recorded is not None and recorded != found:
        raise CorpusError(f"the corpus {sources} changed since {run} was trained (digest "
                          f"{found}, trained on {recorded}); the copy meter will not compare "
                          "with other text: restore the corpus the run was trained on")
    if recorded is None:
        print(f"warning: {run} records no corpus digest; the copy meter cannot check that "
              f"{sources} is the text it was trained on", file=sys.stderr)
    transform = for_codec(codec)
    split = (float(train["val_fraction"]), int(train.get("doc_max_len", 10**9)))
    entry = index_root() / key(codec.name, found, transform,
                               {"split": list(split), "documents": bool(store.documents)})
    try:
        index = open_index(entry, transform, store)
        if index is None:
            print(f"building the copy index of {run}'s corpus ({len(store):,} tokens; once, "
                  f"cached in {entry})", file=sys.stderr)
    except DamagedIndex as e:  # never trusted: built again (the entry is the cache's own)
        index = None
        print(f"rebuilding the copy index of {run}'s corpus ({len(store):,} tokens): the "
              f"cached one in {entry} is damaged ({e})", file=sys.stderr)
    if index is None:
        arrays, distinct = build(store, transform, split, progress)
        meta = {"version": INDEX_VERSION, "digest": found, "transform": transform.name,
                "split": list(split), "size": len(arrays["text"]), "codes": distinct}
        try:
            write(entry, arrays, meta)
            index = open_index(entry, transform, store)
        except (OSError, DamagedIndex) as e:
            print(f"warning: cannot cache the copy index in {entry.parent} ({e}); keeping it "
                  "in memory (point $CREATIVE_RNN_CACHE at a writable folder)", file=sys.stderr)
        if index is None:
            index = CopyIndex(arrays["text"], arrays["sa"], arrays["pieces"],
                              arrays["codes"], transform, store, meta)
    index.meta["spec"] = spec  # for the namer: files, lines, titles
    if len(_OPEN) >= _KEEP:
        _OPEN.pop(next(iter(_OPEN)))
    _OPEN[stamp] = index
    return index


def _stamp(spec: dict[str, Any], codec: Codec, run: list) -> str:
    """The corpus files (path, size, modification time) and the codec, as the token cache
    keys on them, with the run's recorded digest and split: the same stamp later in this
    process means the same text and the same check, so it is done once."""
    files, _ = corpora.resolve_files(spec["sources"], **spec.get("named_options", {}))
    parts = [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    return json.dumps([spec, codec.to_json(), parts, run], sort_keys=True, default=str)


def matches(index: CopyIndex, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(lengths, where)``, each ``(T,)``: the longest corpus match starting at every token
    of ``ids`` and one place of it in the index text (search.longest_matches)."""
    q = index.encode(ids)
    lengths = np.zeros(len(q), np.int64)
    where = np.full(len(q), -1, np.int64)
    if len(q) and len(index.text):
        from .search import longest_matches  # numba: loaded when a copy is first measured

        longest_matches(q, index.text, index.sa, lengths, where)
    return lengths, where


def measure(index: CopyIndex, codec: Codec, ids: list[int] | np.ndarray,
            min_span: int | None = None) -> Novelty:
    """The meter's reading of a sample given as ids. ``min_span``: the shortest copy listed
    in ``spans`` (default the codec's n)."""
    ids = np.asarray(ids, dtype=np.int64)
    n = ngram(codec)
    lengths, where = matches(index, ids)
    grams = max(len(ids) - n + 1, 0)
    share = float(np.mean(lengths[:grams] >= n)) if grams else 0.0
    best = int(np.argmax(lengths)) if len(ids) else 0
    longest = int(lengths[best]) if len(ids) else 0
    namer = _Namer(index, codec)
    spans = [Span(i, i + int(lengths[i]), namer(int(where[i])))
             for i in maximal(lengths, min_span or n)]
    return Novelty(
        tokens=len(ids), longest=longest,
        longest_text=codec.span_text(ids[best: best + longest].tolist()) if longest else "",
        longest_source=namer(int(where[best])) if longest else "",
        ngram=n, ngram_share=share, spans=spans)


def maximal(lengths: np.ndarray, min_len: int) -> list[int]:
    """Starts of the copies not inside the one before: a match at i+1 is at least the match
    at i less one token, so the one at i contains it unless it is longer than that."""
    keep = lengths >= max(min_len, 1)
    keep[1:] &= lengths[:-1] <= lengths[1:]
    return np.flatnonzero(keep).tolist()


class _Namer:
    """Where a match lies, in the user's terms: a file and line for streams of text, the
    item (tune, melody, piece, line) and its file for documents."""

    def __init__(self, index: CopyIndex, codec: Codec):
        self.index, self.codec = index, codec
        self._files: list[str] | None = None
        vocab = codec.vocab
        # line breaks per token: a word codec's whitespace token may hold several. Only where
        # the vocabulary lists every token's text (an ensemble's symbols are computed, not
        # listed, and its corpus lines are performances, not steps: it counts tokens)
        self.newline = np.array([t.count("\n") for t in vocab.tokens]) \
            if not codec.is_music and len(vocab.tokens) == codec.vocab_size else None

    def files(self) -> list[str]:
        if self._files is None:
            spec = self.index.meta.get("spec", {})
            try:
                found, _ = corpora.resolve_files(spec.get("sources", []),
                                                 **spec.get("named_options", {}))
                self._files = [str(f) for f in found]
            except (UserError, OSError):
                self._files = []
        return self._files

    def items(self) -> list:
        """The corpus's items in store order (documents mode: one document each), read once
        per index, for their titles; empty when they do not line up with the documents."""
        index = self.index
        if index.items is None:
            spec = index.meta.get("spec", {})
            try:
                items = corpora.load(spec["sources"], self.codec, documents=True,
                                     unit=spec.get("unit", "line"),
                                     **spec.get("named_options", {})).items
            except (UserError, OSError, KeyError):
                items = []
            index.items = items if len(items) == index.store.num_documents else []
        return index.items

    def title(self, d: int) -> str:
        """The item's title as its codec gives it (a tune's T: field, a line of text's
        opening words), or ""."""
        items = self.items()
        return self.codec.item_title(items[d]) if d < len(items) else ""

    def breaks(self) -> np.ndarray:
        """Where the store's line breaks are, found once per index (a pass over the ids)."""
        index = self.index
        if index.breaks is None:
            ids, step = index.store.ids, 1 << 22
            found = [np.zeros(0, np.int64)]
            for c in range(0, len(ids), step):
                at = np.flatnonzero(self.newline[ids[c: c + step]]) + c
                found.append(np.repeat(at, self.newline[ids[at]]))  # one entry per break
            index.breaks = np.concatenate(found)
        return index.breaks

    def __call__(self, at: int) -> str:
        if at < 0:
            return ""
        store = self.index.store
        pos = self.index.store_position(at)
        d = int(np.searchsorted(store.offsets, pos, side="right")) - 1
        files = self.files()
        what = self.codec.item_noun
        where = f" of {Path(files[0]).name}" if len(files) == 1 else ""
        if not store.documents:
            # a stream's documents are its files, or the items of a book (melodies.jsonl)
            name = files[d] if len(files) == store.num_documents else f"{what} {d + 1}{where}"
            if self.newline is None:
                title = self.title(d) if self.codec.titled else ""
                return f"{name}{' ' + title if title else ''}, " \
                       f"token {pos - int(store.offsets[d]) + 1}"
            breaks = self.breaks()
            lines = int(np.searchsorted(breaks, pos) - np.searchsorted(breaks, store.offsets[d]))
            return f"{name}, line {lines + 1}"
        title = self.title(d)
        return f"{what} {d + 1}{where}" + (f" {title}" if title else "")
