"""Per-step latency of `creative-rnn perform` on the CPU: median and 99th percentile.

Three ways to answer one lead gesture, measured in the same run on the same model:

* eager baseline — the bare PyTorch step a hand-written loop would do: one id through
  ``model(x, state)`` and an argmax, nothing else;
* stepper — ``live.Stepper.step``: the codec packs the lead with the previous answer,
  one model step, temperature sampling, the answer unpacked (what every front end calls);
* osc round trip — a python-osc client sends ``/lead`` over loopback UDP and waits for the
  ``/answer`` from ``live.OscServer`` in another thread.

Weights do not change the cost, so the models are freshly initialised at the course's
gesture-RNN size (3 x 512 LSTM) and at the tiny preset's (1 x 64).

    python benchmarks/perform_latency.py [--steps 300] [--threads 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import threading
import time

import torch

from creative_rnn import codecs
from creative_rnn.config import ModelConfig
from creative_rnn.live import OscServer, Stepper
from creative_rnn.models import SequenceModel


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"median_ms": round(statistics.median(ms), 3),
            "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 3)}


@torch.no_grad()
def eager(model: SequenceModel, steps: int) -> list[float]:
    state, out = None, []
    for i in range(steps):
        t = time.perf_counter()
        logits, state = model(torch.tensor([[4 + i % 9]]), state)
        int(logits[0, -1].argmax())
        out.append(time.perf_counter() - t)
    return out


def stepper(step: Stepper, steps: int) -> list[float]:
    out = []
    for i in range(steps):
        t = time.perf_counter()
        step.step([i % 9])
        out.append(time.perf_counter() - t)
    return out


def osc(step: Stepper, steps: int) -> list[float]:
    from pythonosc.udp_client import SimpleUDPClient

    server = OscServer(step, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    client = SimpleUDPClient("127.0.0.1", server.address[1])
    out = []
    try:
        for i in range(steps):
            t = time.perf_counter()
            client.send_message("/lead", i % 9)
            if not client.receive(2.0):
                raise RuntimeError("no /answer within 2 s")
            out.append(time.perf_counter() - t)
    finally:
        server.stop()
        thread.join(2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    codec = codecs.get("ensemble")
    rows = []
    for name, layers, hidden in (("gesture-rnn 3x512", 3, 512), ("tiny 1x64", 1, 64)):
        cfg = dataclasses.replace(ModelConfig(cell="lstm", num_layers=layers,
                                              hidden_size=hidden, dropout=0.0),
                                  vocab_size=codec.vocab_size, output_size=codec.output_size)
        model = SequenceModel(cfg).eval()
        step = Stepper(model, codec, temperature=1.0, seed=1)
        for what, fn, arg in (("eager baseline", eager, model), ("stepper", stepper, step),
                              ("osc round trip", osc, step)):
            fn(arg, args.steps)  # warm-up pass: first calls allocate
            rows.append({"model": name, "path": what, **_stats(fn(arg, args.steps))})
    print(f"{'model':<20}{'path':<18}{'median ms':>12}{'p99 ms':>10}")
    for r in rows:
        print(f"{r['model']:<20}{r['path']:<18}{r['median_ms']:>12.3f}{r['p99_ms']:>10.3f}")
    if args.json:
        from creative_rnn.core.files import atomic_write_json

        atomic_write_json(args.json, {"steps": args.steps, "threads": args.threads,
                                      "rows": rows})


if __name__ == "__main__":
    main()
