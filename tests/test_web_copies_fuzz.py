"""Random input against the copy routes: /api/copied on every kind of run (text, music, an
ensemble) answers below 500 with a one-line refusal or spans inside the text sent; the copies
on a generated sample (web/copies.py) are placed inside its ids and shown text, whatever ids
it holds."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import shared_file
from support_web import ensemble_run, shared_runs, studio_client

from creative_rnn.web import Limits, create_app
from creative_rnn.web.copies import sample_copies

pytestmark = pytest.mark.usefixtures("one_thread")
MODELS = ["text", "melody", "ensemble"]


@pytest.fixture(scope="module")
def app(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    ensemble = ensemble_run(tmp_path_factory.mktemp("ens"),
                            shared_file("gestures/metatone_gestures.jsonl"))
    return create_app([runs["text"], runs["melody"], ensemble], limits=Limits(max_length=30))


scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(st.characters(exclude_categories=()), max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
# what each model's text looks like, so the meter runs, not only the checks before it: title
# words, melody phrases, ensemble steps (a step a line, in and out of range)
plausible = (st.text(st.sampled_from("The Man Trap Charlie X\n~"), max_size=60)
             | st.lists(st.sampled_from(["C4:4", "E4:2", "G4", "r:4", "C#5:1", "x"]),
                        max_size=12).map(" ".join)
             | st.lists(st.lists(st.integers(-1, 10), min_size=3, max_size=5), max_size=12)
             .map(lambda steps: "\n".join(" ".join(map(str, s)) for s in steps)))


@settings(max_examples=120, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS + ["nope"]),
       text=plausible | st.text(max_size=40) | values)
def test_no_text_makes_copied_fail_on_any_run(app, model, text):
    body = json.dumps({"model": model, "text": text})  # json.dumps: NaN as a page sends it
    r = studio_client(app).post("/api/copied", content=body,
                                headers={"content-type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text[:300])
    answer = r.json()
    if r.status_code >= 400:
        error = answer["error"]
        assert isinstance(error, str) and error and "\n" not in error
        return
    assert isinstance(text, str)
    for span in answer["spans"]:
        assert 0 <= span["start"] < span["end"]
        if answer["chars"]:  # character offsets: the span is the text sent
            assert span["text"] == text[span["start"]:span["end"]]


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(model=st.sampled_from(["text", "melody"]), data=st.data())
def test_copies_of_any_sample_lie_inside_it(app, model, data):
    gen = app.state.studio.models[model].gen
    ids = data.draw(st.lists(st.integers(0, gen.codec.vocab_size - 1), max_size=60))
    copies = sample_copies(gen, ids)
    assert copies["error"] is None
    texts = [gen.codec.token_text(i) for i in ids]
    shown = "".join(texts)
    for span in copies["spans"]:
        assert 0 <= span["start"] < span["end"] <= len(ids)
        assert shown[span["from"]:span["to"]] == span["text"] \
            == "".join(texts[span["start"]:span["end"]])
