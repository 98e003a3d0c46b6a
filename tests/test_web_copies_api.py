"""Copied spans on every generated sample (web/copies.py): /api/generate's ``done`` event
places the copy meter's token spans in the shown text and on the piano roll's notes."""

from __future__ import annotations

import json

import pytest
from support import SHARED
from support_web import shared_runs, studio_client

from creative_rnn.web import create_app
from creative_rnn.web.copies import sample_copies

pytestmark = pytest.mark.usefixtures("one_thread")
LINE = "Where No Man Has Gone Before"  # line 3 of the Star Trek titles: in the training split


@pytest.fixture(scope="module")
def app(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek, SHARED)
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
    steps = gen.codec.read_items(SHARED / "melody" / "melodies.jsonl")[0]
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
    run = tmp_path / "run"
    cr.train(corpus=[str(corpus)], out=run, preset="tiny", hidden_size=8, embedding_size=4,
             max_steps=1, eval_every=1, checkpoint_every=1, progress_bar=False)
    corpus.write_text("another text now\n" * 50, encoding="utf-8")
    client = studio_client(create_app([run]))
    (sample,) = done(client, model="run", prime="Star", length=10)
    assert sample["copies"]["spans"] == []
    assert "changed since" in sample["copies"]["error"] and str(tmp_path) not in \
        sample["copies"]["error"]
