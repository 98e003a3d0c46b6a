"""The copy index: a suffix array over a run's training tokens, built once, cached, mapped.

    cache_dir()/copy-index/<key>/text.npy    every training token as a code (uint8 when the
                                             corpus has under 256 distinct symbols, else
                                             uint16), 0 between pieces
                                 sa.npy      the suffix array of text (int32: 4 bytes a token)
                                 pieces.npy  (P, 2) int64: each piece's start in text and in
                                             the token store
                                 codes.npy   (num_symbols,) symbol -> code, 0 = not in corpus
                                 meta.json   version, corpus digest, transform, split

Only the training split is indexed: the validation split is what the model never saw, so it
is the reference for how original unseen material looks. Codes come from the symbols of
``transform.py`` (ids for text, intervals for music). The key holds the corpus digest the run
recorded, so a changed corpus never meets an index of the old one. libdivsufsort
(pydivsufsort) sorts the suffixes in C with no memory beyond the array it returns: with the
codes that is 5 bytes a token for a one-byte alphabet.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..core.files import UMASK, cache_dir, fsync_dir
from ..data.store import TokenStore
from .transform import Transform

INDEX_VERSION = 1  # bump when the layout, the codes or a transform changes
_CHUNK = 1 << 22  # tokens mapped to codes at a time: bounds the temporaries (8 bytes each)


def index_root() -> Path:
    return cache_dir() / "copy-index"


@dataclass
class CopyIndex:
    """The mapped arrays of one index and what is needed to name a match's source."""

    text: np.ndarray  # (N,) codes
    sa: np.ndarray  # (N,) int32
    pieces: np.ndarray  # (P, 2) int64: start in text, start in the store's ids
    codes: np.ndarray  # (num_symbols,) code of each symbol
    transform: Transform
    store: TokenStore
    meta: dict[str, Any]
    breaks: np.ndarray | None = None  # store positions of line-break tokens (meter.py's namer)
    items: list | None = None  # the corpus's items, for titles (meter.py's namer)

    def encode(self, ids: np.ndarray) -> np.ndarray:
        """Codes of one document's (or sample's) ids, as int64 for the searches."""
        sym = self.transform.symbols(np.asarray(ids, dtype=np.int64))
        return self.codes[sym].astype(np.int64)

    def store_position(self, at: int) -> int:
        """Where text position ``at`` lies in the token store's ids."""
        k = int(np.searchsorted(self.pieces[:, 0], at, side="right")) - 1
        return int(self.pieces[k, 1] + at - self.pieces[k, 0])


def key(codec_name: str, digest: str, transform: Transform, spec: dict[str, Any]) -> str:
    blob = json.dumps({"version": INDEX_VERSION, "digest": digest, "transform": transform.name,
                       **spec}, sort_keys=True)
    return f"{codec_name}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def open_index(entry: Path, transform: Transform, store: TokenStore) -> CopyIndex | None:
    """A complete entry mapped from disk, or None (missing, damaged or of another version)."""
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        if meta.get("version") != INDEX_VERSION:
            return None
        arrays = {name: np.load(entry / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                  for name in ("text", "sa", "pieces", "codes")}
        text, sa = arrays["text"], arrays["sa"]
        if not (text.ndim == 1 and sa.shape == text.shape and len(text) == meta["size"]
                and arrays["codes"].shape == (transform.num_symbols,)):
            return None
        return CopyIndex(np.asarray(text), np.asarray(sa), np.asarray(arrays["pieces"]),
                         np.asarray(arrays["codes"]), transform, store, meta)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a truncated .npy fails to map; a torn meta.json fails to parse


# --- building ------------------------------------------------------------------------------
def train_pieces(store: TokenStore, split: tuple[float, int]) -> list[tuple[int, int]]:
    """(start, end) in the store's ids of every piece the run trained on. The split is the
    store's own (``TokenStore.split``), so the index and training can never disagree: its
    pieces are views into ``store.ids``, and a view's place is its address less the base's."""
    train, _ = store.split(*split)
    if train.stream is not None:
        return [(0, len(train.stream))]
    base, size = store.ids.__array_interface__["data"][0], store.ids.itemsize
    out = []
    for doc in train.docs:
        start = (doc.__array_interface__["data"][0] - base) // size
        out.append((int(start), int(start) + len(doc)))
    return out


def build(store: TokenStore, transform: Transform, split: tuple[float, int],
          progress: bool = True) -> tuple[dict[str, np.ndarray], int]:
    """The arrays of a new index: codes of every training token, pieces apart by a 0, and
    their suffix array. Returns the arrays and the number of distinct codes."""
    from pydivsufsort import divsufsort  # C; imported here so the package loads without it

    pieces = train_pieces(store, split)
    # a context-free symbol needs no document around it: map chunks of the ids directly
    if transform.context_free:
        def symbols_of(a: int, b: int) -> np.ndarray:
            return transform.symbols(store.ids[a:b])
    else:
        symbols_of = _document_symbols(store, transform)
    bar = tqdm(total=3, desc="copy index", unit="stage", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    seen = np.zeros(transform.num_symbols, bool)
    for a, b in pieces:
        for c in range(a, b, _CHUNK):
            seen |= np.bincount(symbols_of(c, min(b, c + _CHUNK)),
                                minlength=transform.num_symbols) > 0
    distinct = int(seen.sum())
    if transform.context_free:
        # codes are the ids themselves (0, padding, never occurs in a corpus): no table
        # lookup, and a stream's one piece is the token cache's own array, not a copy
        codes = np.where(seen, np.arange(transform.num_symbols), 0)
        dtype = store.ids.dtype
    else:  # symbols are sparse: number the ones that occur, so the text fits in a byte
        codes = np.zeros(transform.num_symbols, np.int64)
        codes[seen] = np.arange(1, distinct + 1)
        dtype = np.dtype(np.uint8 if distinct < 255 else np.uint16 if distinct < 65535
                         else np.int32)
    table = codes.astype(dtype)
    bar.update(1)
    if len(pieces) == 1 and transform.context_free and not store.documents:
        a, b = pieces[0]
        text = store.ids[a:b]  # a suffix that runs off the end needs no separator
        starts = np.array([[0, a]], np.int64)
    else:
        text, starts = _joined(pieces, symbols_of, table)
    bar.update(1)
    if not text.flags.writeable:  # pydivsufsort refuses read-only memory (a mapped cache)
        text = np.array(text)
    sa = divsufsort(text)
    bar.update(1)
    bar.close()
    return {"text": text, "sa": sa.astype(np.int32, copy=False), "pieces": starts,
            "codes": codes.astype(np.int32)}, distinct


def _joined(pieces: list[tuple[int, int]], symbols_of, table: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The pieces' codes one after another, each followed by a 0; and where each starts
    (in the text, and in the store)."""
    text = np.zeros(sum(b - a for a, b in pieces) + len(pieces), table.dtype)
    starts = np.zeros((len(pieces), 2), np.int64)
    at = 0
    for k, (a, b) in enumerate(pieces):
        starts[k] = at, a
        for c in range(a, b, _CHUNK):
            e = min(b, c + _CHUNK)
            text[at + c - a: at + e - a] = table[symbols_of(c, e)]
        at += b - a + 1  # the separator after each piece is already 0
    return text, starts


def _document_symbols(store: TokenStore, transform: Transform):
    """symbols(a, b): the symbols of store ids a:b, each document transformed whole (a
    note's interval needs the note before it, which a piece may have cut off). In a stream
    (a melody or performance run trained without documents mode) one training piece holds
    many documents, so a:b may cross their bounds: each document's part is taken from its
    own symbols, and a document's first note stays a first note, as in a sample."""
    cache: dict[int, np.ndarray] = {}
    offsets = store.offsets

    def one(d: int) -> np.ndarray:
        if d not in cache:
            cache.clear()  # pieces and chunks come in store order: keep one document
            cache[d] = transform.symbols(store.document(d))
        return cache[d]

    def symbols(a: int, b: int) -> np.ndarray:
        parts = []
        while a < b:
            d = int(np.searchsorted(offsets, a, side="right")) - 1
            end = min(b, int(offsets[d + 1]))
            parts.append(one(d)[a - int(offsets[d]): end - int(offsets[d])])
            a = end
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return symbols


def write(entry: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write the entry in a temporary folder beside it and rename it into place, so a
    half-written index never has the final name (as the token cache does)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=entry.parent))
    try:
        os.chmod(tmp, 0o777 & ~UMASK)
        for name, array in arrays.items():
            with open(tmp / f"{name}.npy", "wb") as f:
                np.save(f, array, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
        with open(tmp / "meta.json", "w", encoding="utf-8") as f:
            json.dump(meta, f)
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(tmp)
        if entry.exists():  # another process built the same key meanwhile, or a damaged one
            shutil.rmtree(entry, ignore_errors=True)
        os.rename(tmp, entry)
        fsync_dir(entry.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
