"""The copy index: a suffix array over a run's training tokens, built once, cached, mapped.

    cache_dir()/copy-index/<key>/text.npy    every training token as a code (uint8 when the
                                             corpus has under 256 distinct symbols, else
                                             uint16), 0 between pieces
                                 sa.npy      the suffix array of text (int32: 4 bytes a token)
                                 pieces.npy  (P, 2) int64: each piece's start in text and in
                                             the token store
                                 codes.npy   (num_symbols,) symbol -> code, 0 = not in corpus
                                 meta.json   version, corpus digest, transform, split,
                                             the arrays' SHA-256 (checked at open)

Only the training split is indexed: the validation split is what the model never saw, so it
is the reference for how original unseen material looks. Codes come from the symbols of
``transform.py`` (ids for text, intervals for music). The key holds the corpus digest the run
recorded, so a changed corpus never meets an index of the old one. libdivsufsort
(pydivsufsort) sorts the suffixes in C with no memory beyond the array it returns: with the
codes that is 5 bytes a token for a one-byte alphabet.

The cache is never trusted: an entry that is not what build() wrote (open_index says how)
is rebuilt, with a line saying why.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import stat
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

INDEX_VERSION = 2  # bump when the layout, the codes or a transform changes (2: checksum)
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


class DamagedIndex(Exception):
    """A cached entry that cannot be trusted; the message says why (meter.py rebuilds it)."""


_ARRAYS = ("text", "sa", "pieces", "codes")
# what build() writes: text is the store's ids (any of data/store.py's dtypes) or codes in
# the smallest of uint8, uint16, int32; the rest have one dtype each
_TEXT_DTYPES = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.int32, np.int64))
_DTYPES = {"sa": np.dtype(np.int32), "pieces": np.dtype(np.int64), "codes": np.dtype(np.int32)}
_META_MAX = 1 << 16  # bytes: a meta.json is a few hundred
# entries whose checksum this process has verified, by the identity of their files (device,
# inode, size, modification time): a second run on the same corpus does not hash it again
_VERIFIED: set[tuple] = set()


def open_index(entry: Path, transform: Transform, store: TokenStore) -> CopyIndex | None:
    """The entry mapped from disk, or None when there is none. Raises DamagedIndex when it is
    there but cannot be trusted: a file that is not a regular file (a FIFO would block the
    open forever), is truncated or is not an array; a meta.json that is not an object of
    this version; arrays of the wrong dtype or shape, pieces out of range; or bytes that do
    not match the checksum written beside them (a damaged suffix array gives wrong answers,
    and the searches only promise not to read outside the arrays whatever they hold)."""
    if not os.path.lexists(entry):
        return None
    meta, identity = _read_meta(entry / "meta.json")
    arrays = {}
    for name in _ARRAYS:
        arrays[name], seen = _mapped(entry / f"{name}.npy")
        identity += seen
    _check(meta, arrays, transform, store)
    if identity not in _VERIFIED:
        if meta.get("checksum") != checksum(arrays):
            raise DamagedIndex("its arrays do not match the checksum in meta.json")
        _VERIFIED.add(identity)
    return CopyIndex(*(np.asarray(arrays[name]) for name in _ARRAYS), transform, store, meta)


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over each array's name, dtype, shape and bytes. It reads every byte once: for
    a 100 M-token corpus about 500-600 MB (text 1-2 bytes a token, the suffix array 4), about
    what reading the files costs, and far less than building the index. open_index pays it
    once per entry per process (_VERIFIED)."""
    h = hashlib.sha256()
    for name in _ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a)
    return f"sha256:{h.hexdigest()}"


def _open_regular(path: Path):
    """``path`` opened for reading, with its fstat, if it is a regular file. O_NONBLOCK: a
    FIFO in its place would otherwise block the open until a writer came; fstat then refuses
    it (and a folder or a device) before a byte is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        raise DamagedIndex(f"{path.name} cannot be opened ({e.strerror})") from None
    f = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise DamagedIndex(f"{path.name} is not a regular file")
    return f, st


def _identity(path: Path, st: os.stat_result) -> tuple:
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _read_meta(path: Path) -> tuple[dict[str, Any], tuple]:
    f, st = _open_regular(path)
    with f:
        if st.st_size > _META_MAX:
            raise DamagedIndex(f"meta.json has {st.st_size:,} bytes (a few hundred expected)")
        try:
            meta = json.loads(f.read().decode("utf-8"))
        except ValueError:  # JSONDecodeError, UnicodeDecodeError
            raise DamagedIndex("meta.json is not JSON") from None
    if not isinstance(meta, dict):
        raise DamagedIndex("meta.json is not a JSON object")
    return meta, _identity(path, st)


def _mapped(path: Path) -> tuple[np.ndarray, tuple]:
    """The array of one .npy file, memory-mapped read-only, if the file holds exactly the
    array its header describes (a truncated file is refused here, before any search)."""
    f, st = _open_regular(path)
    with f:
        try:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"format {version}")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
        # numpy parses the header with ast and tokenize: garbage raises ValueError,
        # SyntaxError, tokenize.TokenError, TypeError... each means the same here
        except Exception as e:  # noqa: BLE001
            raise DamagedIndex(f"{path.name} is not an array file "
                               f"({type(e).__name__})") from None
        if fortran or dtype.hasobject or any(d < 0 for d in shape):
            raise DamagedIndex(f"{path.name} holds an array build() never writes")
        offset = f.tell()
        if offset + math.prod(shape) * dtype.itemsize != st.st_size:
            raise DamagedIndex(f"{path.name} is truncated (or has bytes after its array)")
        if math.prod(shape) == 0:  # nothing to map (mmap refuses a length of 0)
            return np.zeros(shape, dtype), _identity(path, st)
        return np.memmap(f, dtype, "r", offset, shape), _identity(path, st)


def _check(meta: dict[str, Any], arrays: dict[str, np.ndarray], transform: Transform,
           store: TokenStore) -> None:
    """Versions, dtypes, shapes and the pieces' ranges: cheap checks (the pieces are one per
    document), so the namer's lookups stay inside the text and the token store."""
    if meta.get("version") != INDEX_VERSION:
        raise DamagedIndex(f"meta.json has version {meta.get('version')!r}, not "
                           f"{INDEX_VERSION}")
    text, pieces = arrays["text"], arrays["pieces"]
    if text.ndim != 1 or text.dtype not in _TEXT_DTYPES:
        raise DamagedIndex(f"text.npy is {text.dtype} {text.shape}, not 1-d integers")
    for name, dtype in _DTYPES.items():
        if arrays[name].dtype != dtype:
            raise DamagedIndex(f"{name}.npy is {arrays[name].dtype}, not {dtype}")
    size = meta.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or len(text) != size \
            or arrays["sa"].shape != text.shape:
        raise DamagedIndex(f"text.npy and sa.npy do not both hold meta.json's size {size!r}")
    if arrays["codes"].shape != (transform.num_symbols,):
        raise DamagedIndex(f"codes.npy has {arrays['codes'].shape}, not one code for each "
                           f"of {transform.num_symbols} symbols")
    if pieces.ndim != 2 or pieces.shape[1] != 2 or (size > 0) != (len(pieces) > 0):
        raise DamagedIndex(f"pieces.npy has shape {pieces.shape} for a text of {size} codes")
    if len(pieces):
        starts, at = pieces[:, 0], pieces[:, 1]
        # each piece's span in the text (with the 0 after it, where there is one) must fit in
        # the token store from where the piece says it starts there
        span = np.diff(np.append(starts, size))
        if starts[0] != 0 or (span <= 0).any() or (at < 0).any() \
                or (at > len(store.ids) + 1 - span).any():
            raise DamagedIndex("pieces.npy places pieces outside the text or the corpus")


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
    half-written index never has the final name (as the token cache does). The arrays'
    checksum goes into meta.json, for open_index to check."""
    meta = {**meta, "checksum": checksum(arrays)}
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
        # another process built the same key meanwhile, or a damaged one is there: only the
        # entry goes (a link in its place is unlinked, never followed to what it names)
        if entry.is_symlink() or (os.path.lexists(entry) and not entry.is_dir()):
            entry.unlink()
        elif entry.exists():
            shutil.rmtree(entry, ignore_errors=True)
        os.rename(tmp, entry)
        fsync_dir(entry.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
