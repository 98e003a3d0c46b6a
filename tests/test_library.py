"""The library of pieces: where it is, what a piece keeps, curation, queries, migrations,
and the `creative-rnn library` commands (library/db.py, pieces.py, exporting.py,
cli/library.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from support import script_module

from creative_rnn.cli import main
from creative_rnn.library import Library, LibraryError, for_page, location, record
from creative_rnn.library.db import VERSION

# A library as schema version 1 made it, kept here as SQL so that the migration is tested
# against the old shape itself, not against whatever the code now calls version 1.
V1_LIBRARY = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
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
INSERT INTO pieces (created, maker, run, codec, seed, settings, text, ids, files, star, title)
    VALUES ('2026-01-01T00:00:00.000+00:00', 'sample', 'runs/folk', 'abc', 7,
            '{"temperature": 0.8}', 'X:1\nT:Old Reel\nK:D\nabc|', '[1, 2, 3]', '["a.abc"]',
            1, 'old one');
INSERT INTO tags VALUES (1, 'reel');
"""


def _piece(**kw):
    return {"maker": "sample", "run": "runs/folk", "codec": "abc", "seed": 1,
            "settings": {"temperature": 0.8}, "text": "X:1\nK:Dmix\nABcd|", "ids": [4, 5],
            "files": ["/srv/out/t.abc"], **kw}


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib.sqlite") as lib:
        yield lib


def test_location_flag_then_environment_then_runs_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CREATIVE_RNN_LIBRARY", str(tmp_path / "env.sqlite"))
    assert location(tmp_path / "flag.sqlite") == tmp_path / "flag.sqlite"
    assert location() == tmp_path / "env.sqlite"
    assert location("off") is None
    monkeypatch.setenv("CREATIVE_RNN_LIBRARY", "off")
    assert location() is None
    monkeypatch.delenv("CREATIVE_RNN_LIBRARY")
    monkeypatch.setenv("CREATIVE_RNN_RUNS", str(tmp_path / "myruns"))
    assert location() == tmp_path / "myruns" / "library.sqlite"
    monkeypatch.delenv("CREATIVE_RNN_RUNS")
    assert location() == Path("runs") / "library.sqlite"


def test_a_piece_keeps_its_provenance_and_curation(lib):
    pid = lib.add(_piece(tags=["jig"], novelty={"longest": 3, "ngram_share": 0.5}))
    got = lib.get(pid)
    assert (got["maker"], got["run"], got["seed"], got["ids"]) == ("sample", "runs/folk", 1,
                                                                   [4, 5])
    assert got["settings"] == {"temperature": 0.8} and got["novelty"]["longest"] == 3
    assert got["tags"] == ["jig"] and got["star"] is False and got["created"]
    lib.star(pid)
    assert lib.tag(pid, add=["reel", "dmix"], remove=["jig"]) == ["dmix", "reel"]
    lib.annotate(pid, title="Morning", notes="keep the B part")
    got = lib.get(pid)
    assert got["star"] and got["title"] == "Morning" and got["notes"] == "keep the B part"
    lib.remove(pid)
    with pytest.raises(LibraryError, match=f"no piece {pid}"):
        lib.get(pid)
    assert lib.count() == 0


def test_list_filters_and_search(lib):
    a = lib.add(_piece(text="X:1\nK:Dmix\nfirst", tags=["reel"]))
    b = lib.add(_piece(run="runs/other", text='a "quoted" 100% tune_x'))
    c = lib.add(_piece(maker="demo", text="third"))
    lib.star(c)
    assert [p["id"] for p in lib.list()] == [c, b, a]  # newest first
    assert [p["id"] for p in lib.list(starred=True)] == [c]
    assert [p["id"] for p in lib.list(tag="reel")] == [a]
    assert [p["id"] for p in lib.list(run="runs/other")] == [b]
    assert [p["id"] for p in lib.list(maker="demo")] == [c]
    assert [p["id"] for p in lib.list(search="dmix")] == [a]  # case does not matter
    assert [p["id"] for p in lib.list(search='"quoted" 100%')] == [b]  # no query syntax
    assert [p["id"] for p in lib.list(search="_x")] == [b]  # short: a scan, _ is literal
    assert [p["id"] for p in lib.list(search="%")] == [b]
    assert lib.list(search="nowhere") == [] and lib.count(search="tune") == 1
    lib.tag(b, add=["favourite"])  # tags are searched too, once added
    assert [p["id"] for p in lib.list(search="favourite")] == [b]
    assert lib.list(limit=1, offset=1)[0]["id"] == b
    assert dict(lib.tags()) == {"reel": 1, "favourite": 1}


def test_drafts_are_updated_in_place_and_kept_apart(lib):
    first = lib.save_draft("The sea", run="runs/text")
    other = lib.save_draft("Another", run="runs/text")
    assert lib.save_draft("The sea was calm", run="runs/text", draft_id=first) == first
    assert {d["id"]: d["preview"] for d in lib.drafts("runs/text")} == {
        first: "The sea was calm", other: "Another"}
    assert lib.list() == []  # drafts are not finished pieces
    done = lib.add(_piece())
    with pytest.raises(LibraryError, match="not a draft"):
        lib.save_draft("x", draft_id=done)


def test_bad_fields_are_refused_by_name(lib):
    with pytest.raises(LibraryError, match="maker"):
        lib.add({"maker": "robot"})
    with pytest.raises(LibraryError, match="no field 'colour'"):
        lib.add({"maker": "sample", "colour": "red"})
    with pytest.raises(LibraryError, match="seed must be a whole number"):
        lib.add({"maker": "sample", "seed": "7"})
    with pytest.raises(LibraryError, match="tag"):
        lib.add({"maker": "sample", "tags": ["a,b"]})


def test_record_is_quiet_when_off_and_says_where(tmp_path):
    off = record(_piece(), "off")
    assert off.off and off.line(["t.abc"]) is None
    done = record([_piece(), _piece()], tmp_path / "l.sqlite")
    assert len(done.ids) == 2 and done.why is None
    assert "as piece 1, 2" in done.line()


def test_for_page_shows_no_server_paths(lib):
    p = for_page(lib.get(lib.add(_piece(run="/srv/runs/folk", run_path="/srv/runs/folk"))))
    assert p["files"] == ["t.abc"] and p["run"] == "folk" and "run_path" not in p
    assert "/srv" not in json.dumps(p)


def test_a_version_1_library_opens_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_LIBRARY)
    with Library(path) as lib:
        old = lib.get(1)
        assert old["title"] == "old one" and old["tags"] == ["reel"] and old["star"]
        assert old["draft"] is False and old["extra"] == {}
        assert [p["id"] for p in lib.list(search="Old Reel")] == [1]  # indexed on migration
        new = lib.add(_piece())
        assert [p["id"] for p in lib.list(run="runs/folk")] == [new, 1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_newer_library_is_refused_clearly(tmp_path):
    path = tmp_path / "new.sqlite"
    with Library(path) as lib:
        lib.add(_piece())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (VERSION + 1,))
    with pytest.raises(LibraryError, match="newer creative-rnn"):
        Library(path).get(1)


def test_cli_lists_stars_tags_shows_and_removes(tmp_path, capsys):
    path = tmp_path / "lib.sqlite"
    with Library(path) as lib:
        a, b = lib.add(_piece()), lib.add(_piece(run="runs/other", text="plain words"))
    lib_arg = ["--library", str(path)]
    assert main(["library", "star", str(a), *lib_arg]) == 0
    assert main(["library", "tag", str(a), "reel", "dmix", *lib_arg]) == 0
    capsys.readouterr()
    assert main(["library", "list", "--starred", "--json", *lib_arg]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["total"] == 1 and listed["pieces"][0]["tags"] == ["dmix", "reel"]
    assert main(["library", "search", "plain", "--json", *lib_arg]) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)["pieces"]] == [b]
    assert main(["library", "title", str(a), "Morning", "--notes", "the B part", *lib_arg]) == 0
    assert main(["library", "show", str(a), *lib_arg]) == 0
    shown = capsys.readouterr().out
    assert "run: runs/folk" in shown and "seed: 1" in shown and "Dmix" in shown
    assert "title: Morning   notes: the B part" in shown
    assert main(["library", "remove", str(b), "999", *lib_arg]) == 2  # all checked first
    assert "no piece 999" in capsys.readouterr().err
    assert Library(path).count() == 2
    assert main(["library", "remove", str(b), *lib_arg]) == 0
    assert Library(path).count() == 1


def test_export_text_json_and_a_numbered_tunebook(tmp_path, capsys):
    path = tmp_path / "lib.sqlite"
    with Library(path) as lib:
        for n in range(3):
            pid = lib.add(_piece(text=f"X:9\nT:Tune {n}\nK:D\nabc|"))
            if n:
                lib.star(pid)
    lib_arg = ["--library", str(path)]
    assert main(["library", "export", "--starred", "--format", "abc", "--out",
                 str(tmp_path / "book.abc"), *lib_arg]) == 0
    book = (tmp_path / "book.abc").read_text()
    assert book.count("X:") == 2 and book.index("X:1\n") < book.index("T:Tune 1") < \
        book.index("X:2\n") < book.index("T:Tune 2")
    assert main(["library", "export", "--format", "json", "--out", str(tmp_path / "all.json"),
                 *lib_arg]) == 0
    data = json.loads((tmp_path / "all.json").read_text())
    assert [p["text"].split("\n")[1] for p in data] == ["T:Tune 0", "T:Tune 1", "T:Tune 2"]
    assert main(["library", "export", "--search", "Tune 2", "--format", "text", "--out",
                 str(tmp_path / "one.txt"), *lib_arg]) == 0
    assert "T:Tune 2" in (tmp_path / "one.txt").read_text()
    assert main(["library", "export", "--tag", "none", "--format", "text", "--out",
                 str(tmp_path / "x.txt"), *lib_arg]) == 2
    assert "no piece matches" in capsys.readouterr().err


def test_the_speed_benchmark_runs_tiny(tmp_path):
    """benchmarks/library_speed.py end to end at a tiny size: its rows, in the format of
    docs/data/benchmarks/*.json (no timing is checked here)."""
    bench = script_module("benchmarks/library_speed.py")
    run = Path(__file__).parent / "fixtures" / "old_runs" / "text" / "run"
    out = tmp_path / "speed.json"
    bench.main(["--run", str(run), "--length", "10", "--pieces", "300", "--reps", "1",
                "--dir", str(tmp_path / "work"), "--json", str(out)])
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 2 + 11
    assert all(set(r) == {"measure", "unit", "baseline", "baseline_value", "value", "target",
                          "met", "ratio"} for r in rows)
    assert all(r["value"] > 0 and r["ratio"] is not None for r in rows)
    with Library(tmp_path / "work" / "big.sqlite") as lib:
        assert lib.count() == 300 and lib.count(tag="keeper") == 30


def test_every_library_action_and_flag_has_a_help_text():
    import argparse

    from creative_rnn.cli import parser

    def subcommands(p):
        return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices

    actions = subcommands(subcommands(parser()[0])["library"])
    assert {"list", "show", "star", "tag", "search", "export", "regenerate", "remove",
            "train"} <= set(actions)
    missing = [f"{name} {a.dest}" for name, sp in actions.items() for a in sp._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []


def test_sample_records_where_the_environment_says(tmp_path, monkeypatch, capsys):
    run = Path(__file__).parent / "fixtures" / "old_runs" / "text" / "run"
    monkeypatch.setenv("CREATIVE_RNN_LIBRARY", str(tmp_path / "env.sqlite"))
    assert main(["sample", str(run), "--length", "5", "--seed", "9"]) == 0
    assert "recorded in the library" in capsys.readouterr().err
    (piece,) = Library(tmp_path / "env.sqlite").list()
    assert piece["seed"] == 9 and piece["maker"] == "sample"
    monkeypatch.setenv("CREATIVE_RNN_LIBRARY", "off")
    assert main(["sample", str(run), "--length", "5"]) == 0
    assert "library" not in capsys.readouterr().err
    assert Library(tmp_path / "env.sqlite").count() == 1
