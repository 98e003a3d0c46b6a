"""Pieces in the library: recording, reading, curating (star, tags, title), drafts, queries.

``Library`` is the handle (thread-safe: one lock around its one connection, so the studio
may share it between requests). ``record`` is what makers call: it never raises, since a
library that cannot be written must never stop a piece from being made; it says why.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .db import MAKERS, LibraryError, connect, explain, location

# the columns a caller gives (``add``), with how each is stored: JSON for the structured ones
TEXT = ("maker", "run", "run_path", "starter", "weights_sha256", "weights", "codec", "prime",
        "text", "title", "notes")
INTS = ("step", "seed", "length")
JSONS = {"settings": dict, "novelty": (dict, type(None)), "ids": (list, type(None)),
         "files": list, "extra": dict}
FLAGS = ("star", "draft")
COLUMNS = (*TEXT, *INTS, *JSONS, *FLAGS)
SUMMARY = ("id", "created", "updated", "maker", "run", "starter", "codec", "seed", "length",
           "star", "title", "draft")
PREVIEW = 200  # characters of a piece's text in a listing
MAX_LIST = 1000  # rows one listing returns at most
FTS_MATCH = "MATCH ?"  # a search through the trigram index (the search table)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _search_body(p: dict[str, Any], tags: Iterable[str]) -> str:
    """What ``search`` looks in: title, notes, run, starter, maker, codec, tags, text."""
    parts = [p.get(k) for k in ("title", "notes", "run", "starter", "maker", "codec")]
    return " ".join(str(x) for x in (*parts, " ".join(tags), p.get("text")) if x)


def _check(piece: dict[str, Any]) -> dict[str, Any]:
    """The piece's columns as stored, after checking each field's type."""
    unknown = sorted(set(piece) - set(COLUMNS) - {"tags", "id", "created", "updated"})
    if unknown:
        raise LibraryError(f"a piece has no field {unknown[0]!r}; fields: {', '.join(COLUMNS)}")
    if piece.get("maker") not in MAKERS:
        raise LibraryError(f"maker={piece.get('maker')!r}: choose one of {', '.join(MAKERS)}")
    row: dict[str, Any] = {}
    for k in TEXT:
        v = piece.get(k)
        if v is not None and not isinstance(v, str):
            v = str(v)
        row[k] = v
    for k in INTS:
        v = piece.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise LibraryError(f"a piece's {k} must be a whole number, got {v!r}")
        row[k] = v
    for k, kinds in JSONS.items():
        v = piece.get(k, None if type(None) in _kinds(kinds) else kinds())
        if not isinstance(v, kinds):
            raise LibraryError(f"a piece's {k} must be {_kind_names(kinds)}, got "
                               f"{type(v).__name__}")
        if k == "files":
            v = [str(f) for f in v]
        row[k] = None if v is None else json.dumps(v, ensure_ascii=False, allow_nan=False,
                                                  default=_plain)
    for k in FLAGS:
        row[k] = int(bool(piece.get(k, False)))
    return row


def _kinds(kinds) -> tuple:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _kind_names(kinds) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in _kinds(kinds))


def _plain(v: Any) -> Any:
    """JSON for what sampling settings may hold besides JSON's own types (numpy numbers,
    paths); a float that is not finite is refused by allow_nan=False above."""
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"{type(v).__name__} is not JSON")


def _tags(tags: Any) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        tags = [tags]
    out = []
    for t in tags:
        t = str(t).strip()
        if not t or len(t) > 100 or any(c in t for c in ",\n\r\t"):
            raise LibraryError(f"tag {t!r}: give 1-100 characters without commas or line "
                               "breaks")
        out.append(t)
    return sorted(set(out))


class Library:
    """The library at ``location(path)``; opened (created, migrated) on first use."""

    def __init__(self, path: str | Path | None = None, timeout: float = 2.0):
        where = location(path)
        if where is None:
            raise LibraryError("the library is switched off ($CREATIVE_RNN_LIBRARY=off or "
                               "--no-library); give --library PATH")
        self.path, self.timeout = where, timeout
        self._conn = None
        self._lock = threading.RLock()

    # --- plumbing ----------------------------------------------------------------------
    def connection(self):
        """The open connection (tests set pragmas on it, e.g. a size limit)."""
        with self._lock:
            if self._conn is None:
                self._conn = connect(self.path, self.timeout)
            return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, work, write: bool = False):
        """``work(conn)`` under the lock, in a transaction when it writes; SQLite's errors
        become one LibraryError naming the file."""
        import sqlite3

        with self._lock:
            conn = self.connection()
            try:
                if not write:
                    return work(conn)
                conn.execute("BEGIN IMMEDIATE")  # the write lock now, not half-way through
                try:
                    out = work(conn)
                    conn.execute("COMMIT")
                    return out
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise explain(e, self.path, self.timeout) from None

    # --- writing -----------------------------------------------------------------------
    def add(self, piece: dict[str, Any]) -> int:
        """Record one piece; its id."""
        return self.add_many([piece])[0]

    def add_many(self, pieces: Sequence[dict[str, Any]]) -> list[int]:
        """Record several pieces in one transaction (all or none); their ids."""
        rows = [(_check(p), _tags(p.get("tags", []))) for p in pieces]
        now = _now()

        def work(conn):
            ids = []
            for row, tags in rows:
                cols = ["created", "updated", *row]
                cur = conn.execute(
                    f"INSERT INTO pieces ({', '.join(cols)}) VALUES "
                    f"({', '.join('?' * len(cols))})", (now, now, *row.values()))
                pid = cur.lastrowid
                conn.executemany("INSERT INTO tags (piece, tag) VALUES (?, ?)",
                                 [(pid, t) for t in tags])
                conn.execute("INSERT INTO search (rowid, body) VALUES (?, ?)",
                             (pid, _search_body(row, tags)))
                ids.append(pid)
            return ids
        return self._run(work, write=True)

    def star(self, pid: int, starred: bool = True) -> None:
        self._update(pid, {"star": int(bool(starred))})

    def annotate(self, pid: int, title: str | None = None, notes: str | None = None) -> None:
        """Set the title and/or notes (None leaves one as it is)."""
        fields = {k: v for k, v in (("title", title), ("notes", notes)) if v is not None}
        if fields:
            self._update(pid, fields)

    def tag(self, pid: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
        """Add and remove tags; the piece's tags after."""
        plus, minus = _tags(add) if add else [], _tags(remove) if remove else []

        def work(conn):
            self._need(conn, pid)
            conn.executemany("INSERT OR IGNORE INTO tags (piece, tag) VALUES (?, ?)",
                             [(pid, t) for t in plus])
            conn.executemany("DELETE FROM tags WHERE piece = ? AND tag = ?",
                             [(pid, t) for t in minus])
            self._reindex(conn, pid)
            return self._tags_of(conn, pid)
        return self._run(work, write=True)

    def remove(self, pid: int) -> None:
        def work(conn):
            self._need(conn, pid)
            conn.execute("DELETE FROM search WHERE rowid = ?", (pid,))
            conn.execute("DELETE FROM pieces WHERE id = ?", (pid,))  # tags: ON DELETE CASCADE
        self._run(work, write=True)

    def save_draft(self, text: str, run: str | None = None, draft_id: int | None = None,
                   **fields: Any) -> int:
        """A Write draft: a new piece (maker studio-write, draft) the first time, then the
        same row updated in place on every save (``draft_id``); its id."""
        if draft_id is None:
            return self.add({"maker": "studio-write", "draft": True, "run": run,
                             "text": text, **fields})
        return self._update(draft_id, {"text": text, **fields}, draft=True)

    def _update(self, pid: int, fields: dict[str, Any], draft: bool = False) -> int:
        current = self.get(pid)
        if draft and not current["draft"]:
            raise LibraryError(f"piece {pid} is not a draft; save a new draft instead")
        merged = {k: current[k] for k in COLUMNS if k in current}
        merged.update(fields)
        row = _check(merged)
        changed = {k: row[k] for k in fields if k in row}

        def work(conn):
            self._need(conn, pid)
            sets = ", ".join(f"{k} = ?" for k in changed)
            conn.execute(f"UPDATE pieces SET {sets}, updated = ? WHERE id = ?",
                         (*changed.values(), _now(), pid))
            self._reindex(conn, pid)
            return pid
        return self._run(work, write=True)

    def _reindex(self, conn, pid: int) -> None:
        row = conn.execute("SELECT * FROM pieces WHERE id = ?", (pid,)).fetchone()
        names = [d[0] for d in conn.execute("SELECT * FROM pieces LIMIT 0").description]
        conn.execute("DELETE FROM search WHERE rowid = ?", (pid,))
        conn.execute("INSERT INTO search (rowid, body) VALUES (?, ?)",
                     (pid, _search_body(dict(zip(names, row)), self._tags_of(conn, pid))))

    # --- reading -----------------------------------------------------------------------
    @staticmethod
    def _need(conn, pid: int) -> None:
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise LibraryError(f"a piece id is a whole number, got {pid!r}")
        if not conn.execute("SELECT 1 FROM pieces WHERE id = ?", (pid,)).fetchone():
            raise LibraryError(f"no piece {pid} in the library; `creative-rnn library list` "
                               "shows the ids")

    @staticmethod
    def _tags_of(conn, pid: int) -> list[str]:
        return [t for (t,) in conn.execute("SELECT tag FROM tags WHERE piece = ? ORDER BY tag",
                                           (pid,))]

    def get(self, pid: int) -> dict[str, Any]:
        """The whole piece ``pid``; a LibraryError names a missing one."""
        def work(conn):
            self._need(conn, pid)
            cur = conn.execute("SELECT * FROM pieces WHERE id = ?", (pid,))
            names = [d[0] for d in cur.description]
            p = dict(zip(names, cur.fetchone()))
            for k in JSONS:
                p[k] = json.loads(p[k]) if p[k] is not None else None
            for k in FLAGS:
                p[k] = bool(p[k])
            p["tags"] = self._tags_of(conn, pid)
            return p
        return self._run(work)

    def _where(self, starred, tag, run, search, maker, drafts) -> tuple[str, list]:
        # columns are named bare: list() may join the search table, which has none of them
        where, args = ["draft = ?"], [int(bool(drafts))]
        if starred is not None:
            where.append("star = ?")
            args.append(int(bool(starred)))
        if tag:
            where.append("id IN (SELECT piece FROM tags WHERE tag = ?)")
            args.append(str(tag))
        if run:
            where.append("(run = ? OR run_path = ? OR starter = ?)")
            args += [str(run), _resolved(run), str(run)]
        if maker:
            where.append("maker = ?")
            args.append(str(maker))
        if search:
            q = str(search).strip()
            if len(q) >= 3:  # the trigram index; a phrase, so no character is syntax
                where.append(f"id IN (SELECT rowid FROM search WHERE search {FTS_MATCH})")
                args.append('"' + q.replace('"', '""') + '"')
            elif q:  # shorter than one trigram: a scan, still one SQL query
                where.append("id IN (SELECT rowid FROM search WHERE body LIKE ? ESCAPE '\\')")
                args.append("%" + q.replace("\\", "\\\\").replace("%", "\\%")
                            .replace("_", "\\_") + "%")
        return " AND ".join(where), args

    def list(self, starred: bool | None = None, tag: str | None = None, run: str | None = None,
             search: str | None = None, maker: str | None = None, drafts: bool = False,
             limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Summaries (``SUMMARY`` keys, ``tags``, ``preview``: the text's start), newest
        first. ``drafts``: Write drafts instead of finished pieces."""
        if not 1 <= int(limit) <= MAX_LIST or int(offset) < 0:
            raise LibraryError(f"limit must be 1-{MAX_LIST} and offset 0 or more")
        where, args = self._where(starred, tag, run, search, maker, drafts)
        source, order = "pieces", "id DESC"
        if FTS_MATCH in where:
            # driven by the trigram index, newest first: it stops after the page instead of
            # collecting every match (a common word: 330 ms for 100,000 pieces, now 1 ms)
            where = where.replace(f"id IN (SELECT rowid FROM search WHERE search {FTS_MATCH})",
                                  f"search {FTS_MATCH}")
            source = "search JOIN pieces ON pieces.id = search.rowid"
            order = "search.rowid DESC"

        def work(conn):
            cur = conn.execute(
                f"SELECT {', '.join('pieces.' + k for k in SUMMARY)}, "
                f"substr(pieces.text, 1, {PREVIEW}), "
                "(SELECT group_concat(tag, ',') FROM tags WHERE piece = pieces.id) "
                f"FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                (*args, int(limit), int(offset)))
            out = []
            for row in cur:
                p = dict(zip(SUMMARY, row))
                p["preview"], tags = row[-2] or "", row[-1]
                p["tags"] = sorted(tags.split(",")) if tags else []
                p["star"], p["draft"] = bool(p["star"]), bool(p["draft"])
                out.append(p)
            return out
        return self._run(work)

    def count(self, starred: bool | None = None, tag: str | None = None, run: str | None = None,
              search: str | None = None, maker: str | None = None, drafts: bool = False) -> int:
        where, args = self._where(starred, tag, run, search, maker, drafts)
        return self._run(lambda conn: conn.execute(
            f"SELECT count(*) FROM pieces WHERE {where}", args).fetchone()[0])

    def drafts(self, run: str | None = None) -> list[dict[str, Any]]:
        """Write drafts (of ``run``), the latest saved first."""
        return self.list(run=run, drafts=True, limit=MAX_LIST)

    def runs(self) -> list[tuple[str, int]]:
        """Each run (as given) with its number of pieces, for a filter's choices."""
        return self._run(lambda conn: [tuple(r) for r in conn.execute(
            "SELECT coalesce(starter, run), count(*) FROM pieces WHERE draft = 0 AND "
            "coalesce(starter, run) IS NOT NULL GROUP BY 1 ORDER BY 2 DESC")])

    def tags(self) -> list[tuple[str, int]]:
        return self._run(lambda conn: [tuple(r) for r in conn.execute(
            "SELECT tag, count(*) FROM tags GROUP BY tag ORDER BY 2 DESC, 1")])


def _resolved(run: str | Path) -> str:
    try:
        return str(Path(run).resolve())
    except OSError:
        return str(run)


# --- recording: what makers call ---------------------------------------------------------
@dataclass
class Recorded:
    """What ``record`` did: the new ids, or why nothing was recorded (``off``: switched
    off, which is said nowhere)."""
    ids: list[int] = field(default_factory=list)
    why: str | None = None
    off: bool = False
    path: Path | None = None

    def line(self, files: Sequence[str | Path] = ()) -> str | None:
        """The one line a maker prints: where it was recorded, or why not; None if off."""
        if self.off:
            return None
        if self.why is not None:
            where = ", ".join(map(str, files)) if files else "the output above"
            return f"not recorded in the library: {self.why}; the piece is still in {where}"
        shown = ", ".join(map(str, self.ids[:5])) + (" ..." if len(self.ids) > 5 else "")
        return f"recorded in the library {self.path} as piece {shown}"


def record(pieces: dict[str, Any] | Sequence[dict[str, Any]],
           library: Library | str | Path | None = None, timeout: float = 2.0) -> Recorded:
    """Record one piece or several (one transaction) in ``library`` (a Library, a path, or
    None for ``location()``). Never raises for the library's sake: a library that is off,
    locked, read-only, full or damaged gives a ``Recorded`` that says so."""
    batch = [pieces] if isinstance(pieces, dict) else list(pieces)
    own = not isinstance(library, Library)
    try:
        lib = library if isinstance(library, Library) else None
        if lib is None:
            where = location(library)
            if where is None:
                return Recorded(off=True)
            lib = Library(where, timeout=timeout)
        try:
            return Recorded(ids=lib.add_many(batch), path=lib.path)
        finally:
            if own:
                lib.close()
    except LibraryError as e:
        return Recorded(why=str(e))
    except Exception as e:  # noqa: BLE001 - whatever goes wrong, the piece is made all the same
        return Recorded(why=f"{type(e).__name__}: {e}")


def for_page(piece: dict[str, Any]) -> dict[str, Any]:
    """A piece as a web page may see it: no server paths (files by name, run as given or
    its starter's name; ``run_path`` dropped)."""
    out = {k: v for k, v in piece.items() if k != "run_path"}
    if out.get("files"):
        out["files"] = [Path(f).name for f in out["files"]]
    if out.get("starter"):
        out["run"] = out["starter"]
    elif out.get("run") and Path(str(out["run"])).is_absolute():
        out["run"] = Path(str(out["run"])).name
    for k, v in list(out.items()):  # JSON-safe floats (the page parses strict JSON)
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
    return out
