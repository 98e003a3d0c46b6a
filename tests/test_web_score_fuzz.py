"""Random requests to POST /api/score (web/score.py): whatever is sent, the studio answers
with a score or a one-line refusal, never a server error, and the next request is answered."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support_web import shared_runs, studio_client
from test_codecs_score import REEL

import creative_rnn as cr
from creative_rnn.web import Limits, create_app

LIMITS = Limits(max_length=40, max_prime=40)  # ids past 80 are refused before any work

# ids of every kind: in and out of each model's vocabulary, notes, rests, specials, junk
ids = st.lists(st.integers(-3, 400) | st.sampled_from([0, 1, 2, 3, 64, 128, 129, 133]),
               max_size=90)
# ids each model reads, so that many requests reach the engraving: melody's 134 classes, and
# the first ids of the ABC run's vocabulary (the reel's tokens)
in_range = (st.tuples(st.just("melody"), st.lists(st.integers(0, 133), max_size=90))
            | st.tuples(st.just("abc"), st.lists(st.integers(0, 20), max_size=90)))
plausible = (st.fixed_dictionaries({"model": st.sampled_from(["melody", "abc", "text", "nope"]),
                                    "ids": ids})
             | in_range.map(lambda m: {"model": m[0], "ids": m[1]}))
junk = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
        | st.text(max_size=20) | st.lists(st.integers(), max_size=4))
objects = st.dictionaries(st.sampled_from(["model", "ids", "format"]) | st.text(max_size=6),
                          junk | ids, max_size=3)
bodies = st.one_of(
    (plausible | objects).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"", b"{", b"null", b"[]", b'{"model": "melody", "ids": [1e400]}',
                     b'{"model": "melody", "ids": [NaN]}']),
    st.binary(max_size=40),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    root = tmp_path_factory.mktemp("abcfuzz")  # an ABC run whose vocabulary holds the reel
    (root / "book.abc").write_text(REEL.replace("X:1", "X:2") + "\n" + REEL, encoding="utf-8")
    cr.train(corpus=[str(root / "book.abc")], out=root / "abc", codec="abc", preset="tiny",
             hidden_size=16, embedding_size=8, max_steps=4, eval_every=4, checkpoint_every=4,
             progress_bar=False)
    return studio_client(create_app([runs["text"], runs["melody"], root / "abc"],
                                    limits=LIMITS))


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=bodies)
def test_no_score_request_makes_the_server_fail(client, body):
    r = client.post("/api/score", content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text[:300])
    event(f"status {r.status_code}")  # --hypothesis-show-statistics: scores and refusals
    if r.status_code == 200:
        root = ET.fromstring(r.text)  # one well-formed SVG picture
        assert root.tag.endswith("svg") and root.get("viewBox")
    else:
        error = r.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error, r.text[:300]
        assert "Traceback" not in error
    assert client.app.state.studio.generations.running == 0  # its slot was given back
