"""Random JSON against every endpoint that reads a body: whatever is sent, the studio answers
with a status below 500, and a refusal is a JSON object with a one-line "error"."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_web import shared_runs, studio_client

from creative_rnn.web import Limits, create_app

PATHS = ["/api/generate", "/api/export", "/api/activations", "/api/train",
         "/api/train/nope/stop"]
FIELDS = ["model", "prime", "temperature", "top_k", "top_p", "length", "num", "seed", "greedy",
          "ids", "format", "name", "corpus"]

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(10**60), 10**60)
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(st.characters(exclude_categories=()), max_size=30)
           | st.sampled_from(["text", "txt", "mid", "wav", "folk", "", "\n", "../x"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=6)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
objects = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=6)
# plausible requests too, so the checks past the types run (ranges, vocabularies, codecs)
plausible = st.fixed_dictionaries(
    {"model": st.sampled_from(["text", "melody", "nope"])},
    optional={"ids": st.lists(st.integers(-5, 300), max_size=40),
              "format": st.sampled_from(["txt", "mid", "abc", "wav", "exe"]),
              "length": st.integers(-3, 30), "num": st.integers(-1, 3),
              "prime": st.text(max_size=12), "temperature": st.floats(-1, 10),
              "top_k": st.integers(-2, 50), "top_p": st.floats(-1, 2),
              "seed": st.integers(-5, 2**40), "greedy": st.booleans()})
# bodies no encoder writes: deep nesting, long integers, bare NaN, broken text
raw = st.one_of(
    st.integers(1, 40_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 6_000).map(lambda n: '{"model": "text", "seed": ' + "7" * n + "}"),
    st.sampled_from(['{"temperature": NaN}', '{"top_p": -Infinity}', '{"length": 1e400}',
                     '{"model": "\\ud800"}', "", "{", "null", '"text"', "[]", "{}"]),
)
bodies = st.one_of(
    (objects | plausible | values).map(lambda v: json.dumps(v).encode()),
    raw.map(str.encode),
    st.binary(max_size=64),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    app = create_app([runs["text"], runs["melody"]], runs_dir=tmp_path_factory.mktemp("fuzz"),
                     limits=Limits(max_length=30, max_num=3, max_trainings=0))
    return studio_client(app)


@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(path=st.sampled_from(PATHS), body=bodies)
def test_no_json_makes_the_server_fail(client, path, body):
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error, r.text[:300]
        assert "Traceback" not in error
