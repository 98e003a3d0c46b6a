"""The library's SQLite file: where it is, how it is opened, its schema and migrations.

One file, WAL journal (readers never wait for a writer; a killed writer leaves the last
committed transaction intact), ``synchronous=NORMAL`` (a commit survives the process being
killed; only a power cut may lose the last few, and never corrupts the file). The schema has
a version; ``MIGRATIONS[v]`` takes a library of version ``v - 1`` to ``v`` inside the same
transaction that records the new version, so a library made by an older creative-rnn opens
in this one, and a half-migrated file cannot exist.

Every SQLite failure becomes a ``LibraryError`` whose message says what is wrong with which
file in words (locked, read-only, full, damaged), so callers print one line.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import UserError

ENV = "CREATIVE_RNN_LIBRARY"
RUNS_ENV = "CREATIVE_RNN_RUNS"
FILE = "library.sqlite"
OFF = ("off", "no", "none", "0", "false")  # $CREATIVE_RNN_LIBRARY values that switch it off
MAKERS = ("sample", "demo", "studio-generate", "studio-write", "perform")


class LibraryError(UserError):
    """The library cannot be read or written (locked, read-only, full, damaged, newer)."""


def location(path: str | Path | None = None) -> Path | None:
    """The library file: ``path``, else $CREATIVE_RNN_LIBRARY, else
    ``$CREATIVE_RNN_RUNS/library.sqlite`` (``./runs`` by default); None when switched off."""
    if path is not None:
        return None if str(path).lower() in OFF else Path(path)
    env = os.environ.get(ENV, "").strip()
    if env:
        return None if env.lower() in OFF else Path(env)
    return Path(os.environ.get(RUNS_ENV) or "runs") / FILE


# --- the schema ----------------------------------------------------------------------------
# Version 1 (never released with a migration of its own, but the shape the tests keep as an
# "older library"): pieces, their tags, and indexes for the list's filters.
V1 = """
CREATE TABLE pieces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    maker TEXT NOT NULL,
    run TEXT, starter TEXT, weights_sha256 TEXT, step INTEGER,
    codec TEXT, seed INTEGER, settings TEXT NOT NULL DEFAULT '{}',
    prime TEXT, length INTEGER, novelty TEXT, text TEXT, ids TEXT,
    files TEXT NOT NULL DEFAULT '[]', star INTEGER NOT NULL DEFAULT 0,
    title TEXT, notes TEXT);
CREATE TABLE tags (
    piece INTEGER NOT NULL REFERENCES pieces(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (piece, tag)) WITHOUT ROWID;
CREATE INDEX tags_by_tag ON tags(tag, piece);
CREATE INDEX pieces_by_run ON pieces(run, id);
CREATE INDEX pieces_by_star ON pieces(star, id);
"""

# Version 2: the resolved run path (the filter matches either spelling), best or last
# weights, Write drafts (updated in place), extra data (a perform take's two voices), and a
# trigram full-text index: ``search`` finds any 3+ character piece of a title, notes, tags,
# run or the piece's own text (an ABC fragment such as "K:Dmix" included).
V2 = """
ALTER TABLE pieces ADD COLUMN run_path TEXT;
ALTER TABLE pieces ADD COLUMN weights TEXT;
ALTER TABLE pieces ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pieces ADD COLUMN updated TEXT;
ALTER TABLE pieces ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
CREATE INDEX pieces_by_run_path ON pieces(run_path, id);
CREATE INDEX pieces_by_starter ON pieces(starter, id);
CREATE INDEX pieces_by_draft ON pieces(draft, id);
CREATE VIRTUAL TABLE search USING fts5(body, tokenize='trigram');
INSERT INTO search(rowid, body)
    SELECT p.id, coalesce(p.title, '') || ' ' || coalesce(p.notes, '') || ' ' ||
                 coalesce(p.run, '') || ' ' || coalesce(p.starter, '') || ' ' || p.maker ||
                 ' ' || coalesce(p.codec, '') || ' ' ||
                 coalesce((SELECT group_concat(tag, ' ') FROM tags WHERE piece = p.id), '') ||
                 ' ' || coalesce(p.text, '')
    FROM pieces p;
"""

MIGRATIONS = {1: V1, 2: V2}
VERSION = max(MIGRATIONS)


def statements(script: str) -> list[str]:
    """A script's statements one by one: ``executescript`` would commit on its own, and a
    migration must share its transaction with the version it records."""
    return [s.strip() for s in script.split(";") if s.strip()]


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """An open, migrated connection to the library at ``path`` (created with its folder)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LibraryError(f"cannot make the library's folder {path.parent} "
                           f"({e.strerror or e})") from None
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as e:
        raise explain(e, path, timeout) from None
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: set once per file
        conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn, path)
    except sqlite3.Error as e:
        conn.close()
        raise explain(e, path, timeout) from None
    except BaseException:
        conn.close()
        raise
    return conn


def version(conn: sqlite3.Connection) -> int:
    """The schema version of an open library (0 for an empty file)."""
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
                       ).fetchone()
    if not has:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the library to ``VERSION``: each missing migration, then the new version, in
    one transaction (IMMEDIATE: two processes opening a new library do not both migrate)."""
    if version(conn) == VERSION:  # the common case, without taking the write lock
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        have = version(conn)
        if have > VERSION:
            raise LibraryError(f"the library {path} was made by a newer creative-rnn (schema "
                               f"{have}, this one reads up to {VERSION}); upgrade creative-rnn")
        if have == 0:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        for v in range(have + 1, VERSION + 1):
            for sql in statements(MIGRATIONS[v]):
                conn.execute(sql)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version VALUES (?)", (VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def explain(e: sqlite3.Error, path: Path | None, timeout: float = 0.0) -> LibraryError:
    """A SQLite error as one sentence about the library file and what to do."""
    msg = str(e)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        why = (f"the library {path} is locked by another program (waited {timeout:g} s); "
               "try again when it is done")
    elif "readonly" in low or "read-only" in low or "permission" in low:
        why = (f"the library {path} is read-only; make it writable or give another "
               "--library PATH")
    elif "full" in low:
        why = f"the library {path} is full (disk or size limit); free space"
    elif "not a database" in low or "malformed" in low or "corrupt" in low:
        why = (f"the library {path} is damaged ({msg}); move it aside and a new one is "
               "made, or give another --library PATH")
    elif "unable to open" in low:
        why = f"cannot open the library {path} ({msg}); give another --library PATH"
    else:
        why = f"the library {path} failed: {msg}"
    return LibraryError(why)
