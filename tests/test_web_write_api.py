"""The Write view's API (web/write.py): proposals, their bounds, and the guard."""

from __future__ import annotations

import math

import pytest
from support import tiny_abc_run
from support_web import shared_runs, studio_client

from creative_rnn.web import Limits, create_app

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def app(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    return create_app(list(runs.values()), limits=Limits(max_generations=2))


@pytest.fixture(scope="module")
def client(app):
    return studio_client(app)


def propose(client, **body):
    r = client.post("/api/continue", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_text_model_proposes_words_with_their_probabilities(client, app):
    answer = propose(client, model="text", prime="Star T", k=4, unit="word", length=20)
    alts = answer["alternatives"]
    assert 1 <= len(alts) <= 4 and answer["unit"] == "word"
    assert [a["logprob"] for a in alts] == sorted((a["logprob"] for a in alts), reverse=True)
    assert sum(a["prob"] for a in alts) <= 1 + 1e-9
    for a in alts:
        assert a["prob"] == pytest.approx(math.exp(a["logprob"]))
        assert a["notes"] is None and a["text"]
    gen = app.state.studio.models["text"].gen  # the same as the Python call
    best = gen.continuations("Star T", k=4, unit="word", length=20)[0]
    assert alts[0]["ids"] == best.ids and alts[0]["text"] == best.text


def test_units_are_listed_per_model(client):
    units = client.get("/api/units").json()
    assert units["text"] == ["token", "word"] and "token" in units["melody"]


def test_a_music_model_proposes_bars_with_their_notes(client):
    unit = "bar" if "bar" in client.get("/api/units").json()["melody"] else None
    answer = propose(client, model="melody", prime="", k=3, unit=unit, length=16)
    alts = answer["alternatives"]
    assert alts and all(isinstance(a["notes"], list) for a in alts)
    assert any(a["notes"] for a in alts)
    for a in alts:
        for pitch, start, end, velocity in a["notes"]:
            assert 0 <= pitch < 128 and 0 <= start < end and 0 < velocity <= 127


def test_sampling_with_a_seed_repeats(client):
    body = dict(model="text", prime="The ", k=3, unit=None, length=6, method="sample",
                temperature=1.2, seed=5)
    assert propose(client, **body) == propose(client, **body)


@pytest.mark.parametrize("body, word", [
    ({"k": 0}, "k=0 is out of range"), ({"k": 11}, "k=11 is out of range"),
    ({"length": 0}, "length=0"), ({"length": 10**6}, "length=1000000"),
    ({"unit": "bar"}, "unit='bar'"), ({"method": "greedy"}, "method='greedy'"),
    ({"k": 5, "width": 2}, "width must"), ({"temperature": -1.0}, "temperature"),
    ({"prime": "x" * 5000}, "prime is too long"), ({"nope": 1}, "unknown field"),
    ({"model": "missing"}, "no model named"), ({"prime": "\u2603"}, "vocabulary"),
])
def test_bad_requests_are_one_line_json_errors(client, body, word):
    r = client.post("/api/continue", json={"model": "text", "prime": "Star", **body})
    assert r.status_code in (400, 404), r.text
    message = r.json()["error"]
    assert word in message and "\n" not in message


def test_the_guard_refuses_a_call_without_the_token(app):
    bare = studio_client(app)
    bare.headers.pop("X-Studio-Token")
    r = bare.post("/api/continue", json={"model": "text"})
    assert r.status_code == 403
    assert studio_client(app).get("/api/units").status_code == 200


def test_a_busy_studio_answers_429(client, app):
    counter = app.state.studio.generations
    counter.running = counter.limit
    try:
        r = client.post("/api/continue", json={"model": "text", "prime": "S"})
        assert r.status_code == 429 and "busy" in r.json()["error"]
    finally:
        counter.running = 0


def test_copied_spans_are_character_offsets_with_their_source(client):
    text = "my own words. Where No Man Has Gone Before"
    r = client.post("/api/copied", json={"model": "text", "text": text})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["chars"] is True and answer["spans"]
    longest = max(answer["spans"], key=lambda s: s["end"] - s["start"])
    assert text[longest["start"]:longest["end"]] == longest["text"]
    assert "Where No Man Has Gone Before" in longest["text"]
    assert longest["source"].startswith("startrekepisodes.txt")  # a file, never its folder
    assert "/" not in longest["source"]
    empty = client.post("/api/copied", json={"model": "text", "text": "  "}).json()
    assert empty == {"chars": True, "spans": []}


def test_copied_spans_of_music_are_token_offsets(client):
    r = client.post("/api/copied", json={"model": "melody", "text": "C4:4 E4:4 G4:8"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["chars"] is False
    for s in answer["spans"]:
        assert 0 <= s["start"] < s["end"] <= 16 and s["text"]


def test_copied_refuses_bad_input_in_one_line(client):
    for body, word in (({"model": "text"}, "missing field text"),
                       ({"model": "text", "text": "x" * 9000}, "text is too long"),
                       ({"model": "text", "text": 5}, "text must be str")):
        r = client.post("/api/copied", json=body)
        assert r.status_code == 400 and word in r.json()["error"], r.text




@pytest.fixture(scope="module")
def abc_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("writeabc")
    abc = tiny_abc_run(root, root / "abc", steps=10)
    return studio_client(create_app([abc], limits=Limits(max_generations=2)))


@pytest.mark.parametrize("prime", ["X:1\nM:6/8\nL:1/8\nK:D\n", "M:6/8\nK:D", "M:6/8"])
def test_an_abc_prime_of_headers_alone_gets_proposals(abc_client, prime):
    # it was a 400, "no notes in the tune", for every tune's opening before its first note
    answer = propose(abc_client, model="abc", prime=prime, k=3, unit="bar", length=40)
    assert answer["alternatives"]
    codec = abc_client.app.state.studio.models["abc"].gen.codec
    for a in answer["alternatives"]:  # the prime and a proposal read as one 6/8 tune
        tune = codec.decode(answer["prime_ids"] + a["ids"])
        assert "\nM:6/8\n" in tune and codec.tokenize(tune)[0] == "M:6/8", tune
