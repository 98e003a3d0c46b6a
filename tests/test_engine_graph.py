"""GraphSampler: the sampling loop on static buffers, replayed as a CUDA graph on a GPU.

On the CPU the same chunk runs eagerly, which is what most of these tests check; the last
test compares graph replay with the eager chunk where a GPU is present."""

import math

import pytest
import torch

from creative_rnn.config import ModelConfig
from creative_rnn.engine.graph import GraphSampler
from creative_rnn.models import SequenceModel


def make(cell="lstm", vocab=7, layers=2, device="cpu"):
    torch.manual_seed(0)
    m = SequenceModel(ModelConfig(cell=cell, num_layers=layers, hidden_size=24,
                                  embedding_size=8, dropout=0.0, vocab_size=vocab))
    return m.to(device).eval()


@torch.no_grad()
def eager_greedy(model, prime, n, banned):
    logits, state = model(torch.tensor([prime]))
    out = []
    for _ in range(n):
        z = logits[:, -1].clone()
        z[:, banned] = float("-inf")
        nxt = z.argmax(-1)
        out.append(int(nxt))
        logits, state = model(nxt.unsqueeze(1), state)
    return out


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_greedy_matches_the_eager_loop(cell):
    m = make(cell)
    s = GraphSampler(m, 1, greedy=True, banned=[0], chunk=7, use_graph=False)
    got = s.generate([1, 2, 3], 40)[0]
    assert got == eager_greedy(m, [1, 2, 3], 40, [0])
    assert 0 not in got


def test_draws_follow_softmax_with_temperature_top_k_top_p():
    m = make(vocab=6)
    n = 40_000
    s = GraphSampler(m, n, temperature=0.7, top_k=4, top_p=0.9, banned=[5], use_graph=False,
                     seed=3)
    z = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, 3.0])
    s.logits.copy_(z.expand(n, -1))
    s.noise.uniform_(generator=s.gen)
    draws = s._pick(0)
    # expected: ban 5, divide by 0.7, keep the 4 best, then the nucleus of mass 0.9
    w = (z[:5] / 0.7).softmax(-1)
    keep = torch.zeros(5, dtype=torch.bool)
    order = w.argsort(descending=True)[:4]
    mass = 0.0
    for i in order.tolist():
        keep[i] = True
        mass += float(w[i] / w[order].sum())
        if mass >= 0.9:
            break
    p = torch.where(keep, w, 0.0)
    p = p / p.sum()
    counts = torch.bincount(draws, minlength=6).double() / n
    assert counts[5] == 0
    for i in range(5):
        sigma = math.sqrt(max(p[i].item() * (1 - p[i].item()), 1e-12) / n)
        assert abs(counts[i].item() - p[i].item()) <= 5 * sigma + 1e-9


def test_streams_stop_at_the_stop_id_and_stay_stopped():
    m = make(vocab=5)
    s = GraphSampler(m, 16, temperature=1.5, stop_id=3, chunk=9, use_graph=False, seed=1)
    rows = s.generate([1], 300)
    assert any(r and r[-1] == 3 for r in rows)
    for r in rows:
        assert 3 not in r[:-1]  # the stop id only ever ends a row
        assert len(r) == 300 or r[-1] == 3


def test_same_seed_same_samples():
    m = make()
    a = GraphSampler(m, 3, seed=5, use_graph=False).generate([1], 50)
    b = GraphSampler(m, 3, seed=5, use_graph=False).generate([1], 50)
    c = GraphSampler(m, 3, seed=6, use_graph=False).generate([1], 50)
    assert a == b and a != c


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("greedy", [True, False])
def test_graph_replay_equals_the_eager_chunk_on_a_gpu(greedy):
    m = make(device="cuda")
    kw = dict(temperature=0.8, top_k=5, greedy=greedy, banned=[0], chunk=16, seed=2)
    graph = GraphSampler(m, 4, use_graph=True, **kw)
    rows = graph.generate([1, 2], 100)
    assert graph.graph is not None
    assert rows == GraphSampler(m, 4, use_graph=False, **kw).generate([1, 2], 100)


def test_gpu_sampling_measurement_runs_its_two_paths_on_any_device():
    """The bench's GPU comparison, run tiny on the CPU: both paths make tokens."""
    from creative_rnn.bench.sampling import measure_gpu

    rows = measure_gpu(torch.device("cpu"), streams=(1, 4), repeats=1, layers=1, hidden=16,
                       tokens=200)
    assert [r[0] for r in rows] == [1, 4]
    assert all(eager > 0 and graph > 0 for _, eager, graph in rows)


def test_generator_graph_loop_yields_what_the_eager_loop_yields(tiny_docs_run):
    """Generator._run_graph (the GPU path) run on the CPU: greedy steps equal the eager
    loop's, and sampled documents all end by themselves at their end token."""
    import creative_rnn as cr
    from creative_rnn.config import SampleConfig

    gen = cr.load(tiny_docs_run, device="cpu", engine="torch")
    prime = gen.prime_ids("")
    sc = SampleConfig(length=120, num=3, greedy=True)
    graph_steps = list(gen._run_graph(prime, sc, 0))
    assert graph_steps == list(gen._run(prime, sc, gen._processors(sc, []), 0))
    sc = SampleConfig(length=300, num=12, temperature=0.7)
    eos = gen.codec.vocab.eos
    ended = [i for step in gen._run_graph(prime, sc, 4) for i, t in step if t == eos]
    assert sorted(ended) == list(range(12))
