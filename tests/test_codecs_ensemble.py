"""The ensemble codec (mixed radix), its loaders, and the gesture model on the metatone data."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support import shared_file

import creative_rnn as cr
from creative_rnn import codecs
from creative_rnn.codecs.ensemble import EnsembleError, pack, read_performances, unpack
from creative_rnn.data.cache import prepare
from creative_rnn.errors import CorpusError
from creative_rnn.live import load_stepper

GESTURES = "gestures/metatone_gestures.jsonl"


@st.composite
def digits(draw, max_n: int = 6):
    k = draw(st.integers(2, 12))
    n = draw(st.integers(1, max_n))
    return k, draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))


@settings(deadline=None)  # pure arithmetic; no timing assertions on a busy CI
@given(digits())
def test_mixed_radix_round_trips_for_any_sizes(kv):
    k, values = kv
    code = pack(values, k)
    assert 0 <= code < k ** len(values)
    assert unpack(code, len(values), k) == values  # same values, same order


@settings(deadline=None)
@given(digits(), digits())
def test_mixed_radix_is_order_preserving_and_injective(a, b):
    (k, x), (_, y) = a, b
    y = [v % k for v in y][: len(x)] + [0] * max(0, len(x) - len(y))
    # the code orders steps like the reversed digit tuple: the last performer is the most
    # significant digit, so two different steps never share a symbol
    assert (pack(x, k) < pack(y, k)) == (x[::-1] < y[::-1])
    assert (pack(x, k) == pack(y, k)) == (x == y)


@settings(deadline=None)
@given(st.integers(2, 9), st.lists(st.integers(-3, 20), min_size=1, max_size=5))
def test_out_of_range_values_are_named(k, values):
    if all(0 <= v < k for v in values):
        assert unpack(pack(values, k), len(values), k) == values
        return
    bad = next(v for v in values if not 0 <= v < k)
    with pytest.raises(EnsembleError, match=f"value {bad} at position .* outside 0..{k - 1}"):
        pack(values, k)
    with pytest.raises(EnsembleError, match="outside"):
        unpack(k ** len(values), len(values), k)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_codec_round_trip_and_targets(data):
    performers = data.draw(st.integers(2, 4))
    k = data.draw(st.integers(2, 5))
    lead = data.draw(st.lists(st.integers(0, performers - 1), min_size=1, max_size=1,
                              unique=True))
    codec = codecs.get("ensemble", performers=performers, classes=k, lead=lead)
    perf = data.draw(st.lists(st.lists(st.integers(0, k - 1), min_size=performers,
                                       max_size=performers), min_size=1, max_size=12))
    ids = codec.encode([perf])
    assert len(ids) == len(perf) + 1 and all(4 <= i < codec.vocab_size for i in ids)
    order = codec.lead + codec.predict
    assert codec.decode(ids) == [[[s[i] for i in order] for s in perf]]
    # the model's target for step t is the predicted performers' values at step t
    table = codec.target_table()
    for t, step in enumerate(perf):
        assert table[ids[t + 1]] == pack([step[i] for i in codec.predict], k)
    assert codec.output_size == k ** (performers - 1)


def test_defaults_reproduce_the_gesture_rnn():
    codec = codecs.get("ensemble")
    assert (codec.lead, codec.predict) == ([0], [1, 2, 3])
    assert codec.vocab_size == 4 + 9**4 and codec.output_size == 9**3
    again = codecs.from_json(json.loads(json.dumps(codec.to_json())))
    assert again.encode([[[1, 2, 3, 4]]]) == codec.encode([[[1, 2, 3, 4]]])
    with pytest.raises(EnsembleError, match="value 9 at position 2"):
        codec.encode([[[0, 1, 9, 2]]])
    with pytest.raises(EnsembleError, match="3 values; this ensemble has 4"):
        codec.encode([[[0, 1, 2]]])
    with pytest.raises(cr.UserError, match="distinct"):
        codecs.get("ensemble", lead=[0], predict=[0, 1])


def test_augmentation_permutes_only_the_predicted_performers():
    codec = codecs.get("ensemble", augment=True)
    ids = codec.encode([[[5, 1, 2, 3], [6, 3, 2, 1]]])
    perfs = [codec.decode_performance(ids[i: i + 3]) for i in range(0, len(ids), 3)]
    assert len(perfs) == 6 and len({json.dumps(p) for p in perfs}) == 6
    for p in perfs:
        assert [s[0] for s in p] == [5, 6]  # the lead stays
        assert sorted(p[0][1:]) == [1, 2, 3]


def test_loaders_skip_count_and_filter(tmp_path, capsys):
    jl = tmp_path / "perfs.jsonl"
    jl.write_text("\n".join(json.dumps(o) for o in [
        {"type": "improvisation", "gestures": [[0, 1], [2, 3]]},
        {"type": "composition", "gestures": [[0, 1], [1, 1]]},
        {"type": "improvisation", "gestures": [[0, 1, 2]]},
    ]) + "\n")
    perfs, skipped = read_performances(jl, 2)
    assert len(perfs) == 2 and skipped == {"3 performers": 1}
    perfs, skipped = read_performances(jl, 2, where={"type": "improvisation"})
    assert perfs == [[[0, 1], [2, 3]]] and skipped == {"filtered": 1, "3 performers": 1}
    codec = codecs.get("ensemble", performers=2, classes=4)
    assert codec.read(jl) == [[[0, 1], [2, 3]], [[0, 1], [1, 1]]]
    assert "skipped 1 with 3 performers" in capsys.readouterr().err
    csv = tmp_path / "duo.csv"
    csv.write_text("lead,other\n0,1\n3,2\n")
    assert codec.read(csv) == [[[0, 1], [3, 2]]]
    csv.write_text("0,1\n3,x\n")
    with pytest.raises(CorpusError, match="one integer per performer"):
        codec.read(csv)
    with pytest.raises(EnsembleError, match="value 5"):
        codecs.get("ensemble", performers=2, classes=4).read(_write(tmp_path, [[0, 5]]))


def _write(tmp_path, steps):
    p = tmp_path / "one.jsonl"
    p.write_text(json.dumps({"gestures": steps}) + "\n")
    return p


@pytest.fixture(scope="module")
def gesture_run(tmp_path_factory):
    path = shared_file(GESTURES)
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: one thread is faster than two contending
    try:
        out = tmp_path_factory.mktemp("ens") / "gestures"
        result = cr.train(corpus=[str(path)], out=out, codec=codecs.get("ensemble"),
                          preset="tiny", hidden_size=64, lr=1e-2, max_steps=200,
                          eval_every=100, progress_bar=False)
    finally:
        torch.set_num_threads(n)
    return path, out, result


def test_gesture_model_beats_the_unigram_baseline(gesture_run):
    path, out, result = gesture_run
    codec = codecs.get("ensemble")
    store = prepare({"sources": [str(path)], "documents": False, "unit": "line"}, codec, True)
    train_split, val_split = store.split(0.1, 1024)
    table = codec.target_table()
    y_train, y_val = table[train_split.stream[1:]], table[val_split.stream[1:]]
    counts = np.bincount(y_train[y_train >= 0], minlength=codec.output_size) + 1.0
    unigram = -np.log((counts / counts.sum())[y_val[y_val >= 0]]).mean()
    assert result.best_val_loss < unigram - 0.3, (result.best_val_loss, unigram)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["vocab_size"] == 6565 and cfg["model"]["output_size"] == 729


def test_perform_answers_every_lead_within_range(gesture_run):
    stepper = load_stepper(gesture_run[1], seed=3, temperature=1.0)
    leads = [g for g in range(9) for _ in range(3)]
    answers = list(stepper.play(leads))
    assert len(answers) == len(leads)
    assert all(len(a) == 3 and all(0 <= v <= 8 for v in a) for a in answers)
    assert stepper.previous == answers[-1]  # fed back as the ensemble's last step


def test_readers_of_an_ensemble_run(gesture_run):
    from creative_rnn.report import evaluate

    _, out, result = gesture_run
    row = evaluate(out)  # validation loss on output classes, no free-running samples
    assert row["val_loss"] == pytest.approx(result.best_val_loss, abs=1e-3)
    with pytest.raises(cr.SamplingError, match="creative-rnn perform"):
        cr.load(out, device="cpu").generate(length=5)


def test_train_cli_takes_codec_options(tmp_path, capsys):
    from creative_rnn.cli import main

    path = shared_file(GESTURES)
    out = tmp_path / "duo"
    assert main(["train", str(path), "--codec", "ensemble", "--codec-opt", "performers=2",
                 "--codec-opt", 'where={"type": "improvisation"}', "--out", str(out),
                 "--preset", "tiny", "--set", "hidden_size=16", "--max-steps", "2",
                 "--quiet"]) == 0
    assert "filtered out" in capsys.readouterr().err
    cfg = json.loads((out / "codec.json").read_text())
    assert cfg["options"]["performers"] == 2 and cfg["options"]["predict"] == [1]
    assert main(["train", str(path), "--codec", "ensemble", "--codec-opt", "lead",
                 "--out", str(tmp_path / "x")]) == 2


# --- bounded input (issue 20) ---------------------------------------------------------------
def test_the_text_form_is_one_step_a_line():
    """What ``render`` prints (and a --call, --input or prime is typed as): one step a line,
    one value per performer; it encodes as the same performance."""
    codec = codecs.get("ensemble")
    perf = [[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 0, 8]]
    text = codec.render([perf])
    assert text == "1 2 3 4\n5 6 7 8\n0 0 0 8"
    assert codec.encode(text) == codec.encode([perf])
    assert codec.encode("1,2,3,4\n\n 5 6 7 8 \n0 0 0 8\n") == codec.encode([perf])


@pytest.mark.parametrize("text, match", [
    ("1 2 3", "3 values; this ensemble has 4"),
    ("1 2 x 4", "'x'"),
    ("1 2 3 " + "9" * 5000, "value"),
    ("1 2 3 -1", "value"),
    ("1 2 3 9", "value 9"),
    ("0 0 0 0\n" * (200_001), "steps"),
])
def test_bad_text_is_a_one_line_error(text, match):
    with pytest.raises(EnsembleError, match=match) as e:
        codecs.get("ensemble").encode(text)
    assert "\n" not in str(e.value) and len(str(e.value)) < 200


@pytest.mark.parametrize("options, match", [
    ({"performers": 10**9}, "performers"),
    ({"performers": 0}, "performers"),
    ({"performers": "4"}, "performers"),
    ({"classes": 10**9}, "classes"),
    ({"classes": 1.5}, "classes"),
    ({"lead": "abc"}, "lead"),
    ({"lead": [10**30]}, "lead"),
    ({"predict": [1, "x"]}, "predict"),
    ({"performers": 9, "augment": True}, "arrangements"),
    ({"augment": "sometimes"}, "augment"),
    ({"where": "type=x"}, "where"),
])
def test_codec_options_are_bounded_before_any_work(options, match):
    """--codec-opt values: a one-line UserError, before a list of 10**9 performers is built."""
    with pytest.raises(cr.UserError, match=match) as e:
        codecs.get("ensemble", **options)
    assert "\n" not in str(e.value)


def test_live_values_are_bounded():
    codec = codecs.get("ensemble")
    with pytest.raises(EnsembleError, match="integers") as e:
        codec.live_input(["9" * 5000], None)
    assert len(str(e.value)) < 200


NEAR_TEXT = st.lists(st.lists(st.one_of(st.integers(-2, 12).map(str),
                                        st.sampled_from(["x", "", "1.5", "٣", "9" * 5000])),
                              min_size=0, max_size=6).map(" ".join), max_size=30).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=200), NEAR_TEXT), performers=st.integers(2, 4))
def test_fuzzed_primes_give_bounded_valid_ids_or_a_user_error(text, performers):
    codec = codecs.get("ensemble", performers=performers)
    try:
        ids = codec.encode(text)
    except cr.UserError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert len(ids) <= text.count("\n") + 2  # one id a step and a closing one
    assert all(isinstance(i, int) and 4 <= i < codec.vocab_size for i in ids)


# --- every performer as the lead (issue 15) -------------------------------------------------
def arrangements(codec, perf):
    """The performances the codec trains on for one performance, in its seat order."""
    ids = codec.encode([perf])
    n = len(perf) + 1  # one id a step and a closing one
    return [codec.decode_performance(ids[i: i + n]) for i in range(0, len(ids), n)]


def test_augment_all_rotates_the_lead_as_the_gesture_rnn_notebook_does():
    """augment="all": each performer in turn is the lead, with every order of the others
    (the course's notebook: for each lead j, permutations(the other three)) = 4! = 24."""
    perf = [[1, 2, 3, 4], [5, 6, 7, 8], [0, 2, 4, 6]]
    columns = [tuple(s[i] for s in perf) for i in range(4)]  # each performer's part
    codec = codecs.get("ensemble", augment="all")
    seen = arrangements(codec, perf)
    assert len(seen) == 24 and len({json.dumps(p) for p in seen}) == 24
    leads = [tuple(s[0] for s in p) for p in seen]
    assert sorted(leads) == sorted(columns * 6)  # every performer leads, 6 times each
    for p in seen:  # each arrangement is the same four parts in another seating
        assert sorted(tuple(s[i] for s in p) for i in range(4)) == sorted(columns)
    # packing and targets are those of the plain codec: the lead is the least significant
    # digit, the target of a step is the predicted performers' values
    plain = codecs.get("ensemble")
    assert (codec.vocab_size, codec.output_size) == (plain.vocab_size, plain.output_size)
    assert (codec.target_table() == plain.target_table()).all()
    assert codec.encode([perf])[: len(perf) + 1] == plain.encode([perf])
    assert len(arrangements(codecs.get("ensemble", augment=True), perf)) == 6  # as before
    again = codecs.from_json(json.loads(json.dumps(codec.to_json())))
    assert again.options["augment"] == "all" and again.encode([perf]) == codec.encode([perf])


def test_augment_all_counts_on_the_course_quartets():
    path = shared_file(GESTURES)
    codec = codecs.get("ensemble", augment="all", where={"performers": 4})
    quartets = codec.read(path)
    assert len(quartets) == 61
    steps = sum(len(p) for p in quartets)
    ids = codec.encode(quartets)
    assert len(ids) == 24 * (steps + len(quartets))  # 24 arrangements of every quartet
    duo = codecs.get("ensemble", performers=2, augment="all")
    assert len(arrangements(duo, [[1, 2], [3, 4]])) == 2  # a duo: each player leads once


def test_where_selects_by_sets_and_ranges_as_the_course_does():
    """The course trains on improvisations that were not demonstrations: a set and a range
    select the same performances as plain Python over the metadata of the real file."""
    path = shared_file("gestures/metatone_gestures.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    where = {"type": "improvisation", "context": {"not": ["demonstration", "study"]},
             "length_seconds": {"min": 60, "max": 3600}}
    expected = [r["gestures"] for r in rows if r["performers"] == 4 and
                r["type"] == "improvisation" and r["context"] not in ("demonstration", "study")
                and 60 <= r["length_seconds"] <= 3600]
    perfs, skipped = read_performances(path, 4, where=where)
    assert perfs == expected and 0 < len(perfs) < 61
    one_of = {"context": ["rehearsal", "performance"]}
    perfs, _ = read_performances(path, 4, where=one_of)
    assert perfs == [r["gestures"] for r in rows if r["performers"] == 4
                     and r["context"] in ("rehearsal", "performance")]


@pytest.mark.parametrize("where", [{"length_seconds": {"min": "a"}}, {"x": {"between": 1}},
                                   {"x": {}}, {1: "a"}, ["type"]])
def test_a_bad_where_condition_is_one_line_naming_it(where):
    with pytest.raises(cr.UserError, match="where") as e:
        codecs.get("ensemble", where=where)
    assert "\n" not in str(e.value)
