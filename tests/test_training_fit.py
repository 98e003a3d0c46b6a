"""A preset that fits the machine (training/fit.py): with a time budget on the CPU, `small`
takes the first rung (2x384 at batch 64, then the widths at batch 32) whose measured step leaves
enough steps in the budget."""

import dataclasses
import json
import math

import pytest
import torch

import creative_rnn as cr
from creative_rnn.config_layers import given_layers, resolve, resolve_layers
from creative_rnn.training import fit as fitting

CPU = torch.device("cpu")


BIG = 64  # the batch a fast machine takes (fitting.BIG_BATCH["small"]); the preset's is 32


def timer_for(ms_per_width, big=None):
    """A stand-in for step_seconds: a machine whose step at each width (batch 32) takes these
    ms, and ``big`` ms for the tuned width at batch 64 (twice the 384 step when not given)."""
    calls = []

    def timer(model_cfg, train_cfg, device):
        calls.append((model_cfg.hidden_size, train_cfg.batch_size))
        if train_cfg.batch_size == BIG:
            return (big or 2 * ms_per_width[model_cfg.hidden_size]) / 1e3
        return ms_per_width[model_cfg.hidden_size] / 1e3

    return timer, calls


def still():
    """A stand-in clock on which no time passes (the stand-in timers take none)."""
    return 0.0


def small(minutes=10.0, **overrides):
    return resolve("small", None, {"max_minutes": minutes, **overrides})


def fitted(minutes=10.0, pinned=(), **kw):
    """`small` with a time budget fitted by ``fitting.fit(**kw)`` as train() does: its
    layers given to the resolver. Returns the configs before, after, and the sources."""
    before = resolve_layers(*given_layers("small", None, {"max_minutes": minutes}))
    layers = fitting.fit("small", before.model, before.train, CPU, set(pinned), **kw)
    after = before.then(*layers)
    return before, after.model, after.train, after.sources


@pytest.mark.parametrize("ms, want, timed", [
    # as fast as the machine the preset was tuned on: 300 ms at batch 64 leaves 2,000 steps,
    # so the tuned width at the tuned batch
    ({384: 150, 320: 120, 256: 90, 192: 60}, 384, [384]),
    # twice as slow (an AVX2 laptop in fp32): 300 ms leaves 2,000 steps, 256 leaves 3,333
    ({384: 300, 320: 240, 256: 180, 192: 120}, 256, [384, 320, 256]),
    # nothing fits: the narrowest
    ({384: 900, 320: 800, 256: 700, 192: 600}, 192, [384, 320, 256, 192]),
])
def test_the_widest_width_with_enough_steps_in_the_budget(ms, want, timed):
    timer, calls = timer_for(ms)
    lines = []
    before, chosen, train, sources = fitted(log=lines.append, timer=timer, clock=still)
    model_cfg, train_cfg = before.model, before.train
    assert (model_cfg.hidden_size, train_cfg.batch_size) == (384, 32)  # the tuned recipe
    assert chosen.hidden_size == want and train.batch_size == 32
    # the resolver records each fitted value with its reason, the measurements included
    assert sources["hidden_size"].startswith("fitted to the machine: a training step")
    assert f"{want}x32: {ms[want]} ms" in sources["hidden_size"]
    assert sources["max_minutes"] == "fitted to the machine: fitting took 0 s of the 10 min"
    assert sources["num_layers"] == "preset small"
    assert calls == [(384, BIG)] + [(w, 32) for w in timed]
    steps = train_cfg.max_minutes * 60 / (ms[want] / 1e3)
    assert steps >= fitting.MIN_STEPS or want == fitting.LADDER["small"][-1]
    # what it is about to do, before the timing; then what it chose, with the measurements
    assert len(lines) == 2 and "fitting preset small" in lines[0] and "2x384" in lines[0]
    assert all(f"{w}x32: {ms[w]} ms" in lines[1] for w in timed)
    assert f"2x{want}, batch 32" in lines[1]
    # everything else of the preset stays
    assert {k: v for k, v in vars(chosen).items() if k != "hidden_size"} == \
        {k: v for k, v in vars(model_cfg).items() if k != "hidden_size"}
    assert train == train_cfg


def test_a_fast_machine_takes_the_bigger_batch():
    # AMX: 2x384 at batch 64 in 125 ms leaves 4,800 steps in 10 minutes
    timer, calls = timer_for({384: 80, 320: 70, 256: 60, 192: 50}, big=125)
    lines = []
    before, chosen, train, _ = fitted(log=lines.append, timer=timer, clock=still)
    model_cfg, train_cfg = before.model, before.train
    assert (chosen.hidden_size, train.batch_size) == (384, BIG) and calls == [(384, BIG)]
    assert chosen == model_cfg and "batch 64" in lines[1] and "384x64: 125 ms" in lines[1]
    assert {k: v for k, v in vars(train).items() if k != "batch_size"} == \
        {k: v for k, v in vars(train_cfg).items() if k != "batch_size"}


def test_a_longer_budget_keeps_the_tuned_width_on_a_slow_machine():
    timer, _ = timer_for({384: 300, 320: 240, 256: 180, 192: 120})
    _, chosen, train, _ = fitted(minutes=60, timer=timer)
    # 60 min at 600 ms (batch 64) is 6,000 steps: a long budget takes the bigger batch too
    assert chosen.hidden_size == 384 and train.batch_size == BIG


@pytest.mark.parametrize("pinned, ms, want, timed", [
    # the width pinned: only the batch is chosen, at that width
    ({"hidden_size"}, {384: 80}, (384, BIG), [(384, BIG)]),
    ({"hidden_size"}, {384: 300}, (384, 32), [(384, BIG), (384, 32)]),
    # the batch pinned: only the width, at that batch
    ({"batch_size"}, {384: 300, 320: 240, 256: 180, 192: 120}, (256, 32),
     [(384, 32), (320, 32), (256, 32)]),
])
def test_a_pinned_key_is_kept_and_the_other_fitted(pinned, ms, want, timed):
    timer, calls = timer_for(ms)
    _, chosen, train, _ = fitted(pinned=pinned, timer=timer)
    assert (chosen.hidden_size, train.batch_size) == want and calls == timed


@pytest.mark.parametrize("case", ["pinned", "no budget", "gpu", "tiny preset", "no preset",
                                  "another width"])
def test_what_is_never_fitted(case):
    preset, device, pinned = "small", CPU, set()
    model_cfg, train_cfg = small(minutes=0.0 if case == "no budget" else 10.0)
    if case == "pinned":
        pinned = {"hidden_size", "batch_size"}
    elif case == "gpu":
        device = torch.device("cuda")
    elif case == "tiny preset":
        preset = "tiny"
    elif case == "no preset":
        preset = None
    elif case == "another width":  # a config that changed the width without pinning it
        model_cfg = dataclasses.replace(model_cfg, hidden_size=200)
    timer, calls = timer_for({384: 900, 320: 900, 256: 900, 192: 900})
    assert fitting.fit(preset, model_cfg, train_cfg, device, pinned, timer=timer) == []
    assert calls == []


def test_step_seconds_times_a_real_training_step():
    model_cfg, train_cfg = resolve("tiny", None, {"batch_size": 4, "seq_len": 16})
    seconds = fitting.step_seconds(model_cfg, train_cfg, CPU, steps=2, warmup=1)
    assert math.isfinite(seconds) and 0 < seconds < 60


def test_a_short_budget_trains_the_width_it_measured_and_the_run_reads_back(tmp_path,
                                                                              startrek):
    # 0.05 minutes holds far fewer than MIN_STEPS steps of any width: the narrowest, really
    # measured, is what trains and what config.json and the weights say
    out = tmp_path / "fitted"
    cr.train(corpus=[str(startrek)], out=out, preset="small", max_minutes=0.05,
             embedding_size=16, batch_size=4, seq_len=16, eval_every=10**6,
             eval_max_tokens=200, progress_bar=False)
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["hidden_size"] == fitting.LADDER["small"][-1]
    # the time fitting took came off the budget the run trained with
    assert fitting.FIT_SHARE * 0.05 <= config["train"]["max_minutes"] < 0.05
    gen = cr.load(out)
    assert gen.model.config.hidden_size == fitting.LADDER["small"][-1]
    assert len(gen.generate(prime="The", length=10, seed=0)[0]) == 13
    # the same budget with the width pinned keeps it
    pinned = tmp_path / "pinned"
    cr.train(corpus=[str(startrek)], out=pinned, preset="small", max_minutes=0.02,
             hidden_size=384, embedding_size=16, batch_size=4, seq_len=16,
             eval_every=10**6, eval_max_tokens=200, progress_bar=False)
    assert json.loads((pinned / "config.json").read_text())["model"]["hidden_size"] == 384


def test_fitting_counts_in_the_budget_and_stops_timing_a_slow_machine():
    """A busy machine: each rung's timing takes 20 s of the wall clock. Fitting stops once
    it has used FIT_SHARE of the budget, takes the narrowest width, and what it took is
    taken off the run's max_minutes (a 3-minute budget is 3 minutes of the user's time)."""
    now = [0.0]

    def clock():
        return now[0]

    def timer(model_cfg, train_cfg, device):
        now[0] += 20.0  # five slow steps
        return 2.0  # far too slow for MIN_STEPS at any width

    lines = []
    _, chosen, train, _ = fitted(minutes=3.0, log=lines.append, timer=timer, clock=clock)
    assert fitting.FIT_SHARE * 180 < 20  # 9 s: one rung's timing is already over it
    assert now[0] == 20.0  # one rung timed, not five
    assert chosen.hidden_size == fitting.LADDER["small"][-1] and train.batch_size == 32
    assert train.max_minutes == pytest.approx(3.0 - 20 / 60)
    assert "timing stopped after 20 s" in lines[1] and "fitting took 20 s" in lines[1]
