"""The library under stress: concurrent writers (threads and processes) lose nothing, a
writer killed mid-write leaves a consistent file with every committed piece, and a library
that is locked, read-only, full or damaged is one clear line while the sample is still
written (library/db.py, pieces.py; cli/reading.py's recording)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
from pathlib import Path

from creative_rnn.cli import main
from creative_rnn.library import Library, record

TEXT_RUN = Path(__file__).parent / "fixtures" / "old_runs" / "text" / "run"
# Forked children do only SQLite work (no torch), so forking the test process is safe and
# saves each child the package's import.
FORK = multiprocessing.get_context("fork")


def _piece(title: str, text: str = "abc") -> dict:
    return {"maker": "sample", "run": "runs/x", "seed": 1, "title": title, "text": text,
            "ids": [1, 2, 3], "settings": {"temperature": 1.0}}


def _write_many(path: str, who: str, n: int) -> None:
    with Library(path, timeout=60) as lib:
        for i in range(n):
            lib.add(_piece(f"{who}-{i}"))


def _titles(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(t for (t,) in conn.execute("SELECT title FROM pieces"))


def test_threads_and_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "lib.sqlite"
    Library(path).count()  # created once, before the race (creation is tested below)
    shared = Library(path, timeout=60)  # one handle shared by threads, as the studio does
    procs = [FORK.Process(target=_write_many, args=(str(path), f"p{k}", 30)) for k in range(3)]
    threads = [threading.Thread(target=_write_many, args=(str(path), f"t{k}", 20))
               for k in range(2)]
    threads += [threading.Thread(target=lambda k=k: [shared.add(_piece(f"s{k}-{i}"))
                                                     for i in range(20)]) for k in range(2)]
    for w in procs + threads:
        w.start()
    for w in procs + threads:
        w.join()
    shared.close()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    want = sorted([f"p{k}-{i}" for k in range(3) for i in range(30)] +
                  [f"{s}{k}-{i}" for s in "ts" for k in range(2) for i in range(20)])
    assert _titles(path) == want
    assert Library(path).count(search="p2-29") == 1  # the search index kept up


def test_processes_creating_a_new_library_at_once_migrate_it_once(tmp_path):
    path = tmp_path / "new.sqlite"
    procs = [FORK.Process(target=_write_many, args=(str(path), f"p{k}", 3)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert len(_titles(path)) == 9


def _write_until_killed(path: str, out_fd: int) -> None:
    """Add pieces for ever; after each commit, say its id on ``out_fd``."""
    with Library(path, timeout=60) as lib:
        i = 0
        while True:
            pid = lib.add(_piece(f"k-{i}", text="x" * 3000))  # a few pages per piece
            os.write(out_fd, f"{pid}\n".encode())
            i += 1


def test_sigkill_mid_write_keeps_integrity_and_every_committed_piece(tmp_path):
    path = tmp_path / "lib.sqlite"
    Library(path).count()
    r, w = os.pipe()
    child = FORK.Process(target=_write_until_killed, args=(str(path), w))
    child.start()
    os.close(w)
    committed: list[int] = []
    with os.fdopen(r) as said:
        for line in said:  # blocks until the child has committed that many
            committed.append(int(line))
            if len(committed) == 40:
                os.kill(child.pid, signal.SIGKILL)
                break
        committed += [int(x) for x in said.read().split()]  # said before the kill landed
    child.join()
    assert child.exitcode == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        present = {i for (i,) in conn.execute("SELECT id FROM pieces")}
        indexed = {i for (i,) in conn.execute("SELECT rowid FROM search")}
    assert set(committed) <= present and present == indexed
    with Library(path) as lib:  # and it takes new pieces after
        assert lib.add(_piece("after")) > max(committed)


def test_a_locked_library_is_one_line(tmp_path):
    path = tmp_path / "lib.sqlite"
    Library(path).count()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = record(_piece("x"), path, timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.ids == [] and "is locked by another program" in done.why
    line = done.line(["out/t.txt"])
    assert line.startswith("not recorded in the library: ") and "\n" not in line
    assert line.endswith("the piece is still in out/t.txt")


def test_a_full_library_is_one_line(tmp_path):
    with Library(tmp_path / "lib.sqlite") as lib:
        lib.add(_piece("first"))
        conn = lib.connection()
        conn.execute(f"PRAGMA max_page_count={conn.execute('PRAGMA page_count').fetchone()[0]}")
        done = record(_piece("big", text="y" * 200_000), lib)
        assert done.ids == [] and "is full" in done.why
        assert lib.count() == 1  # the failed piece left nothing half-written


def test_a_read_only_library_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "lib.sqlite"
    Library(path).count()
    real = sqlite3.connect  # as a read-only file or mount opens (root ignores chmod)
    monkeypatch.setattr(sqlite3, "connect",
                        lambda p, **kw: real(f"file:{p}?mode=ro", uri=True, **kw))
    done = record(_piece("x"), path)
    assert done.ids == [] and "is read-only" in done.why


def test_a_damaged_library_never_stops_a_sample(tmp_path, capsys):
    damaged = tmp_path / "lib.sqlite"
    damaged.write_bytes(b"these bytes are not an SQLite database\n" * 200)
    out = tmp_path / "s.txt"
    assert main(["sample", str(TEXT_RUN), "--length", "20", "--seed", "3", "--out", str(out),
                 "--library", str(damaged)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert out.read_text()  # the sample is written all the same
    assert err == [f"not recorded in the library: the library {damaged} is damaged (file is "
                   "not a database); move it aside and a new one is made, or give another "
                   f"--library PATH; the piece is still in {out}"]


def test_no_library_records_nothing(tmp_path, capsys):
    path = tmp_path / "lib.sqlite"
    assert main(["sample", str(TEXT_RUN), "--length", "10", "--seed", "3",
                 "--library", str(path), "--no-library"]) == 0
    assert "library" not in capsys.readouterr().err and not path.exists()


def test_provenance_that_cannot_be_read_never_stops_a_sample(tmp_path, monkeypatch, capsys):
    from creative_rnn.cli import reading

    def broken(*args, **kwargs):
        raise KeyError("weights")

    monkeypatch.setattr(reading, "sample_piece", broken)
    out = tmp_path / "s.txt"
    assert main(["sample", str(TEXT_RUN), "--length", "10", "--out", str(out),
                 "--library", str(tmp_path / "lib.sqlite")]) == 0
    assert out.read_text()
    assert capsys.readouterr().err.splitlines() == [
        "not recorded in the library: its provenance could not be read (KeyError: 'weights');"
        f" the piece is still in {out}"]
