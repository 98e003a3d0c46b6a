"""Sampling speed on the CPU: the compiled step engine against the eager PyTorch step.

Measured in the same run, on 2 x 128 and 2 x 256 LSTMs (vocabulary 65, random weights: the
weights do not change the cost), in new tokens per second, best of ``--repeats``:

* eager step — what sampling did before the engine: one stream, one token at a time, the
  state carried, ``model(x, state)`` then ``torch.multinomial`` on the softmax;
* engine loop — ``StepEngine.generate``: the whole sampling loop in compiled code;
* engine step — ``StepEngine.step`` plus a compiled draw, one Python call per token (what a
  live front end does, where each step has outside input);
* batches of ``--streams`` samples at once: the eager batched step against the engine loop.

Ratios are against the eager step of the same model; the target is 10x. With ``--device
cuda`` it measures a 3 x 512 LSTM on the GPU instead: the eager step against the CUDA-graph
sampler (``engine/graph.py``), 1 and 64 streams (targets 20x and 10x). An ONNX Runtime
figure is added only where onnxruntime is installed. Other processes share the CPU, so run
it more than once.

(the measurements live in creative_rnn/bench/sampling.py)

    python benchmarks/sampling_speed.py [--streams 64] [--repeats 3] [--threads 1]
        [--device cpu|cuda]
"""

from __future__ import annotations

import argparse

import torch

from creative_rnn.bench.common import device_name, machine
from creative_rnn.bench.sampling import GPU_TARGETS, TARGET, measure, measure_gpu


def report(hidden: int, streams: list[int], repeats: int) -> None:
    base, rows, cores = measure(hidden, streams, repeats)
    print(f"\n2 x {hidden} LSTM, vocabulary 65; the engine steps on {cores} core(s)")
    for name, rate in rows:
        if rate is None:
            print(f"  {name:34s}        -  (not installed)")
            continue
        mark = "  (>= 10x: yes)" if rate >= TARGET * base else \
            ("  (>= 10x: no)" if name.startswith("engine") else "")
        print(f"  {name:34s} {rate:9.0f} tokens/s  {rate / base:6.1f}x{mark}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, nargs="+", default=[64])
    ap.add_argument("--repeats", type=int, default=3)
    # one thread: a one-token step gains nothing from two, and on a shared 2-core machine
    # torch's spinning worker threads made the eager step up to 100x slower
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = ap.parse_args()
    if args.device == "cuda":
        device = torch.device("cuda")
        print(f"machine: {machine()}; device: {device_name(device)}; 3 x 512 LSTM, "
              f"vocabulary 65; tokens/s, best of {args.repeats}")
        for streams, eager, graph in measure_gpu(device, tuple(GPU_TARGETS), args.repeats):
            ratio = graph / eager
            print(f"  {streams:3d} stream(s): eager step {eager:10.0f}   CUDA graph {graph:10.0f}"
                  f"   {ratio:6.1f}x (target {GPU_TARGETS[streams]:g}x: "
                  f"{'met' if ratio >= GPU_TARGETS[streams] else 'not met'})")
        return
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}; {torch.get_num_threads()} torch thread(s); engine: numba. "
          f"tokens/s, best of {args.repeats}; ratio = / eager step")
    for hidden in (128, 256):
        report(hidden, args.streams, args.repeats)


if __name__ == "__main__":
    main()
