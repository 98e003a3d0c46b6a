"""The compiled step engine: the model's logits over long carried runs, greedy equal to the
eager path, its own seeded sampler's distribution, stop ids, and falling back to eager."""

import numpy as np
import pytest
import torch

import creative_rnn as cr
from creative_rnn.config import ModelConfig
from creative_rnn.core.logits import temperature, top_k, top_p
from creative_rnn.engine import EngineUnsupported, StepEngine, kernels, threads
from creative_rnn.models import SequenceModel

V = 65
CELLS = ["rnn", "gru", "lstm", "mingru", "minlstm"]


def model(cell: str, layers: int, hidden: int = 48, seed: int = 0, **kw) -> SequenceModel:
    torch.manual_seed(seed)
    m = SequenceModel(ModelConfig(cell=cell, num_layers=layers, hidden_size=hidden,
                                  embedding_size=24, vocab_size=V, **kw)).eval()
    with torch.no_grad():  # biases of a trained net's size, not PyTorch's tiny ones
        for name, p in m.named_parameters():
            if "bias" in name or ".b_" in name:  # torch's layers' biases, minimal cells' b_k
                p.uniform_(-0.5, 0.5)
    return m


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", CELLS)
def test_logits_match_the_model_over_long_carried_runs(cell, layers):
    m = model(cell, layers)
    ids = torch.randint(0, V, (3, 320), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, want_state = m(ids)
    eng = StepEngine.from_model(m)
    state, worst = None, 0.0
    for t in range(ids.shape[1]):
        logits, state = eng.step(ids[:, t:t + 1].numpy(), state)
        worst = max(worst, float(np.abs(logits - want[:, t].numpy()).max()))
    assert worst < 1e-5
    got = eng.to_torch(state)
    if cell in ("mingru", "minlstm"):
        assert eng.threads == 1 and eng._w[2].shape == (layers, 0, 48)  # V: no rows
    for a, b in zip(got if cell == "lstm" else [got], want_state if cell == "lstm"
                    else [want_state]):
        assert torch.allclose(a, b, atol=1e-5)


needs_threads = pytest.mark.skipif(
    threads.choose(2, 0) < 2, reason="the threaded step needs 2 cores and Numba's OpenMP "
    "or TBB threading layer")


@needs_threads
@pytest.mark.parametrize("cell", CELLS)
def test_the_threaded_step_matches_the_model_and_the_one_core_step(cell):
    """Units split unevenly (51 over 2 threads, 26 + 25) still give the model's logits, and
    the threaded and one-core engines draw the same seeded samples."""
    m = model(cell, 3, hidden=51, seed=2)
    ids = torch.randint(0, V, (2, 200), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        want, _ = m(ids)
    one, eng = StepEngine.from_model(m, threads=1), StepEngine.from_model(m, threads=2)
    assert (one.threads, eng.threads) == (1, 2)
    state, worst = None, 0.0
    for t in range(ids.shape[1]):
        logits, state = eng.step(ids[:, t:t + 1].numpy(), state)
        worst = max(worst, float(np.abs(logits - want[:, t].numpy()).max()))
    assert worst < 1e-5
    for kw in (dict(greedy=True), dict(temperature=0.9, top_k=10, seed=7)):
        assert eng.generate([1, 2], 150, num_streams=2, **kw) == \
            one.generate([1, 2], 150, num_streams=2, **kw)


def test_auto_threads_follow_the_size_of_the_weights():
    assert threads.choose(None, threads.L2_BYTES // 2) == 1  # fits one core's cache
    big = threads.choose(None, 4 * threads.L2_BYTES)
    assert big == threads.choose(2, 0)  # 2 where the cores and a thread-safe layer allow
    assert threads.choose(1, 4 * threads.L2_BYTES) == 1
    with pytest.raises(ValueError, match="threads"):
        threads.choose(0, 0)


def test_step_feeds_several_ids_and_leaves_the_given_state_alone():
    eng = StepEngine.from_model(model("lstm", 2))
    _, s0 = eng.step([5, 6])
    before = [a.copy() for a in s0]
    together, _ = eng.step([1, 2, 3], s0)
    s = s0
    for i in (1, 2, 3):
        one, s = eng.step(i, s)
    np.testing.assert_array_equal(together, one)
    assert all(np.array_equal(a, b) for a, b in zip(s0, before))
    with pytest.raises(cr.SamplingError, match="token ids"):
        eng.step([V])


def eager_greedy(m: SequenceModel, prime: list[int], n: int) -> tuple[list[int], float]:
    """Greedy ids from the eager model, and the smallest gap between the top two logits."""
    out, gap = [], np.inf
    with torch.no_grad():
        logits, state = m(torch.tensor([prime]))
        for _ in range(n):
            z = logits[0, -1]
            top2 = torch.topk(z, 2).values
            gap = min(gap, float(top2[0] - top2[1]))
            out.append(int(z.argmax()))
            logits, state = m(torch.tensor([[out[-1]]]), state)
    return out, gap


@pytest.mark.parametrize("cell", CELLS)
def test_greedy_generate_equals_the_eager_greedy_path(cell):
    m = model(cell, 2, seed=3)
    want, gap = eager_greedy(m, [1, 2, 3], 200)
    assert gap > 1e-4  # no near-tie, so float rounding cannot change the argmax
    got = StepEngine.from_model(m).generate([1, 2, 3], 200, greedy=True, num_streams=2)
    assert got == [want, want]


def test_generator_greedy_is_the_same_on_both_engines(tiny_text_run):
    fast = cr.load(tiny_text_run, engine="fast")
    eager = cr.load(tiny_text_run, engine="torch")
    for prime in ("The ", "Star"):
        assert fast.generate(prime, length=120, num=2, greedy=True) == \
            eager.generate(prime, length=120, num=2, greedy=True)


def test_seeded_generation_is_reproducible(tiny_text_run):
    eng = StepEngine.from_model(model("gru", 2))
    a = eng.generate([4], 100, temperature=0.9, top_k=20, seed=5, num_streams=3)
    assert a == eng.generate([4], 100, temperature=0.9, top_k=20, seed=5, num_streams=3)
    assert a != eng.generate([4], 100, temperature=0.9, top_k=20, seed=6, num_streams=3)
    assert a[0] != a[1]  # streams draw different numbers
    gen = cr.load(tiny_text_run, engine="fast")
    assert gen.generate("The ", length=60, num=2, seed=3) == \
        gen.generate("The ", length=60, num=2, seed=3)


@pytest.mark.parametrize("t,k,p", [(1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.8),
                                   (0.9, 6, 0.9)])
def test_draws_follow_the_processed_softmax(t, k, p):
    """Frequencies over many draws from fixed logits match sampling.py's processors."""
    z = torch.tensor([2.0, 1.5, 1.0, 0.7, 0.5, 0.2, 0.0, -0.5, -1.0, -3.0])
    want = z[None]
    for proc in (temperature(t), top_k(k), top_p(p)):
        want = proc(want, [[]])
    want = want.softmax(-1)[0].numpy()
    banned = np.zeros(len(z), np.bool_)
    rng, n = StepEngine.rng(11), 100_000
    counts = np.zeros(len(z))
    zs = z.numpy().astype(np.float32)
    for _ in range(n):
        counts[kernels.choose(zs, banned, t, k, p, False, rng)] += 1
    assert np.abs(counts / n - want).max() < 0.006  # ~4 standard errors at p = 0.5
    assert np.all(counts[want == 0] == 0)


def test_banned_ids_are_never_drawn():
    eng = StepEngine.from_model(model("lstm", 1))
    ids = eng.generate([1], 300, temperature=2.0, banned=range(0, V, 2), num_streams=2)
    assert all(i % 2 == 1 for row in ids for i in row)


def test_streams_stop_at_the_stop_id():
    m = model("lstm", 2, seed=4)
    eng = StepEngine.from_model(m)
    common = int(np.argmax(eng.step([1])[0][0]))  # a likely id, drawn soon at temperature 2
    rows = eng.generate([1], 400, temperature=2.0, seed=2, num_streams=8, stop_id=common)
    assert all(row[-1] == common and common not in row[:-1] for row in rows)
    assert len({len(r) for r in rows}) > 1  # each stream stops on its own


def test_documents_end_at_the_end_token(tiny_docs_run):
    gen = cr.load(tiny_docs_run, engine="fast")
    eos = gen.codec.vocab.eos
    ended = sum(t == eos for step in gen.generate_ids(length=200, num=16, seed=3)
                for _, t in step)
    assert ended == 16


def test_python_processors_step_the_engine_with_torchs_draws(tiny_text_run):
    """A processor that needs Python per step: the engine steps, torch's generator draws, so
    the samples are the eager path's."""
    def no_e(z, _):
        return z.index_fill(-1, torch.tensor([5]), -np.inf)

    fast = cr.load(tiny_text_run, engine="fast")
    eager = cr.load(tiny_text_run, engine="torch")
    a = list(fast.generate_ids("The ", length=80, num=2, seed=4, processors=[no_e]))
    b = list(eager.generate_ids("The ", length=80, num=2, seed=4, processors=[no_e]))
    assert a == b and all(t != 5 for step in a for _, t in step)


class Wrapped(torch.nn.Module):
    """A model the engine cannot read (no embedding/rnn/head of its own)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.select_state = inner.select_state

    def forward(self, x, state=None):
        return self.inner(x, state)


def test_unsupported_models_fall_back_to_the_eager_step(tiny_text_run):
    gen = cr.load(tiny_text_run)
    gen.model = Wrapped(gen.model)
    assert len(gen.generate("The ", length=30, seed=1)[0]) == 34  # auto: eager
    gen.engine = "fast"
    with pytest.raises(EngineUnsupported, match="--engine torch"):
        gen.generate("The ", length=30, seed=1)
    with pytest.raises(cr.SamplingError, match="engine="):
        cr.Generator(gen.model, gen.codec, gen.config, engine="quick")


def test_a_model_with_other_outputs_steps_but_does_not_generate():
    m = model("lstm", 2, output_size=7)
    eng = StepEngine.from_model(m)
    logits, _ = eng.step([[1, 2]])
    with torch.no_grad():
        want = m(torch.tensor([[1, 2]]))[0][:, -1].numpy()
    assert logits.shape == (1, 7) and np.abs(logits - want).max() < 1e-5
    with pytest.raises(EngineUnsupported, match="fed back"):
        eng.generate([1], 5)


_ORDER = """
import sys
import numpy as np
from creative_rnn.engine import kernels

L, n, H, V = 2, 2, 8, 11
rng = np.random.default_rng(0)
w = lambda *s: (0.3 * rng.standard_normal(s)).astype(np.float32)
G = 4 * H
table, U, Vw, bi, bh, W, c = w(V, G), w(1, G, H), w(L, G, H), w(L, G), w(L, G), w(V, H), w(V)
h, logits = np.zeros((L, n, H), np.float32), np.zeros((n, V), np.float32)
cs, gi, gh, h_new = np.zeros_like(h), np.zeros((n, G), np.float32), np.zeros((n, G), np.float32), \\
    np.zeros((n, H), np.float32)
if sys.argv[1] == "step":
    kernels.step_threads(2, 1, np.array([1, 2]), h, cs, table, U, Vw, bi, bh, W, c, logits, gi,
                         gh, h_new)
else:
    out = np.zeros((n, 20), np.int64)
    kernels.generate(2, 1, 20, h, cs, table, U, Vw, bi, bh, W, c, np.zeros(V, np.bool_), 1.0,
                     0, 1.0, True, np.zeros(1, np.uint64), -1, np.ones(n, np.bool_), False,
                     out, logits, gi, gh, h_new)
    assert (out >= 0).all()
print("ok")
"""


def test_the_cached_sampler_survives_any_order_of_first_use(tmp_path):
    """Numba 0.68 cached a broken ``generate`` when it compiled it in a process that had
    loaded the parallel ``step_threads`` from its cache (one process stepped, the next
    sampled): every process after that segfaulted on loading it. Three fresh processes on
    an empty cache, in that order, must all run."""
    import os
    import subprocess
    import sys

    script = tmp_path / "order.py"
    script.write_text(_ORDER)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    for what in ("step", "generate", "generate"):
        done = subprocess.run([sys.executable, str(script), what], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0 and done.stdout.strip() == "ok", (what, done.stderr[-2000:])
