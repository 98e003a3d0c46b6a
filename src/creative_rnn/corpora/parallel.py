"""Reading many corpus files: in parallel, each under a time limit, cached on disk.

Used by ``corpora.load`` for codecs that read several items per file (``items_per_file``,
``read_items``: ABC and the music codecs). Nothing here knows a domain: it calls the codec
in worker processes and stores what comes back as JSON (``item_to_json``/``item_from_json``).

* Parallel: a ``concurrent.futures`` process pool once there are enough files to pay for
  starting it; the workers get the codec's name and options (plain data), not the object.
* Time limit: each file is parsed under an alarm (``SIGALRM``; POSIX) so one pathological
  file is skipped with a reason instead of hanging the load. An alarm only works in a main
  thread, so elsewhere (the web studio's worker threads) the file is read in a child process
  that is killed when its time is up.
* Cache: the items go to ``cache_dir()/corpora/<key>.json``, the key being a hash of the
  files' paths, sizes and modification times and the codec's name and options. Change a
  file or an option and the key changes; a second load of the same corpus reads one JSON file.
* Bad files are skipped, counted and reported; a file the user named directly must be
  readable, and a corpus where every file fails is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import codecs
from ..core import child
from ..core.files import atomic_write_text, cache_dir
from ..errors import CorpusError, WriteError
from .files import Corpus

CACHE_VERSION = 3  # bump when the cached layout or any reader's output changes
FILE_TIMEOUT_S = 60.0  # one file's parse; a real score takes well under a second ...
TIMEOUT_BYTES = 50_000  # ... and the limit grows by FILE_TIMEOUT_S per this many bytes, since
# a book of hundreds of ABC tunes (music21's Essen files, ~80 kB) is one file
PRELOAD = ["creative_rnn.corpora.parallel", "creative_rnn.codecs"]  # what the fork server
# imports once, so a worker or a child process starts without importing the package again
PARALLEL_MIN_FILES = 16  # below this a process pool costs more than it saves
PROGRESS_MIN_FILES = 20


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def read_one(codec, path: str, timeout: float) -> tuple[str, Any]:
    """``("ok", {"items": [json items], "counts": {...}})`` or ``("skip", reason)`` for one
    file, never raising for a bad file. The time limit is an alarm in a main thread; in any
    other thread (the web studio checks uploads in worker threads) the file is read in a
    child process that is killed when the time is up."""
    try:
        timeout *= 1 + os.path.getsize(path) / TIMEOUT_BYTES
    except OSError:
        pass  # the reader reports a missing file
    if timeout > 0 and not _alarm_works():
        return _read_in_child(codec, path, timeout)
    if timeout > 0:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        counts = getattr(codec, "read_counts", None)  # what the reader did, to report
        before = Counter(counts or {})
        items = codec.read_items(path)
        done = {k: v for k, v in (Counter(counts or {}) - before).items()}
        return "ok", {"items": [_to_json(codec, item) for item in items], "counts": done}
    except _Timeout:
        return "skip", _too_slow(path, timeout)
    except CorpusError as e:
        return "skip", str(e)
    except RecursionError:
        return "skip", f"{path}: too deeply nested to parse"
    except Exception as e:  # a parser bug on odd input must not end the corpus
        return "skip", f"{path}: cannot be read ({type(e).__name__}: {e})"
    finally:
        if timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _alarm_works() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _too_slow(path: str, timeout: float) -> str:
    return f"{path}: took longer than {timeout:.3g} s to parse (time limit)"


def _read_in_child(codec, path: str, timeout: float) -> tuple[str, Any]:
    """``read_one`` in a child process that gets ``timeout`` seconds to answer (counted from
    when it is ready, so starting it does not eat into a file's time) and is killed after."""
    try:  # timeout=0 in the child: the parent keeps the time
        return child.run(read_one, (codec, path, 0), timeout, PRELOAD)
    except child.TimedOut:
        return "skip", _too_slow(path, timeout)
    except child.Failed as e:  # did not start, died, or the codec cannot be pickled
        return "skip", f"{path}: cannot be read: {e}"


def _to_json(codec, item: Any) -> Any:
    """Codecs whose items are not plain JSON (tuples, objects) say how to store them."""
    return codec.item_to_json(item)


def _from_json(codec, data: Any) -> Any:
    return codec.item_from_json(data)


def _worker(name: str, options: dict, path: str, timeout: float) -> tuple[str, Any]:
    return read_one(codecs.get(name, **options), path, timeout)


def cache_key(files: list[Path], codec) -> str:
    parts = []
    for f in files:
        st = f.stat()
        parts.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps({"version": CACHE_VERSION, "codec": codec.name, "options": codec.options,
                       "files": parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def cache_path(files: list[Path], codec) -> Path:
    return cache_dir() / "corpora" / f"{codec.name}-{cache_key(files, codec)}.json"


def load_files(files: list[Path], explicit: set, codec, sources: list, workers: int | None = None,
               timeout: float = FILE_TIMEOUT_S, use_cache: bool = True, quiet: bool = False,
               progress=None):
    """Items from ``files`` for ``codec`` (a ``corpora.Corpus``), reading in parallel with a
    per-file time limit and a disk cache. ``workers``: processes (default: up to 8, one per
    core); 1 reads in this process. ``progress(done, total)``: called as files are read."""
    cached = cache_path(files, codec) if use_cache and files else None
    if cached is not None and cached.is_file():
        try:
            data = json.loads(cached.read_text())
            corpus = Corpus([_from_json(codec, x) for x in data["items"]], data["sources"],
                            data["skipped"])
            _summary(corpus, len(files), data["counts"], quiet, from_cache=True)
            return corpus
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache file is rebuilt below
    results = _read_all(files, codec, workers, timeout, quiet, progress)
    items: list[Any] = []
    used: list[str] = []
    skipped: list[str] = []
    counts: Counter = Counter()
    for f, (status, payload) in zip(files, results):
        if status == "ok":
            items += payload["items"]
            counts.update(payload["counts"])
            used.append(str(f))
        elif f in explicit and len(files) == 1:
            raise CorpusError(payload)
        else:
            skipped.append(payload)
    if not items:
        what = ", ".join(map(str, sources))
        reasons = "; ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        raise CorpusError(f"the corpus {what} has no usable {codec.name} items: all "
                          f"{len(files)} file(s) failed ({reasons})" if files else
                          f"the corpus {what} has no files")
    if cached is not None:
        try:
            atomic_write_text(cached, json.dumps({"items": items, "sources": used,
                                                  "skipped": skipped, "counts": counts}))
        except WriteError as e:  # a full or read-only cache folder: the corpus is still good
            print(f"warning: corpus not cached ({e})", file=sys.stderr)
    corpus = Corpus([_from_json(codec, x) for x in items], used, skipped)
    _summary(corpus, len(files), counts, quiet, from_cache=False)
    return corpus


def _read_all(files: list[Path], codec, workers: int | None, timeout: float, quiet: bool,
              progress=None) -> list[tuple[str, Any]]:
    if workers is None:
        workers = min(8, os.cpu_count() or 1) if len(files) >= PARALLEL_MIN_FILES else 1
    bar = tqdm(total=len(files), unit="file", desc=f"reading {codec.name} files",
               disable=quiet or len(files) < PROGRESS_MIN_FILES, file=sys.stderr)
    try:
        if workers <= 1:
            results = []
            for f in files:
                results.append(read_one(codec, str(f), timeout))
                bar.update()
                if progress is not None:
                    progress(len(results), len(files))
            return results
        with ProcessPoolExecutor(max_workers=workers, mp_context=child.context(PRELOAD)) as pool:
            futures = [pool.submit(_worker, codec.name, codec.options, str(f), timeout)
                       for f in files]
            results = []
            for f, fut in zip(files, futures):  # file order: the corpus never depends on timing
                try:
                    results.append(fut.result())
                except Exception as e:  # a worker that died (out of memory, a crash)
                    results.append(("skip", f"{f}: its worker failed ({type(e).__name__}: {e})"))
                bar.update()
                if progress is not None:
                    progress(len(results), len(files))
            return results
    finally:
        bar.close()


def _summary(corpus, n_files: int, counts: dict, quiet: bool, from_cache: bool) -> None:
    """One line on stderr: files read, items, skipped, and what the reader counted (the
    codec's ``read_counts``, e.g. melodies whose notes were folded into a pitch range)."""
    if quiet or (n_files < 2 and not corpus.skipped and not counts):
        return
    note = " (from the cache)" if from_cache else ""
    skipped = f", {len(corpus.skipped)} skipped" if corpus.skipped else ""
    counted = "".join(f"; {n} {what}" for what, n in sorted(counts.items()))
    print(f"read {len(corpus.sources)} of {n_files} file(s): {len(corpus.items)} item(s)"
          f"{skipped}{counted}{note}", file=sys.stderr)
