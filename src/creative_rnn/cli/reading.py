"""``creative-rnn sample``, ``evaluate`` and ``plot``: reading a trained run."""

from __future__ import annotations

import sys

from ..sampling import load, output_paths
from ..training.evaluation import evaluate
from ..viz.curves import plot_runs
from .options import fmt


def add_commands(sub) -> dict:
    s = sub.add_parser("sample", help="generate from a trained run")
    s.add_argument("run", metavar="RUN")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--prime", default="")
    g.add_argument("--prime-file")
    s.add_argument("--temperature", type=float, default=0.8)
    s.add_argument("--top-k", type=int, default=0)
    s.add_argument("--top-p", type=float, default=1.0)
    s.add_argument("--greedy", action="store_true")
    s.add_argument("--length", type=int, default=500)
    s.add_argument("--num", type=int, default=1)
    s.add_argument("--seed", type=int)
    s.add_argument("--out", help="write samples here (several: name-1.ext, name-2.ext, ...)")
    s.add_argument("--format", action="append", default=[], metavar="EXT",
                   help="output formats besides the codec's own (music: mid, musicxml, wav, png;"
                        " by default png, and wav where FluidSynth is installed)")
    s.add_argument("--complete-bars", action="store_true",
                   help="ABC: only tokens that keep every bar metrically complete")
    s.add_argument("--unknown", default="error", choices=["error", "skip"],
                   help="prime tokens missing from the vocabulary: error or skip")
    s.add_argument("--last", action="store_true", help="latest weights instead of the best")
    s.add_argument("--device", default="auto", choices=["cpu", "cuda", "auto"])
    s.add_argument("--engine", default="auto", choices=["auto", "torch", "fast"],
                   help="step engine: fast = compiled CPU step, or a CUDA graph on a GPU; "
                        "torch = eager PyTorch; auto = fast where it applies")

    e = sub.add_parser("evaluate", help="validation loss and a table about samples")
    e.add_argument("run", metavar="RUN")
    e.add_argument("--num", type=int, default=20)
    e.add_argument("--last", action="store_true")
    e.add_argument("--complete-bars", action="store_true",
                   help="ABC: sample the quality table's tunes with complete bars")

    pl = sub.add_parser("plot", help="loss curves of one or more runs")
    pl.add_argument("runs", nargs="+", metavar="RUN")
    pl.add_argument("--out", required=True)
    pl.add_argument("--x", default="step", choices=["step", "elapsed_s"])
    return {"sample": cmd_sample, "evaluate": cmd_evaluate, "plot": cmd_plot}


def cmd_sample(args) -> None:
    gen = load(args.run, last=args.last, device=args.device, engine=args.engine)
    prime = gen.read_prime(args.prime_file) if args.prime_file else args.prime
    opts = dict(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                greedy=args.greedy, seed=args.seed, unknown=args.unknown,
                constraints={"complete_bars": args.complete_bars})
    if args.num == 1 and not args.out:
        pieces = gen.stream(prime, length=args.length, **opts)  # checks the prime first
        sys.stdout.write(gen.codec.render(prime) if prime else "")
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return
    items = gen.generate(prime, length=args.length, num=args.num, **opts)
    if args.out:
        written = []
        formats = args.format or gen.codec.default_formats()
        for item, path in zip(items, output_paths(args.out, args.num)):
            written += gen.codec.outputs(item, path.with_suffix(""), formats)
        print(f"wrote {len(written)} file(s): {', '.join(map(str, written))}")
    else:
        for i, item in enumerate(items, 1):
            print(f"--- sample {i} ---")
            print(gen.codec.render(item))


def cmd_evaluate(args) -> None:
    row = evaluate(args.run, num=args.num, last=args.last,
                   constraints={"complete_bars": args.complete_bars})
    quality = row.pop("quality")
    width = max(len(k) for k in row)
    for k, v in row.items():
        print(f"{k:<{width}}  {fmt(v)}")
    if quality:  # one row per source, one column per figure
        cols = list(quality["generated"])
        print("\n" + f"{'':<10}" + "".join(f"{c:>16}" for c in cols))
        for name, figures in quality.items():
            print(f"{name:<10}" + "".join(f"{fmt(figures.get(c)):>16}" for c in cols))


def cmd_plot(args) -> None:
    print(f"wrote {plot_runs(args.runs, args.out, x=args.x)}")
