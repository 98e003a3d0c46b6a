"""The slow paths of sampling on the CPU (issue 19), each beside its baseline in one run.

1. The generator's eager path (``engine="torch"``, one stream) against a bare eager loop:
   nn.Embedding -> nn.LSTM -> nn.Linear -> softmax -> multinomial, the loop a plain script
   writes, with torch's default threads.
2. The same two again after the compiled engine has sampled in this process (with a model
   large enough for the engine to use two threads), which once slowed the eager path 2-4x.
3. The first ``generate`` of 200 tokens in a fresh process (as ``creative-rnn sample`` does),
   with ``engine="auto"`` and with ``engine="fast"`` (which always loads the compiled engine):
   the time from the loaded model to the last token, in separate processes.

    python benchmarks/sampling_overhead.py [--hidden 128] [--tokens 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch

from creative_rnn.bench.common import machine
from creative_rnn.codecs.text import CharCodec
from creative_rnn.config import ModelConfig
from creative_rnn.models import SequenceModel
from creative_rnn.sampling.generator import Generator

VOCAB = "".join(chr(c) for c in range(40, 105))  # 65 characters, as many as tiny-shakespeare


def model_and_codec(hidden: int) -> tuple[SequenceModel, CharCodec]:
    codec = CharCodec()
    codec.fit([VOCAB + "\n"])
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell="lstm", num_layers=2, hidden_size=hidden,
                                      embedding_size=64, vocab_size=codec.vocab_size,
                                      dropout=0.0)).eval()
    return model, codec


@torch.no_grad()
def bare(model: SequenceModel, tokens: int) -> float:
    """Tokens/s of the plain loop over the model's own modules (no generator, no processors)."""
    gen = torch.Generator().manual_seed(0)
    x, state = torch.tensor([[1]]), None
    t0 = time.perf_counter()
    for _ in range(tokens):
        out, state = model.rnn(model.embedding(x), state)
        logits = model.head(out[:, -1])
        x = torch.multinomial(logits.softmax(-1), 1, generator=gen)
    return tokens / (time.perf_counter() - t0)


def ours(gen: Generator, tokens: int) -> float:
    t0 = time.perf_counter()
    for _ in gen.generate_ids("a", length=tokens, num=1, seed=0):
        pass
    return tokens / (time.perf_counter() - t0)


def best(f, rounds: int, *args) -> float:
    return max(f(*args) for _ in range(rounds))


def cold_start(engine: str, hidden: int) -> float:
    """Seconds from a loaded model to 200 sampled tokens, in a new process."""
    code = (
        "import sys, time, json\n"
        f"sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})\n"
        "from sampling_overhead import model_and_codec\n"
        "from creative_rnn.sampling.generator import Generator\n"
        f"model, codec = model_and_codec({hidden})\n"
        f"gen = Generator(model, codec, {{'train': {{}}}}, 'cpu', engine={engine!r})\n"
        "t0 = time.perf_counter()\n"
        "gen.generate('a', length=200, num=1, seed=0)\n"
        "print(json.dumps(time.perf_counter() - t0))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--tokens", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}")
    model, codec = model_and_codec(args.hidden)
    gen = Generator(model, codec, {"train": {}}, "cpu", engine="torch")
    ours(gen, 50)  # warm-up
    b1, o1 = best(bare, args.rounds, model, args.tokens), best(ours, args.rounds, gen, args.tokens)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    b1_one = best(bare, args.rounds, model, args.tokens)
    torch.set_num_threads(threads)
    print(f"1. one stream, 2x{args.hidden} LSTM: bare eager loop {b1:,.0f} tok/s "
          f"({b1_one:,.0f} on one thread), generator (engine=torch) {o1:,.0f} tok/s: the "
          f"generator takes {b1 / o1:.2f}x the bare loop's time per token "
          f"({b1_one / o1:.2f}x the one-thread loop's; goal <= 1.2)")
    big, _ = model_and_codec(384)  # 2x384: the engine steps it on two threads
    fast = Generator(big, codec, {"train": {}}, "cpu", engine="fast")
    fast.generate("a", length=2000, num=1, seed=0)
    fast_rate = ours(fast, 5000)
    b2, o2 = best(bare, args.rounds, model, args.tokens), best(ours, args.rounds, gen, args.tokens)
    print(f"2. after the compiled engine sampled a 2x384 LSTM ({fast_rate:,.0f} tok/s): bare "
          f"{b2:,.0f} tok/s ({b2 / b1:.2f}x before), generator {o2:,.0f} tok/s "
          f"({o2 / o1:.2f}x before); generator/bare time {b2 / o2:.2f}x")
    auto = [cold_start("auto", args.hidden) for _ in range(2)]
    eng = [cold_start("fast", args.hidden) for _ in range(2)]
    print(f"3. first generate of 200 tokens in a fresh process: engine=fast (loads the "
          f"compiled engine) {min(eng):.2f} s, engine=auto {min(auto):.2f} s "
          f"({min(eng) / min(auto):.1f}x faster; best of 2 processes each)")


if __name__ == "__main__":
    main()
