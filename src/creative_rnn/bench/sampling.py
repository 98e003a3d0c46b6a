"""Sampling speed on the CPU: the compiled step engine against the eager PyTorch step.

Measured in the same run on an LSTM (vocabulary 65, random weights: the weights do not
change the cost), in new tokens per second, best of ``repeats``:

* eager step: what sampling did before the engine: one stream, one token at a time, the
  state carried, ``model(x, state)`` then ``torch.multinomial`` on the softmax;
* engine loop: ``StepEngine.generate``, the whole sampling loop in compiled code, with the
  threads the engine picks for the model's size (``engine/threads.py``), and on one core;
* engine step: ``StepEngine.step`` plus a compiled draw, one Python call per token (what a
  live front end does, where each step has outside input);
* batches of ``streams`` samples at once: the eager batched step against the engine loop.

An ONNX Runtime figure is added only where onnxruntime is installed."""

from __future__ import annotations

import io
import time

import numpy as np
import torch

from ..config import ModelConfig
from ..engine import StepEngine
from ..engine.graph import GraphSampler
from ..models import SequenceModel
from .common import sync

VOCAB, TARGET = 65, 10.0


def best_rate(fn, tokens: int, repeats: int) -> float:
    """Tokens per second of ``fn()`` (which makes ``tokens`` tokens), best of ``repeats``."""
    fn()  # warm up (and compile)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return tokens / best


@torch.no_grad()
def eager(model: SequenceModel, streams: int, steps: int) -> None:
    device = model.head.weight.device
    gen = torch.Generator(device=device).manual_seed(0)
    logits, state = model(torch.ones(streams, 1, dtype=torch.long, device=device))
    for _ in range(steps):
        x = torch.multinomial((logits[:, -1] / 0.8).softmax(-1), 1, generator=gen)
        logits, state = model(x, state)


def engine_steps(eng, steps: int) -> None:
    from ..engine import kernels  # compiled on first import: only when this row is measured

    banned, rng = np.zeros(VOCAB, np.bool_), eng.rng(0)
    logits, state = eng.step(1)
    for _ in range(steps):
        nxt = kernels.choose(logits[0], banned, 0.8, 0, 1.0, False, rng)
        logits, state = eng.step(nxt, state)


def onnx_rate(model: SequenceModel, steps: int, repeats: int) -> float | None:
    try:
        import onnxruntime as ort
    except ImportError:
        return None

    class OneStep(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x, h, c):
            logits, (h, c) = self.m(x, (h, c))
            return logits[:, -1], h, c

    L, H = model.config.num_layers, model.config.hidden_size
    h = torch.zeros(L, 1, H)
    buf = io.BytesIO()
    torch.onnx.export(OneStep(model), (torch.ones(1, 1, dtype=torch.long), h, h), buf,
                      input_names=["x", "h", "c"], output_names=["y", "h1", "c1"])
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)

    def run():
        x, hh = np.ones((1, 1), np.int64), np.zeros((L, 1, H), np.float32)
        cc = hh.copy()
        for _ in range(steps):
            y, hh, cc = sess.run(None, {"x": x, "h": hh, "c": cc})
            p = np.exp((y[0] - y[0].max()) / 0.8)
            x[0, 0] = rng.choice(VOCAB, p=p / p.sum())
    return best_rate(run, steps, repeats)


def measure(hidden: int, streams: list[int], repeats: int, layers: int = 2
            ) -> tuple[float, list[tuple[str, float | None]], int]:
    """(eager one-stream tokens/s, [(what, tokens/s or None)], the engine's threads) for a
    layers x hidden LSTM."""
    torch.manual_seed(0)
    m = SequenceModel(ModelConfig(cell="lstm", num_layers=layers, hidden_size=hidden,
                                  embedding_size=64, vocab_size=VOCAB)).eval()
    eng = StepEngine.from_model(m)
    base = best_rate(lambda: eager(m, 1, 1000), 1000, repeats)
    rows: list[tuple[str, float | None]] = [("eager step, 1 stream", base)]
    rows.append(("engine loop, 1 stream", best_rate(
        lambda: eng.generate([1], 20000, temperature=0.8, seed=1), 20000, repeats)))
    if eng.threads > 1:
        one = StepEngine.from_model(m, threads=1)
        rows.append(("engine loop, 1 stream, 1 core", best_rate(
            lambda: one.generate([1], 20000, temperature=0.8, seed=1), 20000, repeats)))
    rows.append(("engine step, 1 stream",
                 best_rate(lambda: engine_steps(eng, 5000), 5000, repeats)))
    rows.append(("onnxruntime step, 1 stream", onnx_rate(m, 1000, repeats)))
    for s in streams:
        k = max(20, 4000 // s)
        rows.append((f"eager batched, {s} streams",
                     best_rate(lambda s=s, k=k: eager(m, s, k), s * k, repeats)))
        k = max(50, 40000 // s)
        rows.append((f"engine loop, {s} streams", best_rate(
            lambda s=s, k=k: eng.generate([1], k, temperature=0.8, seed=1, num_streams=s),
            s * k, repeats)))
    return base, rows, eng.threads


GPU_TARGETS = {1: 20.0, 64: 10.0}  # issue 6: CUDA-graph sampling against the eager step


def measure_gpu(device: torch.device, streams: tuple[int, ...] = (1, 64), repeats: int = 3,
                layers: int = 3, hidden: int = 512, tokens: int = 20000
                ) -> list[tuple[int, float, float]]:
    """[(streams, eager tokens/s, CUDA-graph tokens/s)] for a layers x hidden LSTM on a GPU:
    the eager batched step with torch.multinomial against ``GraphSampler`` replays."""
    torch.manual_seed(0)
    m = SequenceModel(ModelConfig(cell="lstm", num_layers=layers, hidden_size=hidden,
                                  embedding_size=128, vocab_size=VOCAB)).to(device).eval()

    def timed(fn, tokens):
        def run():
            fn()
            sync(device)
        return best_rate(run, tokens, repeats)

    rows = []
    for s in streams:
        k = max(tokens // 100, tokens // s)
        sampler = GraphSampler(m, s, temperature=0.8, chunk=64, seed=0)
        rows.append((s, timed(lambda s=s, k=k: eager(m, s, k), s * k),
                     timed(lambda k=k, g=sampler: g.generate([1], k), s * k)))
    return rows
