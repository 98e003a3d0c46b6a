"""Fine-tuned runs (issue 31, parts 2-3): the small-corpus note of `corpus` and `train`, the
verdicts' better path, the copy meter against the parent's corpus apart from the run's own,
and the readers (evaluate, sample, the studio, perform's Performer) on a fine-tuned run.

The text case is built so the answers are known from the data: the parent is trained on a
corpus that opens with PHRASE (in its training split, the first 90% of the stream); the new
corpus, a kilobyte of Shakespeare, does not hold it. The copy meter must then find the whole
phrase in the parent's corpus, and in the new corpus no more than a brute-force search of
that text finds."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import time

import pytest
from support import ABC_BOOK, shared_file
from support_web import studio_client

import creative_rnn as cr
from creative_rnn.cli import main
from creative_rnn.errors import CorpusError
from creative_rnn.live import load_stepper
from creative_rnn.midi_live import Settings
from creative_rnn.midi_live.modes import Performer
from creative_rnn.midi_live.ports import NOTE_OFF, NOTE_ON
from creative_rnn.novelty import copied_spans, novelty
from creative_rnn.report import evaluate
from creative_rnn.training import verdict
from creative_rnn.training.loop import RunResult
from creative_rnn.web.app import create_app

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models

PHRASE = "zebras vex quick jugglers by the fjord"
NEW = "~"  # a symbol of the new corpus the parent's never had (the vocabulary grows)
TINY = dict(hidden_size=16, embedding_size=8, max_steps=2, eval_every=1, checkpoint_every=2,
            progress_bar=False)


def longest_in(text: str, sample: str) -> int:
    """The longest piece of ``sample`` found verbatim in ``text``, by brute force."""
    best = 0
    for i in range(len(sample)):
        while i + best < len(sample) and sample[i: i + best + 1] in text:
            best += 1
    return best


@pytest.fixture(scope="module")
def family(tmp_path_factory, startrek):
    """A tiny char parent on PHRASE + the Star Trek titles, and a run fine-tuned from it on
    a kilobyte of Shakespeare with a symbol the parent never saw; the fine-tune's stderr."""
    root = tmp_path_factory.mktemp("family")
    old = root / "old.txt"
    old.write_text(PHRASE + "\n" + startrek.read_text(encoding="utf-8"), encoding="utf-8")
    parent = root / "parent"
    cr.train(corpus=[str(old)], out=parent, preset="tiny", **TINY)
    new = root / "poem.txt"
    poem = shared_file("text/tiny-shakespeare.txt").read_text(encoding="utf-8")[:1000]
    new.write_text(poem + f"\n{NEW}{NEW} {NEW}\n", encoding="utf-8")
    child = root / "child"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        cr.train(corpus=[str(new)], out=child, init_from=str(parent), **TINY)
    return {"old": old, "new": new, "parent": parent, "child": child,
            "stderr": err.getvalue()}


@pytest.fixture(scope="module")
def orphans(family, tmp_path_factory):
    """Copies of the fine-tuned run whose parent is gone: its run folder, or (the folder
    still there) the corpus file it was trained on."""
    root = tmp_path_factory.mktemp("orphans")
    no_run = root / "no-run"
    shutil.copytree(family["child"], no_run)
    _edit(no_run, lambda c: c["parent"].update(path=str(root / "gone"), name=None))
    moved = root / "moved-parent"
    shutil.copytree(family["parent"], moved)
    _edit(moved, lambda c: c["corpus"].update(sources=[str(root / "deleted.txt")]))
    no_corpus = root / "no-corpus"
    shutil.copytree(family["child"], no_corpus)
    _edit(no_corpus, lambda c: c["parent"].update(path=str(moved), name=None))
    return {"no_run": no_run, "no_corpus": no_corpus}


def _edit(run, change) -> None:
    config = json.loads((run / "config.json").read_text())
    change(config)
    (run / "config.json").write_text(json.dumps(config))


# --- small-corpus sense ------------------------------------------------------------------
def test_corpus_says_a_small_corpus_is_small_and_names_the_starter_of_its_codec(
        family, tmp_path, capsys):
    assert main(["corpus", str(family["new"])]) == 0
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if "small corpus" in line]
    assert len(notes) == 1 and "--from shakespeare" in notes[0]  # char: the shakespeare starter
    book = tmp_path / "book.abc"
    book.write_text(ABC_BOOK, encoding="utf-8")
    assert main(["corpus", str(book), "--codec", "abc"]) == 0
    assert "--from folk" in capsys.readouterr().out  # abc: the folk starter
    assert main(["corpus", str(family["new"]), "--codec", "word"]) == 0
    out = capsys.readouterr().out  # no word starter ships: a smaller preset
    assert "small corpus" in out and "--preset tiny" in out and "--from" not in out


def test_corpus_is_quiet_about_a_large_corpus(capsys):
    big = shared_file("text/tiny-shakespeare.txt")  # 1.1 MB
    assert main(["corpus", str(big)]) == 0
    out = capsys.readouterr().out
    assert "tokens: 1," in out and "small corpus" not in out and "--from" not in out


def test_train_from_scratch_says_it_once_and_a_fine_tune_not_at_all(family, tmp_path,
                                                                     capfd):
    assert main(["train", str(family["new"]), "--out", str(tmp_path / "r"), "--preset", "tiny",
                 "--set", "hidden_size=16", "--max-steps", "1", "--quiet"]) == 0
    err = capfd.readouterr().err
    assert err.count("small corpus") == 1 and "--from shakespeare" in err
    assert "small corpus" not in family["stderr"]  # the same corpus, fine-tuned


# --- the verdicts name the better path ---------------------------------------------------
def _result(run, train, best, last):
    return RunResult(run, 2, train, last, best, "max_steps", unigram_loss=3.0)


def test_verdicts_from_scratch_point_to_the_starter(family):
    parent = str(family["parent"])  # a char run trained from scratch
    memorised = _result(parent, 0.01, 2.5, 5.0)
    verdict.judge(memorised, parent, 1000, 128)
    what, advice = memorised.warning.splitlines()
    assert "memorised" in what
    assert "--from shakespeare" in advice and "--preset tiny" in advice
    assert "--resume" not in advice
    stuck = _result(parent, 3.0, 3.0, 3.0)
    verdict.judge(stuck, parent)
    what, advice = stuck.warning.splitlines()
    assert "did not learn" in what and "--from shakespeare" in advice and "--resume" in advice


def test_verdicts_of_a_fine_tuned_run_say_less_budget_or_a_lower_rate(family):
    child = str(family["child"])
    config = json.loads((family["child"] / "config.json").read_text())
    rows = [json.loads(line) for line in (family["child"] / "metrics.jsonl").read_text()
            .splitlines()]
    best_step = min((r for r in rows if "val_loss" in r), key=lambda r: r["val_loss"])["step"]
    memorised = _result(child, 0.01, 2.5, 5.0)
    verdict.judge(memorised, child, 1000, 16)
    what, advice = memorised.warning.splitlines()
    assert "memorised" in what
    assert f"--from {family['parent']} --max-steps {best_step}" in advice
    lr = float(re.search(r"--set lr=([0-9.e+-]+)", advice).group(1))
    assert lr == pytest.approx(config["train"]["lr"] / 2, rel=0.05)
    assert "--preset" not in advice and "starter" not in advice
    stuck = _result(child, 3.0, 3.0, 3.0)
    verdict.judge(stuck, child)
    advice = stuck.warning.splitlines()[1]
    assert "--resume" in advice and "--preset" not in advice and "--from" not in advice


# --- the copy meter against the parent ---------------------------------------------------
def test_the_meter_finds_in_the_parents_corpus_what_the_new_one_lacks(family):
    child = family["child"]
    new_text = family["new"].read_text(encoding="utf-8")
    old_text = family["old"].read_text(encoding="utf-8")
    assert PHRASE in old_text and PHRASE not in new_text and NEW not in old_text
    own = longest_in(new_text, PHRASE)  # the whole new corpus: its training split holds less
    assert own < len(PHRASE) // 2
    theirs = novelty(child, PHRASE, against="parent")
    assert theirs.longest == len(PHRASE) and theirs.longest_text == PHRASE
    assert theirs.longest_source.endswith("old.txt, line 1")
    assert novelty(child, PHRASE).longest <= own
    # a symbol the parent never had is never a copy of its corpus, and does not end the match
    # elsewhere: the phrase between two of them is still found whole
    framed = novelty(child, NEW + PHRASE + NEW, against="parent")
    assert framed.longest == len(PHRASE)
    assert copied_spans(child, NEW + PHRASE + NEW, against="parent")[0][:2] == (1, 1 + len(PHRASE))


def test_a_parent_that_cannot_be_rebuilt_is_one_line_and_the_own_meter_works(orphans):
    for run, said in ((orphans["no_run"], "gone"), (orphans["no_corpus"], "deleted.txt")):
        with pytest.raises(CorpusError) as e:
            novelty(run, PHRASE, against="parent")
        assert said in str(e.value) and "\n" not in str(e.value)
        assert novelty(run, PHRASE).longest < len(PHRASE)  # against its own corpus


def test_a_run_from_scratch_has_no_parent_to_compare_with(family):
    with pytest.raises(cr.UserError, match="trained from scratch"):
        novelty(family["parent"], PHRASE, against="parent")


# --- the readers on a fine-tuned run -----------------------------------------------------
def test_evaluate_reports_copies_of_both_corpora(family, orphans, capsys):
    row = evaluate(family["child"], num=2, length=40)
    assert row["novelty"]["sampled"]["samples"] == 2
    assert set(row["parent_novelty"]) == {"sampled", "validation"}
    assert row["parent_novelty"]["sampled"]["samples"] == 2
    assert evaluate(family["child"], num=1, length=10, parent_copies=False)["parent_novelty"] == {}
    assert main(["evaluate", str(orphans["no_corpus"]), "--num", "1"]) == 0
    out = capsys.readouterr().out
    assert "copies of the training corpus (validation" in out  # its own still measured
    assert re.search(r"copies of the parent's training corpus: not measured: .*deleted\.txt",
                     out)


def test_sample_prints_the_meter_against_each_corpus(family, capsys):
    assert main(["sample", str(family["child"]), "--prime", PHRASE, "--length", "1",
                 "--seed", "1", "--novelty", "--novelty-parent"]) == 0
    lines = capsys.readouterr().out.splitlines()
    own = [line for line in lines if line.startswith("novelty:")]
    parent = [line for line in lines if line.startswith("parent's corpus: novelty:")]
    assert len(own) == 1 and len(parent) == 1
    longest = int(re.search(r"longest copy (\d+) tokens", parent[0]).group(1))
    assert longest >= len(PHRASE)  # the prime is the phrase, and the parent's corpus holds it


def test_the_studio_samples_and_marks_copies_of_either_corpus(family):
    client = studio_client(create_app([family["child"]]))
    r = client.post("/api/generate", json={"model": "child", "length": 20, "seed": 1})
    assert r.status_code == 200 and "event: done" in r.text
    theirs = client.post("/api/copied", json={"model": "child", "text": PHRASE,
                                              "against": "parent"})
    assert theirs.status_code == 200, theirs.text
    assert [(s["start"], s["end"]) for s in theirs.json()["spans"]] == [(0, len(PHRASE))]
    own = client.post("/api/copied", json={"model": "child", "text": PHRASE}).json()
    assert all(s["end"] - s["start"] < len(PHRASE) for s in own["spans"])
    bad = client.post("/api/copied", json={"model": "child", "text": PHRASE, "against": "x"})
    assert bad.status_code == 400 and "parent" in bad.json()["error"]


class _Out:
    """What Performer needs of an output port, without a MIDI system."""

    name, virtual = "fake", True

    def __init__(self):
        self.channels: set[int] = set()

    def send(self, msg):
        pass

    def all_off(self, channels=None):
        return 0


class _Timed:
    """A stand-in for the scheduler (as the studio gives one): keeps the timed messages."""

    error = None

    def __init__(self):
        self.sent: list[tuple[float, list[int]]] = []

    def at(self, when, msg):
        self.sent.append((when, msg))

    def pending(self):
        return 0

    def last_time(self):
        return self.sent[-1][0] if self.sent else 0.0

    def silence(self):
        return 0

    def close(self):
        return 0


def test_perform_answers_a_phrase_with_a_run_fine_tuned_from_folk(tmp_path):
    book = tmp_path / "book.abc"
    book.write_text(ABC_BOOK, encoding="utf-8")
    run = tmp_path / "jigs"
    cr.train(corpus=[str(book)], out=run, init_from="folk", max_steps=1, eval_every=1,
             checkpoint_every=1, progress_bar=False)
    assert json.loads((run / "config.json").read_text())["parent"]["name"] == "folk"
    timed = _Timed()
    performer = Performer(load_stepper(run, seed=1), _Out(), Settings(mode="call", wait=0.5,
                                                                      bars=1), scheduler=timed)
    t = time.perf_counter()
    for i, pitch in enumerate((67, 69, 71)):  # a phrase, then silence
        performer.handle([NOTE_ON, pitch, 100], t + 0.25 * i)
        performer.handle([NOTE_OFF, pitch, 0], t + 0.25 * i + 0.2)
    performer._drain(0)
    now = t + 1.5
    for _ in range(200):
        performer._tick(now)
        if any(kind == "answered" for kind, *_ in performer.events):
            break
        now += 0.25
    assert any(kind == "answered" for kind, *_ in performer.events)
    ons = [m[1] for _, m in timed.sent if m[0] & 0xF0 == NOTE_ON and m[2] > 0]
    offs = [m[1] for _, m in timed.sent if m[0] & 0xF0 == NOTE_OFF
            or (m[0] & 0xF0 == NOTE_ON and m[2] == 0)]
    assert ons and sorted(ons) == sorted(offs)  # an answer, every note of it ended
