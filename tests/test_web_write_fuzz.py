"""Random JSON against the Write view's endpoints: whatever is sent, the studio answers with a
status below 500, and a refusal is a JSON object with a one-line "error"; other pages are
refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_web import LOCAL, shared_runs, studio_client

from creative_rnn.web import Limits, create_app

pytestmark = pytest.mark.usefixtures("one_thread")

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(10**30), 10**30)
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(st.characters(exclude_categories=()), max_size=20)
           | st.sampled_from(["text", "melody", "token", "word", "bar", "beam", "sample", ""]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=12)
FIELDS = ["model", "prime", "text", "k", "unit", "length", "method", "width", "temperature",
          "seed"]
objects = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), values, max_size=6)
plausible = st.fixed_dictionaries(
    {"model": st.sampled_from(["text", "melody", "nope"])},
    optional={"prime": st.text(max_size=10), "k": st.integers(-1, 12),
              "unit": st.sampled_from(["token", "word", "bar", "line", None]),
              "length": st.integers(-1, 40), "method": st.sampled_from(["beam", "sample", "x"]),
              "width": st.integers(-1, 70), "temperature": st.floats(-1, 6),
              "seed": st.integers(-3, 2**33)})
raw = st.sampled_from(['{"k": NaN}', '{"length": 1e400}', '{"model": "\\ud800"}', "", "{",
                       "null", "[]", "{}", '{"model": "text", "k": ' + "9" * 5000 + "}"])
bodies = st.one_of((objects | plausible).map(lambda v: json.dumps(v).encode()),
                   raw.map(str.encode), st.binary(max_size=48))


@pytest.fixture(scope="module")
def app(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    return create_app([runs["text"], runs["melody"]], limits=Limits(max_length=30))


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
def test_no_json_makes_continue_fail(app, body):
    r = studio_client(app).post("/api/continue", content=body,
                                headers={"content-type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        error = r.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error, r.text[:300]


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.text(max_size=40) | values)
def test_no_text_makes_copied_fail(app, text):
    # json.dumps, not the client's json=: it refuses NaN and infinity, which a page can send
    body = json.dumps({"model": "text", "text": text})
    r = studio_client(app).post("/api/copied", content=body,
                                headers={"content-type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert "\n" not in r.json()["error"]


@pytest.mark.parametrize("path", ["/api/continue", "/api/copied"])
def test_other_pages_and_forms_are_refused(app, path):
    client = studio_client(app)
    body = {"model": "text", "prime": "S", "text": "S"}
    body = {k: v for k, v in body.items() if (k == "text") == (path == "/api/copied")
            or k == "model"}
    for headers in ({"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"}):
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 403 and "other web pages" in r.json()["error"]
    form = client.post(path, data={"model": "text"})
    assert form.status_code in (400, 415) and "\n" not in form.json()["error"]
    ok = client.post(path, json=body, headers={"origin": LOCAL, "sec-fetch-site": "same-origin"})
    assert ok.status_code == 200, ok.text
