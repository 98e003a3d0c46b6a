"""``creative-rnn sample``, ``evaluate`` and ``plot``: reading a trained run."""

from __future__ import annotations

import sys

from ..novelty import novelty
from ..sampling import load, output_paths
from ..sampling.generator import WHOLE_DRAWS
from ..training.evaluation import evaluate
from ..viz.curves import plot_runs
from .options import GREEDY_HELP, SEED_HELP, TEMPERATURE_HELP, TOP_K_HELP, TOP_P_HELP, fmt


def add_commands(sub) -> dict:
    s = sub.add_parser("sample", help="generate from a trained run")
    s.add_argument("run", metavar="RUN", help="the run directory to sample from")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--prime", default="",
                   help="what each sample starts from, in the codec's text form")
    g.add_argument("--prime-file", metavar="FILE",
                   help="read the prime from this file (text, .abc, .mid, ...)")
    s.add_argument("--temperature", type=float, default=0.8, help=TEMPERATURE_HELP)
    s.add_argument("--top-k", type=int, default=0, help=TOP_K_HELP)
    s.add_argument("--top-p", type=float, default=1.0, help=TOP_P_HELP)
    s.add_argument("--greedy", action="store_true", help=GREEDY_HELP)
    s.add_argument("--length", type=int, default=500,
                   help="most new tokens per sample (a whole tune stops at its end)")
    s.add_argument("--num", type=int, default=1, help="samples to generate, as one batch")
    s.add_argument("--seed", type=int, help=SEED_HELP)
    s.add_argument("--out", help="write samples here (several: name-1.ext, name-2.ext, ...)")
    s.add_argument("--format", action="append", default=[], metavar="EXT",
                   help="output formats besides the codec's own (music: mid, musicxml, wav, png,"
                        " svg (a score); by default png, and wav where FluidSynth is installed)")
    s.add_argument("--complete-bars", action="store_true",
                   help="ABC: only tokens that keep every bar metrically complete")
    s.add_argument("--novelty", action="store_true",
                   help="after each sample, a line from the copy meter: its longest span copied "
                        "from the training corpus and the share of its n-grams found there")
    s.add_argument("--max-copy", type=int, metavar="N",
                   help="never copy more than N consecutive tokens of the training corpus")
    s.add_argument("--unknown", default="error", choices=["error", "skip"],
                   help="prime tokens missing from the vocabulary: error or skip")
    s.add_argument("--last", action="store_true", help="latest weights instead of the best")
    s.add_argument("--device", default="auto", choices=["cpu", "cuda", "auto"],
                   help="where to sample; auto: the GPU where one is visible, else the CPU")
    s.add_argument("--engine", default="auto", choices=["auto", "torch", "fast"],
                   help="step engine: fast = compiled CPU step, or a CUDA graph on a GPU; "
                        "torch = eager PyTorch; auto = fast where it applies")

    e = sub.add_parser("evaluate", help="validation loss and a table about samples")
    e.add_argument("run", metavar="RUN", help="the run directory to evaluate")
    e.add_argument("--num", type=int, default=20, help="samples drawn for the tables")
    e.add_argument("--last", action="store_true", help="latest weights instead of the best")
    e.add_argument("--complete-bars", action="store_true",
                   help="ABC: sample the quality table's tunes with complete bars")
    e.add_argument("--max-copy", type=int, metavar="N",
                   help="add a row of samples that never copy more than N corpus tokens")

    pl = sub.add_parser("plot", help="loss curves of one or more runs")
    pl.add_argument("runs", nargs="+", metavar="RUN", help="run directories, one curve each")
    pl.add_argument("--out", required=True, metavar="PLOT.png", help="the picture to write")
    pl.add_argument("--x", default="step", choices=["step", "elapsed_s"],
                    help="horizontal axis: training steps or seconds of training")
    return {"sample": cmd_sample, "evaluate": cmd_evaluate, "plot": cmd_plot}


def cmd_sample(args) -> None:
    gen = load(args.run, last=args.last, device=args.device, engine=args.engine)
    prime = gen.read_prime(args.prime_file) if args.prime_file else args.prime
    opts = dict(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                greedy=args.greedy, seed=args.seed, unknown=args.unknown,
                constraints={"complete_bars": args.complete_bars}, max_copy=args.max_copy)
    if args.num == 1 and not args.out:
        steps = gen.generate_ids(prime, length=args.length, **opts)  # checks the prime first
        sys.stdout.write(gen.codec.render(prime) if prime else "")
        ids = gen.codec.encode(prime, unknown=args.unknown) if prime else []
        for step in steps:
            for _, t in step:
                ids.append(t)
                sys.stdout.write(gen.codec.token_text(t))
            sys.stdout.flush()
        sys.stdout.write("\n")
        if gen.whole_items(opts["constraints"]) and not gen.ended(ids):
            print(f"unfinished: no end token within --length {args.length} tokens, so this "
                  "is not a whole tune (--out writes only whole ones)", file=sys.stderr)
        if args.novelty:
            print(novelty(gen, ids=ids).line())
        return
    items, ids, left = _generate(gen, prime, args, opts)
    if left:  # whole tunes only (complete bars): the unfinished are said, not written
        print(f"{left} of {args.num} sample(s) did not reach their end token within --length "
              f"{args.length} tokens in {WHOLE_DRAWS} draws; left out as unfinished (a "
              "larger --length, or a longer-trained run, ends more of them)")
    if args.out:
        written = []
        formats = args.format or gen.codec.default_formats()
        for item, path in zip(items, output_paths(args.out, args.num)):
            written += gen.codec.outputs(item, path.with_suffix(""), formats)
        print(f"wrote {len(written)} file(s): {', '.join(map(str, written))}")
        for i, sample in enumerate(ids, 1):
            if args.novelty:
                print(f"sample {i}: {novelty(gen, ids=sample).line()}")
    else:
        for i, item in enumerate(items, 1):
            print(f"--- sample {i} ---")
            print(gen.codec.render(item))
            if args.novelty:
                print(novelty(gen, ids=ids[i - 1]).line())


def _generate(gen, prime, args, opts: dict) -> tuple[list, list[list[int]], int]:
    """The items ``gen.generate`` gives, their ids (the meter reads the ids, since a
    sample's text need not read back as the same tokens: an ABC sample may not parse), and
    how many were left out unfinished (whole tunes only)."""
    ids, left = gen.sample_ids(prime, length=args.length, num=args.num, **opts)
    return [gen.codec.decode(s) for s in ids], ids, len(left)


def cmd_evaluate(args) -> None:
    row = evaluate(args.run, num=args.num, last=args.last,
                   constraints={"complete_bars": args.complete_bars}, max_copy=args.max_copy)
    quality, copies, music = row.pop("quality"), row.pop("novelty"), row.pop("music")
    width = max(len(k) for k in row)
    for k, v in row.items():
        print(f"{k:<{width}}  {fmt(v)}")
    _table(quality)  # one row per source, one column per figure
    if "not measured" in copies:
        print(f"\ncopies of the training corpus: not measured: {copies['not measured']['reason']}")
    elif copies:
        print("\ncopies of the training corpus (validation: held-out text, never trained on)")
        _table(copies)
    if music:
        print("\nmusic measures (MusPy's definitions; validation: held-out pieces)")
        _table(music["measures"])
        if music["relative"]:
            print("\nrelative comparison (mgeval): distances between pieces, per feature")
            _table(music["relative"], first=24)


def _table(rows: dict[str, dict], first: int = 12) -> None:
    """Rows by name, one column per figure of the first row."""
    if not rows:
        return
    cols = list(next(iter(rows.values())))
    size = max(12, *(len(c) + 2 for c in cols))
    print("\n" + f"{'':<{first}}" + "".join(f"{c:>{size}}" for c in cols))
    for name, figures in rows.items():
        print(f"{name:<{first}}" + "".join(f"{fmt(figures.get(c)):>{size}}" for c in cols))


def cmd_plot(args) -> None:
    print(f"wrote {plot_runs(args.runs, args.out, x=args.x)}")
