"""The studio's score (web/score.py, music.js): POST /api/score engraves a sample as SVG, and
the Music view shows it under the piano roll, through an <img> (never as markup in the page),
with every note of the sample."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from support import SHARED
from support_web import (
    LiveServer,
    chromium,
    needs_chromium,
    shared_runs,
    studio_client,
    studio_page,
)
from test_codecs_score import REEL, REEL_NOTES  # a reel whose written notes all sound

import creative_rnn as cr
from creative_rnn.web import create_app
from creative_rnn.web.guard import served_hosts


def engraved_notes(svg: str) -> int:
    """Notes in Verovio's SVG: a <g class="note"> each, a note across a bar line two of them
    joined by one <g class="tie">."""
    root = ET.fromstring(svg)
    classes = [g.get("class", "").split() for g in root.iter("{http://www.w3.org/2000/svg}g")]
    return sum("note" in c for c in classes) - sum("tie" in c for c in classes)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, startrek):
    """The studio tests' tiny text and melody runs, and an ABC run whose vocabulary holds
    the reel (a few steps: only its codec matters here)."""
    out = dict(shared_runs(tmp_path_factory, startrek, SHARED))
    root = tmp_path_factory.mktemp("abcrun")
    (root / "book.abc").write_text(REEL.replace("X:1", "X:2") + "\n" + REEL, encoding="utf-8")
    out["abc"] = root / "abc"
    cr.train(corpus=[str(root / "book.abc")], out=out["abc"], codec="abc", preset="tiny",
             hidden_size=16, embedding_size=8, max_steps=4, eval_every=4, checkpoint_every=4,
             progress_bar=False)
    return out


@pytest.fixture(scope="module")
def client(runs):
    return studio_client(create_app([runs["text"], runs["melody"], runs["abc"]]))


def sample(client, model: str, length: int = 64, seed: int = 1) -> dict:
    r = client.post("/api/generate", json={"model": model, "length": length, "seed": seed})
    assert r.status_code == 200, r.text
    done = [b for b in r.text.split("\n\n") if b.startswith("event: done")]
    return json.loads(done[0].split("data: ", 1)[1])["samples"][0]


def test_score_of_a_melody_sample_has_its_notes(client):
    s = sample(client, "melody")
    assert s["notes"], "the tiny model played something"
    r = client.post("/api/score", json={"model": "melody", "ids": s["ids"]})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert "default-src 'none'" in r.headers["content-security-policy"]  # no scripts
    assert engraved_notes(r.text) == len(s["notes"])


def test_score_of_an_abc_tune_has_its_notes(client):
    codec = cr.load(client.app.state.studio.model("abc").run).codec
    ids = codec.encode(REEL)
    assert len(codec.notes(codec.decode(ids))) == 34
    r = client.post("/api/score", json={"model": "abc", "ids": ids})
    assert r.status_code == 200, r.text
    assert engraved_notes(r.text) == REEL_NOTES


def test_score_refuses_text_models_and_bad_ids(client):
    r = client.post("/api/score", json={"model": "text", "ids": [5, 6]})
    assert r.status_code == 400 and "not a music model" in r.json()["error"]
    r = client.post("/api/score", json={"model": "melody", "ids": [10**6]})
    assert r.status_code == 400 and "ids must be integers" in r.json()["error"]
    r = client.post("/api/score", json={"model": "melody", "ids": []})
    assert r.status_code == 400 and "no notes" in r.json()["error"]
    r = client.post("/api/score", json={"model": "nope", "ids": [1]})
    assert r.status_code == 404


# --- in a real browser -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(runs, tmp_path_factory):
    live = LiveServer()
    live.app = create_app([runs["melody"]], hosts=served_hosts("127.0.0.1", live.port))
    with live, chromium() as browser, studio_page(browser, live.url + "/") as page:
        yield page


def shown_score(page) -> dict:
    """The score's state once the page has its answer (drawn or failed, with the error)."""
    page.wait_for_function("['drawn', 'failed', 'none'].includes(window.studioMusic.score.state)")
    score = page.evaluate("window.studioMusic.score")
    assert score["state"] == "drawn", score
    return score


@needs_chromium
def test_the_music_view_draws_a_score_with_the_samples_notes(page, tmp_path_factory):
    page.select_option("#model", "melody")
    page.fill("#prime", "")
    page.fill("#length", "64")
    page.fill("#num", "2")
    page.fill("#seed", "1")
    page.click("#go")
    page.wait_for_function("window.studioMusic.drawn > 0")
    score = shown_score(page)
    assert score["sample"] == 0
    assert score["notes"] == page.evaluate("window.studioMusic.drawn")  # the roll's notes
    # drawn: an image of the SVG, decoded and laid out at the panel's width
    img = page.evaluate("(() => { const i = document.querySelector('#score');"
                        " const r = i.getBoundingClientRect();"
                        " return {src: i.src, complete: i.complete, w: r.width, h: r.height}; })()")
    assert img["src"].startswith("blob:") and img["complete"]
    assert img["w"] > 500 and img["h"] > 50
    assert page.locator("#music svg").count() == 0  # the SVG never entered the page as markup
    page.locator("#music").screenshot(path=tmp_path_factory.mktemp("shots") / "score.png")

    page.select_option("#music-sample", index=1)  # the other sample: its own score
    score = shown_score(page)
    assert score["sample"] == 1 and score["notes"] == page.evaluate("window.studioMusic.drawn")
