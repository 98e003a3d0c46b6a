"""The token cache: a corpus is encoded once, and every later run memory-maps the ids.

    cache_dir()/tokens/<key>/ids.npy      every id, in the smallest dtype that fits the vocabulary
                            offsets.npy  document boundaries (int64; one document per file in
                                         stream mode)
                            meta.json    the fitted codec (vocabulary included), counts, the
                                         digest resume checks, the files used and skipped

The key hashes the corpus files (resolved path, size, mtime_ns), the codec's name and options,
the documents flag and unit, and — only when the vocabulary is given instead of fitted (a resume
whose fitted entry is gone) — the vocabulary. A changed file gives a new key, so a new encode
and a new digest: resume's "the corpus changed" check keeps working without reading the ids.

An entry is written in a temporary folder beside it (files fsynced) and renamed into place, so
a half-written entry never has the final name; one that fails its checks is rebuilt.

Streams of a codec that gives a ``stream_encoder`` (char: codecs/char_stream.py) are encoded
by it in bounded memory; every other codec and documents mode encodes items as before, then
stores the ids. Corpora under
``MIN_CACHE_BYTES`` stay in memory and uncached: they encode in well under a second, and an
entry per small file (tests, uploads) would only litter the cache. ``CREATIVE_RNN_TOKEN_CACHE=0``
turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import corpora
from ..codecs import Codec, StreamEncoder, Vocabulary
from ..core.files import UMASK, cache_dir, fsync_dir
from ..errors import CheckpointError, CorpusError, UserError
from .store import TokenStore, smallest_dtype

CACHE_VERSION = 2  # bump when the layout or any codec's ids change (2: ABC numbers bounded)
MIN_CACHE_BYTES = 1 << 20  # corpora smaller than this are encoded in memory each time
PROGRESS_MIN_BYTES = 16 << 20  # below this encoding takes about a second: no bar
DISABLE_ENV = "CREATIVE_RNN_TOKEN_CACHE"  # "0" turns the cache off
SHOW_SKIPPED = 3


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "1").strip().lower() not in ("0", "no", "off", "false")


def cache_root() -> Path:
    return cache_dir() / "tokens"


def digest(ids: np.ndarray, offsets: np.ndarray) -> str:
    """SHA-256 of the ids then the offsets (as run directories record it), first 16 digits."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(ids))
    h.update(np.ascontiguousarray(offsets))
    return h.hexdigest()[:16]


# --- the entry point -------------------------------------------------------------------------
def prepare(spec: dict[str, Any], codec: Codec, fit: bool) -> TokenStore:
    """The encoded corpus ``spec`` for ``codec``: from the cache, or encoded (and cached).
    ``fit``: fit the codec's vocabulary to the corpus (new runs); else use the codec's own."""
    files, explicit = corpora.resolve_files(spec["sources"], **spec.get("named_options", {}))
    if not enabled() or _total_bytes(files) < MIN_CACHE_BYTES:
        return encode_items(spec, codec, fit)[0]
    root = cache_root()
    fitted = _key(files, codec, spec, vocab=False)
    found = _open(root / fitted)
    if found is not None:
        store, meta = found
        if fit:
            codec.load_state(meta["codec"])
        if fit or _plain(meta["codec"]) == _plain(codec.to_json()):
            _report(meta, root / fitted)
            return store
    key = fitted if fit else _key(files, codec, spec, vocab=True)
    if key != fitted:
        found = _open(root / key)
        if found is not None:
            _report(found[1], root / key)
            return found[0]
    return _build(root, key, files, explicit, spec, codec, fit)


def encode_items(spec: dict[str, Any], codec: Codec, fit: bool, progress: bool = False
                 ) -> tuple[TokenStore, corpora.Corpus]:
    """Load the corpus as items, fit the codec (new runs) and encode each item in memory."""
    corpus = corpora.load(spec["sources"], codec, documents=spec["documents"],
                          unit=spec["unit"], **spec.get("named_options", {}))
    _show_skipped(corpus.skipped)
    if fit:
        codec.fit(corpus.items)
    items = tqdm(corpus.items, unit="item", desc="encoding corpus", file=sys.stderr,
                 disable=not progress)
    try:
        # a fitted codec holds every token but the rare words a capped vocabulary (word)
        # leaves out: <unk>. A given vocabulary (a resume, a fine-tune) encodes as the codec
        # does by default: a capped one gives <unk> for its rare words again, the others name
        # a token they lack (the corpus changed)
        encoded = [codec.encode(item, unknown="unk") if fit else codec.encode(item)
                   for item in items]
    except UserError as e:
        raise CheckpointError(f"the corpus no longer matches the run's vocabulary: {e}") from None
    return TokenStore.build(encoded, codec.vocab_size, spec["documents"]), corpus


# --- keys and reading --------------------------------------------------------------------------
def _total_bytes(files: list[Path]) -> int:
    try:
        return sum(f.stat().st_size for f in files)
    except OSError:
        return 0  # a file vanished: the in-memory path reports it by name


def _plain(obj: Any) -> Any:
    """JSON's view of an object (tuples become lists), so two codec descriptions compare."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _key(files: list[Path], codec: Codec, spec: dict[str, Any], vocab: bool) -> str:
    parts = []
    for f in files:
        st = f.stat()
        parts.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps({"version": CACHE_VERSION, "codec": codec.name, "options": codec.options,
                       "documents": bool(spec["documents"]), "unit": spec["unit"],
                       "files": parts, "vocab": _plain(codec.to_json()) if vocab else None},
                      sort_keys=True, default=str)
    return f"{codec.name}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def _open(entry: Path) -> tuple[TokenStore, dict] | None:
    """A complete, consistent entry memory-mapped, or None (missing or damaged)."""
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        if meta.get("version") != CACHE_VERSION:
            return None
        ids = np.load(entry / "ids.npy", mmap_mode="r", allow_pickle=False)
        offsets = np.load(entry / "offsets.npy", mmap_mode="r", allow_pickle=False)
        ok = (ids.ndim == 1 and ids.dtype == np.dtype(meta["dtype"])
              and len(ids) == meta["num_tokens"] and offsets.shape == (meta["num_documents"] + 1,)
              and offsets.dtype == np.int64 and offsets[0] == 0 and offsets[-1] == len(ids))
        if not ok:
            return None
        # plain ndarray views of the maps: nothing downstream needs to know they are files
        store = TokenStore(np.asarray(ids), np.asarray(offsets), bool(meta["documents"]),
                           digest=str(meta["digest"]))
        return store, meta
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # a truncated .npy fails to map; a torn meta.json fails to parse


def _report(meta: dict, entry: Path, seconds: float | None = None) -> None:
    if seconds is None:  # read from the cache: say again what the encode skipped
        _show_skipped(meta.get("skipped", []))
    how = "read from" if seconds is None else f"encoded in {seconds:.1f} s into"
    print(f"token cache: {meta['num_tokens']:,} tokens {how} {entry}", file=sys.stderr)


def _show_skipped(skipped: list[str]) -> None:
    for note in skipped[:SHOW_SKIPPED]:
        print(f"skipped: {note}", file=sys.stderr)
    if len(skipped) > SHOW_SKIPPED:  # a long list would bury the progress bar
        print(f"skipped {len(skipped) - SHOW_SKIPPED} more unreadable file(s); "
              f"`creative-rnn corpus` lists them all", file=sys.stderr)


# --- building ------------------------------------------------------------------------------------
def _build(root: Path, key: str, files: list[Path], explicit: set, spec: dict[str, Any],
           codec: Codec, fit: bool) -> TokenStore:
    encoder = None if spec["documents"] else codec.stream_encoder()
    store, start = None, time.perf_counter()
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(root)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-{key}-", dir=root))
        try:
            os.chmod(tmp, 0o777 & ~UMASK)  # mkdtemp makes 0700; a plain mkdir would not
            if encoder is not None:
                meta = _write_streamed(tmp, files, explicit, spec["sources"], codec, encoder,
                                       fit)
            else:
                store, corpus = encode_items(spec, codec, fit,
                                             progress=_total_bytes(files) >= PROGRESS_MIN_BYTES)
                meta = _write_store(tmp, store, corpus)
            meta.update(version=CACHE_VERSION, codec=_plain(codec.to_json()),
                        documents=bool(spec["documents"]), unit=spec["unit"])
            _write_file(tmp / "meta.json", json.dumps(meta, ensure_ascii=False).encode())
            fsync_dir(tmp)
            _commit(tmp, root / key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone already once committed
        found = _open(root / key)
        if found is None:
            raise OSError("the entry just written does not read back")
    except OSError as e:  # a read-only or full disk: train as before, from memory
        print(f"warning: cannot use the token cache in {root} ({e}); encoding in memory "
              "(point $CREATIVE_RNN_CACHE at a writable folder to cache)", file=sys.stderr)
        return store if store is not None else encode_items(spec, codec, fit)[0]
    _report(found[1], root / key, time.perf_counter() - start)
    return found[0]


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _write_store(tmp: Path, store: TokenStore, corpus: corpora.Corpus) -> dict:
    _write_npy(tmp / "ids.npy", store.ids)
    _write_npy(tmp / "offsets.npy", store.offsets.astype(np.int64))
    return {"num_tokens": len(store.ids), "num_documents": store.num_documents,
            "dtype": store.ids.dtype.str, "digest": digest(store.ids, store.offsets),
            "sources": corpus.sources, "skipped": corpus.skipped}


def _write_streamed(tmp: Path, files: list[Path], explicit: set, sources: list,
                    codec: Codec, encoder: StreamEncoder, fit: bool) -> dict:
    """The codec's two passes over the files (its ``stream_encoder``); memory bounded."""
    total = _total_bytes(files)
    quiet = total < PROGRESS_MIN_BYTES
    with _bar(total, encoder.scanning, quiet) as bar:
        found = encoder.scan(files, explicit, bar)
    _show_skipped(found.skipped)
    if not found.used:
        extra = f" ({len(found.skipped)} unreadable file(s) skipped)" if found.skipped else ""
        raise CorpusError(f"the corpus {', '.join(map(str, sources))} is empty{extra}; "
                          "give files with some content")
    if fit:
        codec.vocab = Vocabulary.build(found.tokens())
        codec.check_vocab()
    vocab = codec._need_vocab()
    missing = [c for c in found.tokens() if c not in vocab]
    if missing:  # the message codec.encode(unknown="error") gives, as prepare words it
        shown = ", ".join(repr(t) for t in missing[:10])
        raise CheckpointError(
            f"the corpus no longer matches the run's vocabulary: {len(missing)} token(s) not "
            f"in the model's vocabulary: {shown}; remove them or pass --unknown skip")
    dtype = smallest_dtype(codec.vocab_size)
    n = sum(k for _, k in found.used)
    offsets = np.concatenate([[0], np.cumsum([k for _, k in found.used])]).astype(np.int64)
    h = hashlib.sha256()
    with open(tmp / "ids.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {
            "descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n,)})
        used_bytes = sum(p.stat().st_size for p, _ in found.used)
        with _bar(used_bytes, "encoding corpus", quiet) as bar:
            encoder.write_ids(f, found.used, vocab, dtype, h, bar)
        f.flush()
        os.fsync(f.fileno())
    _write_npy(tmp / "offsets.npy", offsets)
    h.update(offsets)
    return {"num_tokens": n, "num_documents": len(found.used), "dtype": dtype.str,
            "digest": h.hexdigest()[:16], "sources": [str(p) for p, _ in found.used],
            "skipped": found.skipped}


def _bar(total: int, desc: str, quiet: bool) -> tqdm:
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                file=sys.stderr, disable=quiet, dynamic_ncols=True)


def _commit(tmp: Path, entry: Path) -> None:
    """Rename the finished folder into place. Another process may have committed the same
    key meanwhile: its entry is as good as ours. A damaged entry is replaced."""
    if entry.exists():
        if _open(entry) is not None:
            return
        shutil.rmtree(entry, ignore_errors=True)
    try:
        os.rename(tmp, entry)
    except OSError:
        if _open(entry) is None:
            raise
    fsync_dir(entry.parent)


def _remove_abandoned(root: Path) -> None:
    """Temporary folders left by a process killed mid-encode (``.tmp-<pid>-...``)."""
    for old in root.glob(".tmp-*"):
        try:
            os.kill(int(old.name.split("-")[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, IndexError, OSError):
            pass  # alive (or not ours to judge): leave it
