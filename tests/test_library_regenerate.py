"""Every maker records its pieces with provenance, and a recorded piece made again from its
provenance is the same piece, for every codec (library/rebuild.py, provenance.py, take.py,
exporting.py, favourites.py; cli/reading.py and cli/play.py's recording).

The runs are the small trained runs kept beside the old-run tests (read only), a one-step
word run, and the shipped starters by name where this install has them."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

import creative_rnn as cr
from creative_rnn import rundir, starters
from creative_rnn.cli import main
from creative_rnn.core.tensors import load_tensors, save_tensors
from creative_rnn.library import (
    Library,
    LibraryError,
    export,
    record_samples,
    regenerate,
    train_on_favourites,
)

OLD = Path(__file__).parent / "fixtures" / "old_runs"
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def word_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("word")
    corpus = root / "verse.txt"
    corpus.write_text("the sea was calm and the night was long\n" * 30, encoding="utf-8")
    cr.train(corpus=[str(corpus)], out=root / "run", codec="word", preset="tiny",
             hidden_size=8, max_steps=1, eval_every=1, checkpoint_every=1, progress_bar=False)
    return root / "run"


def _sampled(run: str, lib: Path, out: Path, *extra: str) -> list[dict]:
    """`creative-rnn sample RUN` with no seed (the library draws and keeps one); the new
    pieces, whole."""
    before = Library(lib).count()
    assert main(["sample", run, "--length", "30", "--library", str(lib), *extra,
                 *(["--out", str(out)] if out else [])]) == 0
    with Library(lib) as library:
        rows = library.list(limit=50)[: library.count() - before]
        return [library.get(p["id"]) for p in rows]


STARTERS = ("folk", "melody", "shakespeare")  # by name; quartet plays live (below)


@pytest.mark.parametrize("kind", ["text", "abc", "melody", "performance", "word",
                                  *(f"starter:{name}" for name in STARTERS)])
def test_each_codec_regenerates_the_identical_piece(kind, tmp_path, request):
    starter = kind.partition("starter:")[2] or None
    if starter and starter not in starters.names():
        pytest.skip(f"the {starter} starter is not installed here")
    run = str(request.getfixturevalue("word_run")) if kind == "word" else \
        starter or str(OLD / kind / "run")
    lib = tmp_path / "lib.sqlite"
    music = kind in ("abc", "melody", "performance", "starter:folk", "starter:melody")
    pieces = _sampled(run, lib, tmp_path / "s.out", "--num", "2",
                      *(["--format", "png"] if music else []))
    assert len(pieces) == 2
    for p in pieces:
        assert p["maker"] == "sample" and p["run"] == run and p["seed"] is not None
        assert p["weights_sha256"] and p["settings"]["temperature"] == 0.8
        assert p["ids"] and p["files"] and all(Path(f).exists() for f in p["files"])
        assert p["starter"] == starter
        again = regenerate(p["id"], Library(lib))
        assert again.identical and again.ids == p["ids"], again.why


def test_a_streamed_sample_with_complete_bars_regenerates(tmp_path, capsys):
    lib = tmp_path / "lib.sqlite"
    (p,) = _sampled(str(OLD / "abc" / "run"), lib, None, "--complete-bars", "--top-k", "5",
                    "--prime", "M:4/4\nL:1/8\nK:G\nGAB")
    capsys.readouterr()
    assert p["settings"]["draws"] == "one" and p["prime"].startswith("M:4/4")
    assert p["settings"]["constraints"] == {"complete_bars": True}
    assert regenerate(p, Library(lib)).identical
    assert main(["library", "regenerate", str(p["id"]), "--json", "--library", str(lib)]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["identical"] and said["ids"] == p["ids"] and said["why"] is None


def test_changed_weights_are_named_as_the_reason(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(OLD / "text" / "run", run)
    lib = tmp_path / "lib.sqlite"
    (p,) = _sampled(str(run), lib, tmp_path / "a.txt", "--seed", "4")
    weights = rundir.weights_path(run)
    tensors, meta = load_tensors(weights)
    tensors = {k: -3 * v if v.is_floating_point() else v for k, v in tensors.items()}
    save_tensors(weights, tensors, meta)  # as if trained further
    again = regenerate(p["id"], Library(lib))
    assert "weights changed" in " ".join(again.notes)
    assert again.identical or "weights changed" in again.why


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_gpu_piece_on_a_cpu_machine_says_why(tmp_path):
    lib = tmp_path / "lib.sqlite"
    (p,) = _sampled(str(OLD / "text" / "run"), lib, tmp_path / "a.txt")
    p["settings"]["device"] = "cuda"
    again = regenerate(p)
    assert any("made on cuda" in n for n in again.notes)


def test_demo_hook_records_items_that_regenerate(tmp_path, capsys):
    lib = tmp_path / "lib.sqlite"
    run = OLD / "abc" / "run"
    gen = cr.load(run, device="cpu")
    tunes = gen.generate(length=40, num=2, seed=5, temperature=0.8)
    done = record_samples(gen, run, tunes, maker="demo", seed=5, length=40, num=2,
                          temperature=0.8, files=[tmp_path / "tunes.abc"], library=lib)
    assert len(done.ids) == 2 and "recorded in the library" in capsys.readouterr().err
    with Library(lib) as library:
        p = library.get(done.ids[1])
        assert p["maker"] == "demo" and p["text"] == tunes[1] and p["ids"] is None
        assert regenerate(p["id"], library).identical


def test_a_perform_take_keeps_both_voices_and_is_not_regenerated(tmp_path, monkeypatch):
    run = "quartet" if "quartet" in starters.names() else str(OLD / "ensemble" / "run")
    lib = tmp_path / "lib.sqlite"
    monkeypatch.setattr(sys, "stdin", io.StringIO("3\n1\nreset\n2\n"))  # the lead's values
    assert main(["perform", run, "--seed", "2", "--library", str(lib)]) == 0
    with Library(lib) as library:
        (row,) = library.list()
        p = library.get(row["id"])
        assert p["maker"] == "perform" and p["codec"] == "ensemble" and p["seed"] == 2
        assert p["extra"]["player"] == ["3", "1", "2"] and len(p["extra"]["model"]) >= 3
        assert p["settings"]["mode"] == "lines" and p["weights_sha256"]
        with pytest.raises(LibraryError, match="played live"):
            regenerate(p["id"], library)


def test_export_midi_writes_each_music_piece_with_its_codec(tmp_path):
    lib = tmp_path / "lib.sqlite"
    pieces = _sampled(str(OLD / "melody" / "run"), lib, tmp_path / "m.mid", "--num", "2",
                      "--format", "png")
    out = tmp_path / "export"
    written = export(pieces, "midi", out)
    assert sorted(p.name for p in written) == sorted(f"piece-{p['id']}.mid" for p in pieces)
    codec = rundir.read_codec(OLD / "melody" / "run")
    for p in pieces:  # what the codec's own writer makes of the piece's tokens
        (ref,) = codec.outputs(codec.decode(p["ids"]), tmp_path / f"ref-{p['id']}", [])
        assert (out / f"piece-{p['id']}.mid").read_bytes() == ref.read_bytes()


def test_train_on_favourites_fine_tunes_on_the_starred_pieces(tmp_path, monkeypatch, capsys):
    shutil.copytree(OLD / "text", tmp_path / "text")
    monkeypatch.chdir(tmp_path / "text")  # the run's corpus is named relative to here
    lib = tmp_path / "lib.sqlite"
    pieces = _sampled("run", lib, tmp_path / "s.txt", "--num", "3")
    with Library(lib) as library:
        for p in pieces[:2]:
            library.star(p["id"])
        with pytest.raises(LibraryError, match="no tagged 'none' pieces"):
            train_on_favourites("run", tmp_path / "never", lib=library, tag="none")
    assert main(["library", "train", "run", "--out", str(tmp_path / "favs"), "--mix", "0.5",
                 "--max-steps", "2", "--library", str(lib)]) == 0
    new = tmp_path / "favs"
    assert rundir.exists(new)
    sources = json.loads((new / "favourites.json").read_text())
    assert sources == {"run": "run", "pieces": sorted(p["id"] for p in pieces[:2]), "mix": 0.5}
    config = rundir.read_config(new)
    assert config["parent"]
    corpus = [Path(s) for s in config["corpus"]["sources"]]
    files = sorted(f.name for f in corpus[0].iterdir())
    assert [f for f in files if f.startswith("piece-")] == sorted(
        f"piece-{p['id']}.txt" for p in pieces[:2])
    mixed = sum(len(f.read_text()) for f in corpus[0].glob("own-*"))
    mine = sum(len(f.read_text()) for f in corpus[0].glob("piece-*"))
    assert mixed >= mine  # half of the characters from the run's own corpus


def test_a_take_tells_the_players_notes_from_the_models_own():
    from creative_rnn.library.take import Take, take_piece
    from creative_rnn.live import load_stepper

    run = OLD / "melody" / "run"
    take = Take(load_stepper(run, seed=3))
    first = take.step(["60"])  # the player
    again = take.step(first)  # an answer running on: the model's own note fed back
    take.reset()
    take.step(["62"])
    piece = take_piece(take, run, False, {"seed": 3})
    assert [s.get("by") for s in take.steps] == ["player", "model", None, "player"]
    assert piece["extra"]["player"] == ["60", "62"]
    assert piece["extra"]["model"] == [str(v) for v in first + again] + \
        [str(v) for v in take.steps[-1]["out"]]
    assert piece["maker"] == "perform" and piece["codec"] == "melody" and piece["weights_sha256"]


@pytest.mark.parametrize("kind, prime, prefix", [
    ("abc", "M:4/4\nL:1/8\nK:G\nGAB", None),  # a documents run: <s> marks what was fed
    ("text", "", "fed"),  # a stream run with no prime: its line break, said by the maker
])
def test_pieces_kept_with_what_was_fed_regenerate(kind, prime, prefix, tmp_path):
    """The studio keeps ``gen.prime_ids(prime)`` + the new tokens (the start token
    included), where `sample` keeps the encoded prime: both are made again identically."""
    from creative_rnn.library import record
    from creative_rnn.library.provenance import sample_piece

    run = OLD / kind / "run"
    gen = cr.load(run, device="cpu")
    options = {"temperature": 0.9, "top_k": 0, "top_p": 1.0, "greedy": False}
    fed = gen.prime_ids(prime, "error")
    rows = [list(fed) for _ in range(2)]
    for step in gen.generate_ids(prime, length=25, num=2, seed=8, **options):
        for i, t in step:
            rows[i].append(t)
    pieces = [sample_piece(gen, run, row, maker="studio-generate", seed=8, options=options,
                           length=25, num=2, index=i, prime=prime, last=False, draws="one",
                           prefix=len(fed) if prefix == "fed" else None)
              for i, row in enumerate(rows)]
    assert [p["length"] for p in pieces] == [len(r) - len(fed) for r in rows]
    lib = Library(tmp_path / "lib.sqlite")
    for pid, row in zip(record(pieces, lib).ids, rows):
        again = regenerate(pid, lib)
        assert again.identical and again.ids == row, again.why
