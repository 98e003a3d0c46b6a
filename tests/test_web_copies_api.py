"""Copied spans on every generated sample (web/copies.py): /api/generate's ``done`` event
places the copy meter's token spans in the shown text and on the piano roll's notes."""

from __future__ import annotations

import json

import pytest
from support import shared_file
from support_web import shared_runs, studio_client

from creative_rnn.web import create_app
from creative_rnn.web.copies import sample_copies

pytestmark = pytest.mark.usefixtures("one_thread")
LINE = "Where No Man Has Gone Before"  # line 3 of the Star Trek titles: in the training split


@pytest.fixture(scope="module")
def app(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    return create_app([runs["text"], runs["melody"]])


@pytest.fixture(scope="module")
def client(app):
    return studio_client(app)


def done(client, **body) -> list[dict]:
    r = client.post("/api/generate", json={"seed": 1, **body})
    assert r.status_code == 200, r.text
    block = next(b for b in r.text.split("\n\n") if b.startswith("event: done"))
    return json.loads(block.split("data: ", 1)[1])["samples"]


def test_a_copied_prime_is_placed_in_the_shown_text_with_its_source(client, app):
    (sample,) = done(client, model="text", prime="zq " + LINE, length=20)
    copies = sample["copies"]
    assert copies["error"] is None and copies["spans"]
    gen = app.state.studio.models["text"].gen
    shown = "".join(gen.codec.token_text(t) for t in sample["ids"])  # as the page shows it
    longest = max(copies["spans"], key=lambda s: s["end"] - s["start"])
    assert LINE in shown[longest["from"]:longest["to"]] == longest["text"]
    assert longest["source"] == "startrekepisodes.txt, line 3"  # a file, never its folder
    assert longest["notes"] is None  # text has no notes
    # the same spans as the meter's own call on the run
    assert [(s["start"], s["end"]) for s in copies["spans"]] == [
        (a, b) for a, b, _ in gen.copied_spans(ids=sample["ids"])]


def melody_prime(gen) -> str:
    """The first 48 steps from the first note of the first training melody, as a phrase."""
    steps = gen.codec.read_items(shared_file("melody/melodies.jsonl"))[0]
    first = next(i for i, v in enumerate(steps) if v < 128)
    return gen.codec.render(steps[first: first + 48])


def test_copied_notes_of_a_melody_are_the_notes_inside_a_span(client, app):
    gen = app.state.studio.models["melody"].gen
    (sample,) = done(client, model="melody", prime=melody_prime(gen), length=8)
    spans = sample["copies"]["spans"]
    assert spans and all(isinstance(s["notes"], list) for s in spans)
    marked = {k for s in spans for k in s["notes"]}
    assert len(marked) >= 5  # most of the prime's notes
    ranges = gen.codec.note_tokens(sample["ids"])
    assert len(ranges) == len(sample["notes"])  # one range per note the roll draws
    for s in spans:
        for k in s["notes"]:
            assert s["start"] <= ranges[k][0] < ranges[k][1] <= s["end"]
        assert s["source"].startswith("item 1 of melodies.jsonl, token ")
    assert sample["copies"] == sample_copies(gen, sample["ids"])


def test_a_run_whose_corpus_is_gone_still_generates(tmp_path, startrek):
    import shutil

    import creative_rnn as cr

    corpus = tmp_path / "titles.txt"
    shutil.copy(startrek, corpus)
    run = tmp_path / "titles"
    cr.train(corpus=[str(corpus)], out=run, preset="tiny", hidden_size=8, embedding_size=4,
             max_steps=1, eval_every=1, checkpoint_every=1, progress_bar=False)
    corpus.write_text("another text now\n" * 50, encoding="utf-8")
    client = studio_client(create_app([run]))
    (sample,) = done(client, model="titles", prime="Star", length=10)
    assert sample["copies"]["spans"] == []
    assert "changed since" in sample["copies"]["error"] and str(tmp_path) not in \
        sample["copies"]["error"]


# --- an ABC run: copied notes of a folk tune on the piano roll (AbcCodec.note_tokens) -------
# A jig with what makes ABC's notes more than one token each: accidentals, lengths, a broken
# rhythm, a tie across a bar line (one note of two), a grace note (no note), a chord (two notes
# of one span), a triplet and rests.
JIG = """X:1
T:Copied jig
M:6/8
L:1/8
K:G
|:D|G2B d>cB|A^GA B2-|B{c}BA G2z|[DF]3 (3DEF G:|
|:d|g2f e2d|=c2B A2G|F2A d2z|G3 G2:|
"""


@pytest.fixture(scope="module")
def abc_app(tmp_path_factory, startrek):
    """The text run, and a tiny ABC run whose training split holds the jig (the book has it
    twice, so one copy trains whatever the split)."""
    import creative_rnn as cr

    runs = shared_runs(tmp_path_factory, startrek)
    root = tmp_path_factory.mktemp("abccopies")
    book = root / "book.abc"
    book.write_text("\n".join(JIG.replace("X:1", f"X:{n}") for n in (1, 2, 3)),
                    encoding="utf-8")
    cr.train(corpus=[str(book)], out=root / "abc", codec="abc", preset="tiny", hidden_size=16,
             embedding_size=8, max_steps=4, eval_every=4, checkpoint_every=4,
             progress_bar=False)
    return create_app([runs["text"], root / "abc"])


def test_copied_notes_of_an_abc_tune_are_the_notes_inside_a_span(abc_app):
    client = studio_client(abc_app)
    gen = abc_app.state.studio.models["abc"].gen
    prime = JIG.split("K:G\n")[0] + "K:G\n" + JIG.split("K:G\n")[1].split("\n")[0]  # part A
    (sample,) = done(client, model="abc", prime=prime, length=4)
    spans = sample["copies"]["spans"]
    assert spans and all(isinstance(s["notes"], list) for s in spans)
    ranges = gen.codec.note_tokens(sample["ids"])
    assert ranges is not None and len(ranges) == len(sample["notes"])
    for s in spans:
        assert s["notes"] == [k for k, r in enumerate(ranges)
                              if s["start"] <= r[0] and r[1] <= s["end"]]
    # the longest copy is the primed part: its marked notes are that part's sounding notes,
    # the tied B one note, the grace note none, the chord two (its first note, whose interval
    # from a note before it the meter cannot know, may fall outside the span)
    longest = max(spans, key=lambda s: s["end"] - s["start"])
    part = [n[0] for n in gen.codec.notes(gen.codec.render(prime))]
    marked = [sample["notes"][k][0] for k in longest["notes"]]
    assert len(part) == 19 and marked == part[len(part) - len(marked):]
    assert len(marked) >= len(part) - 1
    assert sample["copies"] == sample_copies(gen, sample["ids"])


# --- an ensemble run: /api/copied answers in tokens (it was a 500: the codec has no tokenize) --
def test_copied_steps_of_an_ensemble_run_are_token_spans(tmp_path_factory):
    """Regression: /api/copied on an ensemble run answered 500 (write.py asked the codec for
    tokens it does not have, then the namer indexed a vocabulary that lists no token texts)."""
    from support import shared_file
    from support_web import ensemble_run

    from creative_rnn.data.cache import prepare
    from creative_rnn.novelty.index import train_pieces

    gestures = shared_file("gestures/metatone_gestures.jsonl")
    app = create_app([ensemble_run(tmp_path_factory.mktemp("ens"), gestures)])
    gen = app.state.studio.models["ensemble"].gen
    codec, train = gen.codec, gen.config["train"]
    store = prepare(gen.config["corpus"], codec, fit=False)
    a, _ = train_pieces(store, (train["val_fraction"], train["doc_max_len"]))[0]
    ids = [int(i) for i in store.ids[a + 100: a + 130]]  # 30 steps the run trained on
    text = codec.render(codec.decode(ids))  # as a person types them: a step a line
    r = studio_client(app).post("/api/copied", json={"model": "ensemble", "text": text})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["chars"] is False
    typed = codec.encode(text)
    # every step but the closing one (its predicted part is the text's last step, not the
    # corpus's next) is the corpus's: one span of them, its text the steps it holds
    longest = max(answer["spans"], key=lambda s: s["end"] - s["start"])
    assert longest["end"] - longest["start"] >= len(typed) - 2
    assert longest["text"] == "".join(codec.token_text(i)
                                      for i in typed[longest["start"]:longest["end"]])
    assert longest["source"].startswith("metatone_gestures.jsonl, token ")
    bad = studio_client(app).post("/api/copied", json={"model": "ensemble", "text": "1 2 x"})
    assert bad.status_code == 400 and "not a class" in bad.json()["error"]


def test_a_sample_does_not_wait_for_the_first_index_build(monkeypatch):
    """The first measure of a starter reads its whole corpus: the sample goes without marks
    and says why, and the build goes on for the samples after it."""
    import threading
    from types import SimpleNamespace

    from creative_rnn.web import copies

    release, calls = threading.Event(), []

    def slow_meter(gen, ids):
        calls.append(ids)
        release.wait(30)  # the index being built
        return [(0, 2, "a source")]

    codec = SimpleNamespace(token_text=lambda i: "ab"[i % 2], note_tokens=lambda ids: None)
    monkeypatch.setattr(copies, "copied_spans", slow_meter)
    monkeypatch.setattr(copies, "WAIT_S", 0.2)
    first = copies.sample_copies(SimpleNamespace(codec=codec), [0, 1, 0])
    assert first == {"spans": [], "error": copies.INDEXING}
    release.set()
    monkeypatch.setattr(copies, "WAIT_S", 30)
    second = copies.sample_copies(SimpleNamespace(codec=codec), [1, 0])
    assert second["error"] is None and second["spans"][0]["text"] == "ba"
    assert calls == [[0, 1, 0], [1, 0]]  # the first build finished; the second measured
