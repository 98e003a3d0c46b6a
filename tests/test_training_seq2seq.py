"""Bidirectional encoders and the encoder–decoder: learning, generation, run directories."""

from __future__ import annotations

import json
import random

import pytest
import torch

from creative_rnn import codecs
from creative_rnn.cli import main
from creative_rnn.config import ModelConfig, TaskOptions
from creative_rnn.errors import CheckpointError, CorpusError, SamplingError, UserError
from creative_rnn.models.seq2seq import Encoder, Seq2Seq
from creative_rnn.rundir import load_run
from creative_rnn.sampling import Classifier, Responder
from creative_rnn.training import train
from creative_rnn.training.seq2seq import make_pairs


def train_classify(corpus, out, **kw):
    return train(corpus, out, task="classify", **kw)


def train_seq2seq(corpus=None, out=None, **kw):
    return train(corpus, out, task="seq2seq", **kw)


ALPHABET = "abcdef"
TINY = dict(cell="gru", num_layers=1, embedding_size=16, dropout=0.0, warmup_steps=20,
            log_every=50, progress_bar=False)


def _chars() -> codecs.Codec:
    codec = codecs.get("char")
    codec.fit([ALPHABET])
    return codec


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models


@pytest.fixture(scope="module")
def reverse_run(tmp_path_factory):
    """An encoder–decoder trained to answer a call with its reverse (lengths 2-5)."""
    codec, rng = _chars(), random.Random(0)
    pairs = []
    for _ in range(3000):
        ids = codec.encode("".join(rng.choice(ALPHABET) for _ in range(rng.randint(2, 5))))
        pairs.append((ids, ids[::-1]))
    out = tmp_path_factory.mktemp("s2s") / "reverse"
    result = train_seq2seq(out=out, codec=codec, pairs=pairs, hidden_size=64, batch_size=64,
                           lr=1e-2, max_steps=400, eval_every=200, **TINY)
    return out, result


def test_seq2seq_learns_to_reverse(reverse_run):
    run, result = reverse_run
    responder = Responder(run)
    rng = random.Random(123)  # fresh calls, mostly never seen in training
    right = total = 0
    for _ in range(200):
        call = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(2, 5)))
        answer = responder.respond(call, greedy=True, length=10)[0]
        total += len(call)
        right += sum(a == b for a, b in zip(answer, call[::-1]))
    assert right / total >= 0.99, f"greedy token accuracy {right / total:.3f}"
    row = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    assert row["val_accuracy"] >= 0.99 and result.val_loss < 0.1


def test_beam_search_and_sampling_answer_the_call(reverse_run):
    responder = Responder(reverse_run[0])
    beams = responder.respond("abcd", beam=4, num=3)
    assert beams[0] == "dcba" and len(set(beams)) == 3  # best first, no duplicates
    assert responder.respond("abcd", beam=1) == responder.respond("abcd", greedy=True)
    a = responder.respond("fed", num=4, seed=5, temperature=0.7, top_k=3, top_p=0.9)
    assert a == responder.respond("fed", num=4, seed=5, temperature=0.7, top_k=3, top_p=0.9)
    assert all(set(x) <= set(ALPHABET) for x in a)
    with pytest.raises(SamplingError, match="not in the model's vocabulary"):
        responder.respond("xyz")
    with pytest.raises(SamplingError, match="beam width"):
        responder.respond("abc", beam=2, num=3)


def test_respond_cli_and_run_directory(reverse_run, capsys):
    run = reverse_run[0]
    assert main(["respond", str(run), "--call", "abc", "--greedy"]) == 0
    assert capsys.readouterr().out.strip() == "cba"
    assert main(["respond", str(run), "--call", "q"]) == 2  # user error, one line
    assert "vocabulary" in capsys.readouterr().err
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "seq2seq" and cfg["task_options"]["bidirectional"] is True
    with pytest.raises(CheckpointError, match="seq2seq run"):
        load_run(run)  # the language-model loader refuses it clearly
    with pytest.raises(UserError, match="only max_minutes, max_steps can change"):
        train(resume=run, hidden_size=8)  # a seq2seq run resumes; its shape stays


def _next_token_rows(n: int, seed: int) -> list[dict]:
    """Tag each character with the character after it: only the future tells."""
    rng, rows = random.Random(seed), []
    for _ in range(n):
        s = "".join(rng.choice("abcd") for _ in range(rng.randint(4, 8)))
        rows.append({"input": s, "tags": list(s[1:]) + ["end"]})
    return rows


def test_bidirectional_beats_unidirectional_on_future_context(tmp_path):
    data = tmp_path / "next.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _next_token_rows(800, 1)))
    acc = {}
    for bi in (True, False):
        out = tmp_path / f"bi-{bi}"
        result = train_classify([str(data)], out, hidden_size=32, batch_size=32, lr=1e-2,
                                max_steps=150, eval_every=150, bidirectional=bi, **TINY)
        acc[bi] = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])[
            "val_accuracy"]
        assert result.val_loss is not None
    # same size per direction; a left-to-right reader can only guess the next character
    assert acc[True] > 0.9 and acc[False] < 0.5, acc
    tags = Classifier(tmp_path / "bi-True").predict("abca")
    assert [t for _, t in tags] == ["b", "c", "a", "end"]


def test_sequence_classification_and_its_cli(tmp_path, capsys):
    rng = random.Random(2)
    rows = []
    for _ in range(300):  # label: does the sequence contain a 'z'?
        s = "".join(rng.choice("abcz" if rng.random() < 0.5 else "abc") for _ in range(6))
        rows.append({"input": s, "label": "z" if "z" in s else "none"})
    data = tmp_path / "z.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["train", str(data), "--task", "classify", "--out", str(tmp_path / "c"),
                 "--set", "hidden_size=16", "--set", "embedding_size=8", "--set",
                 "dropout=0", "--set", "lr=0.01", "--max-steps", "120", "--quiet"]) == 0
    capsys.readouterr()
    assert Classifier(tmp_path / "c").predict("abzcab") == "z"
    assert main(["classify", str(tmp_path / "c"), "--input", "abcabc"]) == 0
    assert capsys.readouterr().out.strip() == "none"


def test_bad_examples_are_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "abc", "tags": ["a"]}\n{"input": "ab", "tags": ["a", "b"]}\n')
    with pytest.raises(CorpusError, match="1 tags for 3 tokens"):
        train_classify([str(bad)], tmp_path / "r", max_steps=1, **TINY)
    bad.write_text('{"input": "abc", "label": "x"}\nnot json\n')
    with pytest.raises(CorpusError, match="line 2 is not JSON"):
        train_classify([str(bad)], tmp_path / "r", max_steps=1, **TINY)
    with pytest.raises(UserError, match="phrase_len"):
        train_seq2seq(["x"], tmp_path / "s", phrase_len=-1, **TINY)


def test_pairs_from_consecutive_lines_and_phrases(tmp_path):
    text = tmp_path / "dialogue.txt"
    text.write_text("hello there\ngeneral kenobi\nyou are a bold one\n")
    codec = codecs.get("char")
    pairs = make_pairs([str(text)], codec, TaskOptions())
    assert [(codec.decode(a), codec.decode(b)) for a, b in pairs] == [
        ("hello there", "general kenobi"), ("general kenobi", "you are a bold one")]
    phrases = make_pairs([str(text)], codecs.get("char"), TaskOptions(phrase_len=4))
    assert [len(a) for a, _ in phrases] == [4] * len(phrases) and len(phrases) == 1 + 2 + 3


def test_encoder_final_state_ignores_padding():
    cfg = ModelConfig(cell="lstm", num_layers=2, hidden_size=8, embedding_size=4,
                      dropout=0.0, vocab_size=10)
    enc = Encoder(cfg, bidirectional=True).eval()
    x = torch.tensor([[5, 6, 7, 0, 0]])
    _, padded = enc(x, torch.tensor([3]))
    _, alone = enc(x[:, :3], torch.tensor([3]))
    assert padded.shape == (2, 1, 16) and torch.allclose(padded, alone, atol=1e-6)
    model = Seq2Seq(cfg, bidirectional=False)
    logits = model(x, torch.tensor([3]), torch.tensor([[1, 5, 6]]))
    assert logits.shape == (1, 3, 10)
