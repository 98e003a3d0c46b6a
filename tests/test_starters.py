"""The shipped starter models (issue 31): each loads by name everywhere a run directory is
accepted, its manifest is complete and true, and nothing ever writes into its folder."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest

import creative_rnn as cr
from creative_rnn import rundir, starters
from creative_rnn.cli import main
from creative_rnn.errors import CheckpointError, UserError
from creative_rnn.starters import build

SHIPPED = ("folk", "melody", "quartet", "shakespeare")


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# taken when the module is imported, before any test here reads a starter
BEFORE = {name: _files(starters.HOME / name) for name in starters.names()}


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def shakespeare_file(monkeypatch, shakespeare):
    # the starter's corpus is the named one: here the test copy, never a download
    monkeypatch.setenv("CREATIVE_RNN_SHAKESPEARE", str(shakespeare))


def test_the_four_starters_ship():
    assert set(SHIPPED) <= set(starters.names())


@pytest.mark.parametrize("name", SHIPPED)
def test_manifest_is_complete_and_true(name):
    folder, m = starters.path(name), starters.manifest(name)
    for key in ("name", "codec", "recipe", "trained_on", "licence", "steps", "best_step",
                "training_minutes",
                "best_val_loss", "weights", "machine", "trained"):
        assert m.get(key) not in (None, "", {}), key
    assert m["name"] == name
    weights = folder / m["weights"]["file"]
    data = weights.read_bytes()
    assert m["weights"]["bytes"] == len(data) <= starters.MAX_BYTES
    assert m["weights"]["sha256"] == hashlib.sha256(data).hexdigest()
    for file, sha in m["files"].items():
        assert hashlib.sha256((folder / file).read_bytes()).hexdigest() == sha
    vals = [r["val_loss"] for r in rundir.read_metrics(folder) if "val_loss" in r]
    assert m["best_val_loss"] == min(vals)
    assert max(r["step"] for r in rundir.read_metrics(folder)) == m["steps"] >= m["best_step"]
    from creative_rnn.core.tensors import load_tensors
    assert load_tensors(weights)[1]["step"] == m["best_step"]  # the best weights ship
    config = rundir.read_config(folder)
    assert m["codec"] == rundir.read_codec(folder).name
    # the recipe is the build's, and it trains on the corpus the config records
    assert m["recipe"] == build.RECIPES[name]["recipe"]
    sources = config["corpus"]["sources"]
    assert m["trained_on"]["sources"] == sources
    assert m["recipe"].startswith(f"creative-rnn train {' '.join(sources)} ")
    # portable: named corpora, no path of the machine it trained on
    assert "/" not in json.dumps(config["corpus"])
    on = m["trained_on"]
    assert on["vocabulary"] == config["model"]["vocab_size"]
    assert on["tokens"] > 0 and on["items"] > 0
    assert m["best_val_loss"] < on["unigram_loss"]  # it learned more than token frequencies
    assert not (folder / rundir.PLOT).exists() and not (folder / rundir.RESUME).exists()


@pytest.mark.parametrize("name", SHIPPED)
def test_loads_by_name_in_python(name):
    gen = cr.load(name, device="cpu", engine="torch")
    assert gen.codec.name == starters.manifest(name)["codec"]
    assert rundir.locate(name) == starters.path(name)
    assert gen.config["weights"]["path"] == str(starters.path(name) / rundir.WEIGHTS)


def test_models_lists_all_four(capsys):
    code, out, _ = _run(capsys, "models")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert set(SHIPPED) <= set(listed)
    code, out, _ = _run(capsys, "models", "--json")
    rows = json.loads(out)
    assert code == 0 and sorted(r["name"] for r in rows) == starters.names()
    assert all(r == {**starters.manifest(r["name"]), "path": r["path"]} for r in rows)


def test_models_name_shows_recipe_and_licence(capsys):
    code, out, _ = _run(capsys, "models", "melody")
    assert code == 0
    assert build.RECIPES["melody"]["recipe"] in out and build.RECIPES["melody"]["licence"] in out
    code, out, _ = _run(capsys, "models", "quartet", "--json")
    assert json.loads(out)["recipe"] == build.RECIPES["quartet"]["recipe"]


def test_sample_folk_writes_abc(capsys, tmp_path):
    code, out, err = _run(capsys, "sample", "folk", "--num", 2, "--complete-bars", "--seed", 1,
                          "--format", "abc", "--out", tmp_path / "tune.abc")
    assert code == 0, err
    written = sorted(tmp_path.glob("tune-*.abc"))
    assert written, out
    codec = rundir.read_codec("folk")
    for path in written:
        assert path.read_text().startswith("X:")
        assert codec.read(path)  # a tune the codec reads back


def test_evaluate_and_the_copy_meter_by_name(shakespeare_file, monkeypatch):
    from creative_rnn.novelty import novelty
    from creative_rnn.report import evaluate
    read = rundir.read_config

    def fewer(run):  # validation on the first 5,000 tokens (the whole split takes a minute)
        config = read(run)
        config["train"]["eval_max_tokens"] = 5000
        return config

    monkeypatch.setattr(rundir, "read_config", fewer)
    row = evaluate("shakespeare", num=2, length=40)
    # the shipped weights are the ones whose loss the manifest records (on the whole split)
    assert math.isclose(row["val_loss"], starters.manifest("shakespeare")["best_val_loss"],
                        abs_tol=0.2)
    assert "not measured" not in row["novelty"]  # the corpus rebuilt from its description
    found = novelty("shakespeare", "ROMEO:\nWhat say you?")
    assert found.longest >= 10 and "shakespeare" in found.longest_source


def test_plot_and_the_studio_by_name(capsys, tmp_path):
    code, out, _ = _run(capsys, "plot", "folk", "melody", "--out", tmp_path / "loss.png")
    assert code == 0 and (tmp_path / "loss.png").stat().st_size > 0
    from creative_rnn.web.app import Studio
    from creative_rnn.web.guard import Limits
    studio = Studio(["melody"], None, Limits())
    assert list(studio.models) == ["melody"]
    assert studio.models["melody"].run == starters.path("melody")


def test_perform_reads_a_starter_by_name():
    from creative_rnn.live import load_stepper
    stepper = load_stepper("quartet")
    assert stepper.codec.name == "ensemble"


def test_resume_of_a_starter_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for given in ("folk", starters.path("folk")):
        code, _, err = _run(capsys, "train", "--resume", given)
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "--from folk" in err and "never written" in err
    code, _, err = _run(capsys, "train", "folk", "--out", starters.path("folk"))
    assert code == 2 and "--from folk" in err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_name_names_the_models_command(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (("sample", "no-such-model"), ("evaluate", "no-such-model"),
                 ("plot", "no-such-model", "--out", tmp_path / "p.png"),
                 ("viz", "no-such-model", "--text", __file__, "--out", tmp_path / "v.html"),
                 ("models", "no-such-model")):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "`creative-rnn models`" in err


def test_a_damaged_starter_asks_for_a_reinstall(tmp_path, monkeypatch):
    shutil.copytree(starters.path("folk"), tmp_path / "folk")
    weights = tmp_path / "folk" / rundir.WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(starters, "HOME", tmp_path)
    monkeypatch.setattr(starters, "_VERIFIED", set())
    with pytest.raises(CheckpointError, match="reinstall creative-rnn"):
        cr.load("folk", device="cpu")


def test_repacking_a_starter_gives_the_same_one(tmp_path):
    """The packer on a run (a starter is one): the same weights, config and figures."""
    out = build.pack("folk", starters.path("folk"), home=tmp_path, summary=False)
    m, shipped = json.loads((out / starters.MANIFEST).read_text()), starters.manifest("folk")
    for key in ("weights", "files", "best_val_loss", "steps", "recipe", "licence", "codec"):
        assert m[key] == shipped[key], key
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folk"]  # no folder left half-made


def test_the_packer_refuses_big_weights_and_unnamed_corpora(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "MAX_BYTES", 1000)
    with pytest.raises(UserError, match="over a starter's"):
        build.pack("folk", starters.path("folk"), home=tmp_path, summary=False)
    assert list(tmp_path.iterdir()) == []
    local = {"corpus": {"sources": ["shakespeare"],
                        "named_options": {"shakespeare": {"local": "/home/me/s.txt"}}}}
    assert build.portable(local)["corpus"]["named_options"] == {}
    with pytest.raises(UserError, match="not a named corpus"):
        build.portable({"corpus": {"sources": ["/home/me/tunes.abc"]}})


def test_no_starter_folder_changed():
    """Every test above read starters by name: none wrote a file into one."""
    assert {name: _files(starters.HOME / name) for name in BEFORE} == BEFORE
