"""Fine-tuning (``train --from NAME_OR_RUN``): every codec starts from its parent's weights,
codec and shape; fitted vocabularies grow; the parent is recorded; a fine-tuned run resumes
bit-identically; bad input is one line and writes nothing.

The parents are the shipped starters (shakespeare, folk, melody, quartet); word and
performance have none, so a tiny run is trained here for them. Every run is a few steps.
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import nullcontext
from pathlib import Path

import pytest
import torch
from support import shared_file

import creative_rnn as cr
from creative_rnn import codecs, rundir
from creative_rnn.cli import main
from creative_rnn.codecs.ensemble import EnsembleError
from creative_rnn.core.tensors import load_tensors
from creative_rnn.training import finetune
from creative_rnn.training.evaluation import validate
from creative_rnn.training.loop import Trainer
from creative_rnn.training.tasks import task_from_run

# a few cheap steps of a starter (documents are cut into pieces of doc_max_len tokens)
FAST = dict(batch_size=4, seq_len=32, doc_max_len=48, progress_bar=False)
NEW = "♪"  # a symbol the shakespeare starter never saw
POEM = ["Shall I compare thee to a summer's day? ♪", "Thou art more lovely and more temperate: ♪",
        "Rough winds do shake the darling buds of May, ♪",
        "And summer's lease hath all too short a date; ♪"]
TUNES = """X:1
T:One
M:6/8
L:1/8
K:D
|:A|dfa agf|gbg fdB|AFA dFA|GBA GFE|dfa agf|gbg fdB|AFA GFE|D3 D2:|
"""


def _tunes(n: int) -> str:
    keys = ["D", "G", "A", "Em", "Ador"]
    return "\n".join(TUNES.replace("X:1", f"X:{i + 1}").replace("K:D", f"K:{keys[i % 5]}")
                     for i in range(n))


def _parent_weights(name: str) -> dict[str, torch.Tensor]:
    return load_tensors(rundir.weights_path(rundir.locate(name)))[0]


def _vocab(run: Path | str) -> list[str]:
    return rundir.read_codec(rundir.locate(run)).vocab.tokens


def _stopped_at_start(**kw) -> cr.RunResult:
    """A fine-tune stopped before its first step: it saves the weights it starts from."""
    stop = threading.Event()
    stop.set()
    return cr.train(stop=stop, **kw)


@pytest.fixture(scope="module")
def poem(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("poem") / "poem.txt"
    path.write_text("\n".join(POEM * 12) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def char_run(tmp_path_factory, poem) -> Path:
    """The shakespeare starter fine-tuned for 6 steps on a poem with a new symbol, at a high
    learning rate so that the new symbol is learned in so few steps."""
    out = tmp_path_factory.mktemp("ft") / "char"
    cr.train(corpus=[str(poem)], out=out, init_from="shakespeare", max_steps=6, lr=0.01,
             **FAST)
    return out


# --- char: vocabulary growth, the parent record, where it starts ----------------------------
def test_char_from_shakespeare_grows_the_vocabulary_and_samples_the_new_symbol(char_run):
    parent = _vocab("shakespeare")
    assert _vocab(char_run) == parent + [NEW]  # old ids unchanged, the new one appended
    config = json.loads((char_run / rundir.CONFIG).read_text())
    assert config["model"]["vocab_size"] == len(parent) + 1
    shape = {k: config["model"][k] for k in finetune.FIXED_BY_PARENT}
    theirs = json.loads((rundir.locate("shakespeare") / rundir.CONFIG).read_text())["model"]
    assert shape == {k: theirs[k] for k in finetune.FIXED_BY_PARENT}
    samples = cr.load(char_run).generate(prime="Shall I compare thee", length=200, num=4,
                                         seed=0, temperature=1.0)
    assert any(NEW in s for s in samples), samples
    assert "\ufffd" not in "".join(samples)


def test_the_parent_is_recorded(char_run):
    parent = json.loads((char_run / rundir.CONFIG).read_text())["parent"]
    weights = rundir.weights_path(rundir.locate("shakespeare"))
    theirs = json.loads((rundir.locate("shakespeare") / rundir.CONFIG).read_text())
    assert parent == {"name": "shakespeare", "path": "shakespeare",
                      "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
                      "step": load_tensors(weights)[1]["step"], "codec": "char",
                      "corpus": theirs["corpus"]}


def test_fitted_budget_when_unset_and_the_users_keys_win(char_run, tmp_path, poem, capsys):
    train = json.loads((char_run / rundir.CONFIG).read_text())["train"]
    parent = json.loads((rundir.locate("shakespeare") / rundir.CONFIG).read_text())["train"]
    assert train["lr"] == 0.01 and train["max_steps"] == 6  # set: kept
    assert train["patience"] == finetune.PATIENCE and train["warmup_steps"] <= 50
    assert train["weight_decay"] == parent["weight_decay"]  # inherited
    # nothing set: a lower peak than the parent's, a budget of a few passes, early stopping
    _stopped_at_start(corpus=[str(poem)], out=tmp_path / "fitted", init_from="shakespeare",
                      progress_bar=False)
    fitted = json.loads((tmp_path / "fitted" / rundir.CONFIG).read_text())["train"]
    assert fitted["lr"] == pytest.approx(parent["lr"] * finetune.LR_SCALE)
    assert finetune.MIN_STEPS <= fitted["max_steps"] <= finetune.MAX_STEPS
    assert fitted["patience"] > 0 and fitted["eval_every"] < fitted["max_steps"]
    out = capsys.readouterr().out
    assert "fine-tuning from the starter shakespeare" in out and "new symbol" in out
    assert "fitted to fine-tuning: lr" in out and "passes over" in out


def test_a_fine_tune_starts_from_the_parents_weights(tmp_path, poem):
    """Stopped before its first step, the run holds the starting weights: every tensor of
    the parent, the old ids' rows unchanged, the new row the mean; and its loss on the new
    corpus is far below a fresh model's of the same shape."""
    run = tmp_path / "start"
    _stopped_at_start(corpus=[str(poem)], out=run, init_from="shakespeare", **FAST)
    start, parent = load_tensors(run / rundir.WEIGHTS)[0], _parent_weights("shakespeare")
    V = parent["embedding.weight"].size(0)
    assert start.keys() == parent.keys()
    for k, v in parent.items():  # the embedding and the head have one row more
        grows = k in ("embedding.weight", "head.weight", "head.bias")
        assert torch.equal(start[k][:V] if grows else start[k], v), k
    assert torch.allclose(start["embedding.weight"][V], parent["embedding.weight"][4:].mean(0))
    assert start["head.bias"][V] == parent["head.bias"][4:].min()
    config = rundir.read_config(run)
    task = task_from_run(run, config)  # its model is a fresh one of the same shape
    scratch = validate(task, task.model, nullcontext())["val_loss"]
    task.model.load_state_dict(start)
    tuned = validate(task, task.model, nullcontext())["val_loss"]
    assert tuned < scratch - 1.5, (tuned, scratch)


def test_grown_weights_add_rows_to_the_head_only_where_the_output_grows():
    w = {"embedding.weight": torch.randn(6, 3), "head.weight": torch.randn(5, 2),
         "head.bias": torch.randn(5), "rnn.weight": torch.randn(2, 2)}
    out = finetune.grown_weights(w, 8, 5)  # an ensemble-like model: outputs do not grow
    assert out["embedding.weight"].shape == (8, 3) and out["head.weight"].shape == (5, 2)
    assert out["rnn.weight"] is w["rnn.weight"]
    assert torch.equal(out["embedding.weight"][6], w["embedding.weight"][4:].mean(0))


# --- resume ----------------------------------------------------------------------------------
def test_a_stopped_fine_tune_resumes_to_the_uninterrupted_run(char_run, tmp_path, poem,
                                                              monkeypatch):
    cut, stop, real_step = tmp_path / "cut", threading.Event(), Trainer._step

    def step_then_stop_at_3(self):
        out = real_step(self)
        if self.step + 1 == 3:
            stop.set()
        return out

    monkeypatch.setattr(Trainer, "_step", step_then_stop_at_3)
    result = cr.train(corpus=[str(poem)], out=cut, init_from="shakespeare", max_steps=6,
                      lr=0.01, stop=stop, **FAST)
    monkeypatch.setattr(Trainer, "_step", real_step)
    assert result.stopped == "interrupted" and result.step == 3
    assert main(["train", "--resume", str(cut), "--quiet"]) == 0
    a, b = (load_tensors(r / rundir.RESUME)[0] for r in (char_run, cut))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("model.", "average.")))
    assert rundir.read_config(cut)["parent"] == rundir.read_config(char_run)["parent"]


# --- the other codecs --------------------------------------------------------------------------
def test_abc_from_folk_on_the_command_line(tmp_path, capsys):
    corpus = tmp_path / "jigs.abc"
    corpus.write_text(_tunes(12), encoding="utf-8")
    run = tmp_path / "abc"
    assert main(["train", str(corpus), "--from", "folk", "--out", str(run), "--max-steps", "3",
                 "--set", "batch_size=4", "--set", "doc_max_len=48", "--quiet"]) == 0
    assert f"sample: creative-rnn sample {run}" in capsys.readouterr().out
    parent = _vocab("folk")
    assert _vocab(run)[: len(parent)] == parent
    assert rundir.read_config(run)["parent"]["codec"] == "abc"
    tune = cr.load(run).generate(prime="M:6/8\nK:D\n", length=60, seed=0)[0]
    assert "M:6/8" in tune and "K:" in tune
    # where each value came from: the parent, the fitted budget, --set and the flag
    assert main(["config", str(run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    said = {k: v["source"] for section in ("model", "train") for k, v in data[section].items()}
    assert said["hidden_size"] == "fine-tuning from the starter folk: its shape"
    assert said["documents"] == "fine-tuning from the starter folk: its batches"
    assert said["lr"].startswith("fitted to fine-tuning: lr ")
    assert said["patience"].startswith("fitted to fine-tuning: stop early after")
    assert said["batch_size"] == said["doc_max_len"] == "--set"
    assert said["max_steps"] == "flag --max-steps"


def test_melody_from_melody(tmp_path):
    lines = shared_file("melody/melodies.jsonl").read_text().splitlines()[:20]
    corpus = tmp_path / "tunes.jsonl"
    corpus.write_text("\n".join(lines) + "\n")
    run = tmp_path / "melody"
    cr.train(corpus=[str(corpus)], out=run, init_from="melody", max_steps=2, **FAST)
    assert _vocab(run) == _vocab("melody")  # a fixed vocabulary never grows
    assert cr.load(run).generate(length=16, seed=0)[0] is not None


def _quartets(path: Path, value: int = 12) -> Path:
    steps = [[(i + p) % 12 for p in range(4)] for i in range(48)] + [[value, 0, 0, 0]]
    path.write_text("".join(json.dumps({"gestures": steps}) + "\n" for _ in range(6)))
    return path


def test_ensemble_from_quartet(tmp_path):
    run = tmp_path / "ensemble"
    cr.train(corpus=[str(_quartets(tmp_path / "q.jsonl"))], out=run, init_from="quartet",
             max_steps=2, **FAST)
    assert rundir.read_codec(run).to_json() == rundir.read_codec(rundir.locate("quartet")
                                                                 ).to_json()
    parent, tuned = _parent_weights("quartet"), load_tensors(run / rundir.WEIGHTS)[0]
    assert {k: v.shape for k, v in parent.items()} == {k: v.shape for k, v in tuned.items()}


def test_a_symbol_outside_a_fixed_vocabulary_is_the_codecs_usual_error(tmp_path):
    corpus = _quartets(tmp_path / "q.jsonl", value=13)  # classes=13: values 0..12
    with pytest.raises(EnsembleError):
        cr.train(corpus=[str(corpus)], out=tmp_path / "bad", init_from="quartet", **FAST)
    assert not (tmp_path / "bad").exists()


@pytest.fixture(scope="module")
def tiny_parents(tmp_path_factory) -> dict[str, Path]:
    """Word and performance have no starter: a tiny run of each, a few steps."""
    root = tmp_path_factory.mktemp("parents")
    tiny = dict(preset="tiny", hidden_size=16, embedding_size=8, max_steps=4, eval_every=2,
                progress_bar=False)
    cr.train(corpus=["startrek"], out=root / "word", codec="word", max_vocab=60, **tiny)
    cr.train(corpus=[str(shared_file("midi/waltzing-matilda.mid"))], out=root / "performance",
             codec="performance", **tiny)
    return {"word": root / "word", "performance": root / "performance"}


def test_word_grows_by_the_new_corpus_words(tiny_parents, tmp_path):
    """The parent keeps 60 words; the new corpus's 60 likeliest are added where missing, and
    its rarer words are <unk>, as in a run from scratch (this once stopped the encode)."""
    corpus = tmp_path / "words.txt"
    rare = " ".join(f"w{i}" for i in range(80))
    corpus.write_text("The Zorblax quintessential menagerie\n" * 30 + rare + "\n",
                      encoding="utf-8")
    run = tmp_path / "word"
    cr.train(corpus=[str(corpus)], out=run, init_from=str(tiny_parents["word"]), max_steps=3,
             progress_bar=False)
    parent, grown = _vocab(tiny_parents["word"]), _vocab(run)
    assert grown[: len(parent)] == parent
    assert {"Zorblax", "quintessential", "menagerie"} <= set(grown[len(parent):])
    codec = rundir.read_codec(run)
    assert codec.vocab.unk not in codec.encode("The Zorblax quintessential menagerie")
    assert codec.vocab_size - len(parent) < 60


def test_a_word_run_with_a_capped_vocabulary_resumes(tmp_path):
    """Its rare words are <unk> again on resume (they once made the corpus 'no longer
    match the run's vocabulary')."""
    run = tmp_path / "word"
    cr.train(corpus=["startrek"], out=run, codec="word", max_vocab=40, preset="tiny",
             hidden_size=8, embedding_size=4, max_steps=2, eval_every=1, progress_bar=False)
    assert cr.train(resume=run, max_steps=3, progress_bar=False).step == 3


def test_performance_from_a_run(tiny_parents, tmp_path):
    run = tmp_path / "performance"
    cr.train(corpus=[str(shared_file("midi/multitrack_gm_made.mid"))], out=run,
             init_from=str(tiny_parents["performance"]), max_steps=3, progress_bar=False)
    assert _vocab(run) == _vocab(tiny_parents["performance"])
    parent = rundir.read_config(run)["parent"]
    assert (parent["name"], parent["path"], parent["codec"]) == (
        None, str(tiny_parents["performance"].resolve()), "performance")  # found from anywhere


# --- bad input: one line, exit 2, nothing written ----------------------------------------------
@pytest.fixture
def misfit(tiny_parents, tmp_path) -> Path:
    """A copy of a run whose config says another width than its weights have."""
    run = tmp_path / "misfit"
    run.mkdir()
    for name in (rundir.CONFIG, rundir.CODEC, rundir.WEIGHTS):
        (run / name).write_bytes((tiny_parents["word"] / name).read_bytes())
    config = json.loads((run / rundir.CONFIG).read_text())
    config["model"]["hidden_size"] = 32
    (run / rundir.CONFIG).write_text(json.dumps(config))
    return run


@pytest.fixture
def classify_parent(tiny_parents, tmp_path) -> Path:
    run = tmp_path / "classify"
    run.mkdir()
    for name in (rundir.CONFIG, rundir.CODEC, rundir.WEIGHTS):
        (run / name).write_bytes((tiny_parents["word"] / name).read_bytes())
    config = json.loads((run / rundir.CONFIG).read_text())
    (run / rundir.CONFIG).write_text(json.dumps({**config, "task": "classify"}))
    return run


@pytest.mark.parametrize("args, says", [
    (["--from", "no-such-starter"], "no run folder or starter model"),
    (["--from", "folk", "--codec", "char"], "trained with the abc codec, not char"),
    (["--from", "shakespeare", "--set", "hidden_size=64"], "hidden_size=64 contradicts"),
    (["--from", "shakespeare", "--preset", "tiny"], "drop --preset"),
    (["--from", "shakespeare", "--codec-opt", "max_vocab=5"], "drop --codec-opt"),
    (["--from", "shakespeare", "--task", "classify"], "language models only"),
    (["--from", "MISFIT"], "does not fit"),
    (["--from", "CLASSIFY"], "is a classify run"),
])
def test_bad_input_is_one_line_and_writes_nothing(args, says, poem, tmp_path, misfit,
                                                  classify_parent, capsys):
    args = [{"MISFIT": str(misfit), "CLASSIFY": str(classify_parent)}.get(a, a) for a in args]
    out = tmp_path / "out"
    assert main(["train", str(poem), "--out", str(out), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err, err
    assert not out.exists()


def test_from_with_resume_is_refused(char_run, capsys):
    before = (char_run / rundir.STATE).read_text()
    assert main(["train", "--resume", str(char_run), "--from", "shakespeare"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "give only one of them" in err
    assert (char_run / rundir.STATE).read_text() == before


def test_codecs_grow_keeps_old_ids():
    codec = codecs.get("char")
    codec.fit(["abc"])
    fresh = codecs.get("char")
    fresh.fit(["zab!"])
    assert codec.grow(fresh) == ["!", "z"]
    assert codec.vocab.tokens[4:] == ["a", "b", "c", "!", "z"]
