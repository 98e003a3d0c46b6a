"""The smoke matrix (STYLE.md): every cell on every kind of material trains a few steps,
saves, resumes and answers. The corpora are the small ones beside the old-run fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import creative_rnn as cr
from creative_rnn import codecs, rundir
from creative_rnn.live import load_stepper

CORPORA = Path(__file__).parent / "fixtures" / "old_runs"
# kind -> (corpus files, train keywords, how to ask the trained run for an answer)
KINDS = {
    "text": (["corpus.txt"], dict(codec="char"), "The "),
    "abc": (["tunes.abc"], dict(codec="abc"), "M:4/4\nL:1/8\nK:G\nGAB"),
    "melody": (["melodies.jsonl"], dict(codec="melody", documents=True), "C4:4 E4:4"),
    "performance": ([f"phrase{i}.mid" for i in range(1, 5)],
                    dict(codec="performance", documents=True), "vel20 on60 shift50 off60"),
    "ensemble": (["duets.jsonl", "duet.csv"], dict(codec="ensemble"), "3"),
    "classify": (["examples.jsonl"], dict(task="classify"), "aabab"),
    "seq2seq": (["pairs.jsonl"], dict(task="seq2seq"), "abcde"),
}
SMALL = dict(preset="tiny", hidden_size=12, embedding_size=6, num_layers=2, batch_size=4,
             seq_len=16, eval_every=2, checkpoint_every=2, log_every=1, device="cpu",
             progress_bar=False)


def _answer(kind: str, run: Path, prime: str) -> object:
    if kind == "classify":
        return cr.Classifier(run).predict(prime)
    if kind == "seq2seq":
        return cr.Responder(run).respond(prime, length=6, seed=1)[0]
    if kind == "ensemble":
        return load_stepper(run, seed=1).step([prime])
    gen = cr.load(run, device="cpu")
    (item,) = gen.generate(prime, length=8, num=1, seed=1)
    assert gen.codec.encode(item, unknown="skip")
    return item


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_train_save_resume_answer(tmp_path, monkeypatch, cell, kind):
    files, options, prime = KINDS[kind]
    for f in files:
        shutil.copy(CORPORA / kind / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    if kind == "ensemble":
        options = dict(options, codec=codecs.get("ensemble", performers=2))
    result = cr.train(files, "run", cell=cell, max_steps=4, **options, **SMALL)
    assert result.step == 4 and result.val_loss is not None
    assert rundir.read_config("run")["model"]["cell"] == cell
    resumed = cr.train(resume="run", max_steps=6, progress_bar=False)
    assert resumed.step == 6
    assert [r["step"] for r in rundir.read_metrics("run")] == [1, 2, 3, 4, 5, 6]
    assert _answer(kind, Path("run"), prime)
