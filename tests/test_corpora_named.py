"""The course corpus shipped in the package (corpora/named.py, corpora/data/: the Star Trek
titles) by name in Python and on the command line and in a built wheel; the course's melodies
and Metatone gestures, which carry no licence to redistribute, are test-only files given by
path, never shipped; and the tests' own data travels with the repository (issue 29: a fresh
clone passes its tests)."""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import DATA, ROOT, shared_file

from creative_rnn import codecs, corpora
from creative_rnn.cli import main
from creative_rnn.errors import CorpusError

PACKAGED = ("startrek",)
# the course files with no licence to ship: in tests/data only, given by path like a user's
MELODIES, GESTURES = "melody/melodies.jsonl", "gestures/metatone_gestures.jsonl"
UNSHIPPED = ("melodies.jsonl", "metatone_gestures.jsonl")


def _json_lines(rel: str) -> list[dict]:
    text = shared_file(rel).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_startrek_by_name_is_one_title_a_line():
    corpus = corpora.load("startrek", codecs.get("char"), documents=True)
    lines = corpora.packaged_file("startrek").read_text(encoding="utf-8").splitlines()
    assert corpus.items == [t for t in lines if t.strip()] and len(corpus.items) == 734
    assert corpus.items[:2] == ["The Man Trap", "Charlie X"]


def test_the_package_ships_only_the_startrek_titles():
    """The melodies (Zelda game music) and the Metatone gestures (all rights reserved) carry no
    licence to redistribute: not in the package's data, not corpus names."""
    data = corpora.packaged_file("startrek").parent
    assert sorted(f.name for f in data.iterdir()) == ["SOURCES.md", "startrekepisodes.txt"]
    assert not {"melodies", "gestures"} & set(corpora.NAMED)
    with pytest.raises(CorpusError, match="no packaged corpus named 'melodies'; choose from "
                                          "startrek$"):
        corpora.packaged_file("melodies")


@pytest.mark.parametrize("name, codec", [("melodies", "melody"), ("gestures", "ensemble")])
def test_the_old_names_are_a_clear_error(capsys, tmp_path, monkeypatch, name, codec):
    monkeypatch.chdir(tmp_path)  # no file of that name beside the test
    with pytest.raises(CorpusError, match=f"^{name} does not exist: give a file, a folder, a "
                                          r"glob or a corpus name \(.*startrek.*\)$"):
        corpora.load(name, codecs.get(codec))
    assert main(["train", name, "--codec", codec, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{name} does not exist" in err
    assert not (tmp_path / "r").exists()


def test_the_course_melodies_by_path_for_the_melody_codec():
    corpus = corpora.load(shared_file(MELODIES), codecs.get("melody"))
    steps = [m["steps"] for m in _json_lines(MELODIES)]
    assert len(steps) == 186
    # a melody with no note-on at all is no item; every other one is
    assert len(corpus.items) == sum(any(v < 128 for v in s) for s in steps)
    assert all(0 <= v <= 129 for item in corpus.items for v in item)


def test_the_metatone_gestures_by_path_for_the_ensemble_codec():
    corpus = corpora.load(str(shared_file(GESTURES)), codecs.get("ensemble"))
    quartets = [p["gestures"] for p in _json_lines(GESTURES) if p["performers"] == 4]
    (performances,) = corpus.items  # the file is one item: its quartet performances
    assert len(quartets) == 61 and len(performances) == len(quartets)
    assert [len(p) for p in performances] == [len(q) for q in quartets]


def test_a_named_corpus_has_no_parts_and_unknown_files_are_named():
    for name in (*PACKAGED, "shakespeare"):
        with pytest.raises(CorpusError, match=f"the {name} corpus has no parts"):
            corpora.load(f"{name}:x", codecs.get("char"))
    with pytest.raises(CorpusError, match="choose from startrek$"):
        corpora.packaged_file("trek")


def test_corpus_command_describes_a_built_in_corpus(capsys):
    assert main(["corpus", "startrek", "--documents"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"startrek: {corpora.NAMED['startrek'][0]}\n")
    assert "items: 734" in out


def test_corpus_command_counts_an_ensemble_corpus(capsys):
    """The ensemble codec has ids but no tokens: `corpus` counted with tokenize and crashed."""
    assert main(["corpus", str(shared_file(GESTURES)), "--codec", "ensemble"]) == 0
    out = capsys.readouterr().out
    quartets = [p["gestures"] for p in _json_lines(GESTURES) if p["performers"] == 4]
    ids = sum(len(q) + 1 for q in quartets)  # a symbol a second, and one closing each
    assert "items: 1" in out and f"tokens: {ids:,}" in out


def test_corpus_command_refuses_a_part_of_a_whole_corpus(capsys):
    assert main(["corpus", "startrek:tos"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "startrek alone" in err


@pytest.mark.slow
def test_a_built_wheel_carries_startrek_and_not_the_test_only_data(tmp_path):
    """pyproject's package-data: a pip install has the Star Trek titles, not only a clone, and
    none of the unlicensed course files. Built from a copy, so the build leaves nothing in the
    working tree."""
    src = tmp_path / "project"
    shutil.copytree(ROOT / "src", src / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True, text=True)
    (wheel,) = (tmp_path / "dist").glob("creative_rnn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(n for n in names if n.startswith("creative_rnn/corpora/data/"))
    assert shipped == ["creative_rnn/corpora/data/SOURCES.md",
                       "creative_rnn/corpora/data/startrekepisodes.txt"]
    assert not [n for n in names if n.endswith(UNSHIPPED) or "tests/" in n]
    # the starter models (issue 31): each a whole read-only run directory
    for starter in ("folk", "melody", "quartet", "shakespeare"):
        assert {f"creative_rnn/starters/{starter}/{f}" for f in (
            "starter.json", "config.json", "codec.json", "metrics.jsonl",
            "model.safetensors")} <= names


def test_the_tests_data_travels_with_the_repository():
    """Every file tests/data/SOURCES.md lists is there; nothing in the tests, the lessons or
    the package reads the course data folder beside the project."""
    listed = re.findall(r"^\| ([\w./-]+\.\w+) \|", (DATA / "SOURCES.md").read_text(), re.M)
    assert len(listed) == 8 and {MELODIES, GESTURES} <= set(listed)
    for rel in listed:
        assert shared_file(rel).is_file(), rel
    beside = re.compile(r'\.\./shared|shared/data|"shared" / "data"')
    files = [*ROOT.glob("tests/*.py"), *ROOT.glob("notebooks/*.ipynb"),
             *ROOT.glob("src/creative_rnn/**/*.py")]
    found = [str(f.relative_to(ROOT)) for f in files
             if f.name != Path(__file__).name and beside.search(f.read_text(encoding="utf-8"))]
    assert found == []


def test_a_missing_data_file_fails_the_test_instead_of_skipping():
    with pytest.raises(pytest.fail.Exception, match="tests/data/SOURCES.md"):
        shared_file("midi/no-such-file.mid")


def test_the_corpora_files_are_the_ones_their_sources_name():
    notes = (Path(corpora.packaged_file("startrek")).parent / "SOURCES.md").read_text()
    for name in PACKAGED:
        assert f"| `{name}` | {corpora.packaged_file(name).name} |" in notes
