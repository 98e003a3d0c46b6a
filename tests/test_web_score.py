"""The studio's score (web/score.py, music.js): POST /api/score engraves a sample as SVG, and
the Music view shows it under the piano roll, through an <img> (never as markup in the page),
with every note of the sample."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support_web import (
    LiveServer,
    chromium,
    needs_chromium,
    shared_runs,
    studio_client,
    studio_page,
    wait_until,
)
from test_codecs_score import REEL, REEL_NOTES  # a reel whose written notes all sound

import creative_rnn as cr
from creative_rnn.codecs import score
from creative_rnn.codecs.midi.music import MAX_PHRASE_TOKENS
from creative_rnn.codecs.vocab import NUM_SPECIAL
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
    out = dict(shared_runs(tmp_path_factory, startrek))
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


# --- limits: one score must not take the server ------------------------------------------------
def refused(r) -> str:
    """A 400 with a one-line message."""
    assert r.status_code == 400, r.text
    message = r.json()["error"]
    assert "\n" not in message
    return message


@pytest.fixture
def nothing_engraved(monkeypatch):
    def no_engraving(*args, **kwargs):
        raise AssertionError("the engraving started")

    for name in ("midi_svg", "score_svg", "_engrave"):
        monkeypatch.setattr(score, name, no_engraving)


def test_more_ids_than_the_studio_makes_refused_before_any_work(client, nothing_engraved):
    limits = client.app.state.studio.limits
    # the longest sample it makes: a prime of max_prime characters or a music phrase's tokens
    most = limits.max_length + max(limits.max_prime, MAX_PHRASE_TOKENS)
    r = client.post("/api/score", json={"model": "melody", "ids": [64] * (most + 1)})
    assert f"ids is too long: {most + 1} (the limit is {most})" in refused(r)


def test_too_many_notes_refused_before_any_work(client, nothing_engraved):
    ids = [NUM_SPECIAL + 60 + i % 12 for i in range(5_000)]  # a note on every step
    message = refused(client.post("/api/score", json={"model": "melody", "ids": ids}))
    assert f"too large to engrave: 5000 notes, and a score takes at most {score.MAX_NOTES}" \
        in message


def test_a_score_past_the_time_limit_is_a_clear_400(client, monkeypatch):
    monkeypatch.setattr(score, "TIME_LIMIT_S", 0.001)  # far less than any engraving takes
    codec = cr.load(client.app.state.studio.model("abc").run).codec
    r = client.post("/api/score", json={"model": "abc", "ids": codec.encode(REEL)})
    assert "longer than 0.001 s to engrave (the time limit)" in refused(r)
    r = client.get("/api/models")  # and the studio goes on
    assert r.status_code == 200


@pytest.fixture(scope="module")
def performance_run(tmp_path_factory):
    """A tiny performance run (untrained, really): only its codec matters here."""
    from creative_rnn.codecs.midi.io import Note, write_midi

    root = tmp_path_factory.mktemp("perfrun")
    for k in range(4):  # a folder of arpeggios in different keys
        write_midi([Note(48 + k + p, i * 0.25, i * 0.25 + 0.25, 80)
                    for i, p in enumerate((0, 4, 7, 12, 7, 4, 0))], root / "midi" / f"a{k}.mid")
    return cr.train(corpus=[str(root / "midi")], out=root / "performance", codec="performance",
                    preset="tiny", documents=True, hidden_size=16, embedding_size=8,
                    max_steps=3, eval_every=3, checkpoint_every=3, progress_bar=False).path


# Every performance event in turn (note-ons, note-offs, time shifts, velocities): about 4,000
# notes, up to 128 at once. Verovio took minutes of CPU on 20,000 such ids, holding the GIL.
HOSTILE = [NUM_SPECIAL + i % 388 for i in range(12_000)]


# The studio in a process of its own (so that a frozen server cannot hold up the test's own
# client): the hostile score passes the checks, raised here, so that Verovio gets to work on
# it, as it would on hostile music inside the limits; a file says when the engraving began.
SERVE = """
import sys
import uvicorn
from creative_rnn.codecs import score
from creative_rnn.web import Limits, create_app
from creative_rnn.web.guard import served_hosts

run, port, began = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for name in ("MAX_NOTES", "MAX_AT_ONCE", "MAX_QUARTERS"):
    setattr(score, name, 10**7)
score.TIME_LIMIT_S = 5.0
engrave = score._engrave

def watched(*args, **kwargs):
    open(began, "w").close()
    return engrave(*args, **kwargs)

score._engrave = watched
app = create_app([run], limits=Limits(max_length=20_000), hosts=served_hosts("127.0.0.1", port),
                 token="t")
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def test_the_server_answers_while_a_hostile_score_is_engraved(performance_run, tmp_path):
    """While Verovio works on a hostile score, other requests are answered, and the score
    ends at its time limit with a clear 400."""
    with socket.socket() as s:  # a free port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    began = tmp_path / "began"
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(performance_run), str(port),
                               str(began)])
    url, token = f"http://127.0.0.1:{port}", {"X-Studio-Token": "t"}
    try:
        with ThreadPoolExecutor(1) as pool, \
                httpx.Client(base_url=url, headers=token, timeout=600) as slow, \
                httpx.Client(base_url=url, headers=token, timeout=10) as quick:
            wait_until(lambda: _answers(quick), "the studio started", 300)
            hostile = pool.submit(slow.post, "/api/score",
                                  json={"model": "performance", "ids": HOSTILE})
            wait_until(lambda: began.exists() or hostile.done(), "the engraving began", 300)
            answered = 0
            while not hostile.done():  # a generous timeout: it answers in milliseconds
                assert quick.get("/api/models").status_code == 200
                answered += 1
            r = hostile.result()
    finally:
        server.kill()
        server.wait(60)
    assert answered >= 1
    assert "(the time limit)" in refused(r)


def _answers(client) -> bool:
    try:
        return client.get("/api/models").status_code == 200
    except httpx.TransportError:  # not listening yet
        return False


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
