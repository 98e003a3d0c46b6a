"""``creative-rnn sample``, ``evaluate`` and ``plot``: reading a trained run."""

from __future__ import annotations

import sys

from ..library import Recorded, location, record
from ..library.provenance import new_seed, sample_piece
from ..novelty import novelty
from ..report import evaluate
from ..sampling import load, output_paths
from ..sampling.generator import WHOLE_DRAWS
from ..viz.curves import plot_runs
from .library import add_record_options, library_arg, tell
from .options import GREEDY_HELP, SEED_HELP, TEMPERATURE_HELP, TOP_K_HELP, TOP_P_HELP, fmt


def add_commands(sub) -> dict:
    s = sub.add_parser("sample", help="generate from a trained run")
    s.add_argument("run", metavar="RUN", help="the run directory to sample from, or a "
                   "starter model's name (creative-rnn models lists them)")
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
    s.add_argument("--novelty-parent", action="store_true",
                   help="after each sample, the copy meter's line against the parent's training "
                        "corpus (a run fine-tuned with train --from), apart from its own corpus")
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
    add_record_options(s)

    e = sub.add_parser("evaluate", help="validation loss and a table about samples")
    e.add_argument("run", metavar="RUN",
                   help="the run directory to evaluate, or a starter model's name")
    e.add_argument("--num", type=int, default=20, help="samples drawn for the tables")
    e.add_argument("--last", action="store_true", help="latest weights instead of the best")
    e.add_argument("--complete-bars", action="store_true",
                   help="ABC: sample the quality table's tunes with complete bars")
    e.add_argument("--max-copy", type=int, metavar="N",
                   help="add a row of samples that never copy more than N corpus tokens")
    e.add_argument("--no-parent-copies", action="store_true",
                   help="a fine-tuned run: leave out the copy table against its parent's "
                        "training corpus (its index is built on first use)")

    pl = sub.add_parser("plot", help="loss curves of one or more runs")
    pl.add_argument("runs", nargs="+", metavar="RUN",
                    help="run directories (or starter models' names), one curve each")
    pl.add_argument("--out", required=True, metavar="PLOT.png", help="the picture to write")
    pl.add_argument("--x", default="step", choices=["step", "elapsed_s"],
                    help="horizontal axis: training steps or seconds of training")
    return {"sample": cmd_sample, "evaluate": cmd_evaluate, "plot": cmd_plot}


def cmd_sample(args) -> None:
    gen = load(args.run, last=args.last, device=args.device, engine=args.engine)
    prime = gen.read_prime(args.prime_file) if args.prime_file else args.prime
    library = library_arg(args)
    seed = args.seed
    if seed is None and location(library) is not None:  # the library keeps the seed used
        seed = new_seed()
    opts = dict(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                greedy=args.greedy, seed=seed, unknown=args.unknown,
                constraints={"complete_bars": args.complete_bars}, max_copy=args.max_copy)
    if args.num == 1 and not args.out:
        new: list[int] = []
        texts = gen.stream(prime, length=args.length, ids=new, **opts)  # checks the prime first
        sys.stdout.write(gen.codec.render(prime) if prime else "")
        ids = gen.codec.encode(prime, unknown=args.unknown) if prime else []
        for text in texts:
            sys.stdout.write(text)
            sys.stdout.flush()
        ids += new
        sys.stdout.write("\n")
        if gen.whole_items(opts["constraints"]) and not gen.ended(ids):
            print(f"unfinished: no end token within --length {args.length} tokens, so this "
                  "is not a whole tune (--out writes only whole ones)", file=sys.stderr)
        meters = [_novelty_lines(gen, ids, args)]
        _record(gen, args, library, opts, prime, [ids], [[]], meters, draws="one")
        return
    items, ids, left = _generate(gen, prime, args, opts)
    if left:  # whole tunes only (complete bars): the unfinished are said, not written
        print(f"{left} of {args.num} sample(s) did not reach their end token within --length "
              f"{args.length} tokens in {WHOLE_DRAWS} draws; left out as unfinished (a "
              "larger --length, or a longer-trained run, ends more of them)")
    files: list[list] = [[] for _ in items]
    if args.out:
        formats = args.format or gen.codec.default_formats()
        for i, (item, path) in enumerate(zip(items, output_paths(args.out, args.num))):
            files[i] = gen.codec.outputs(item, path.with_suffix(""), formats)
        written = [f for each in files for f in each]
        print(f"wrote {len(written)} file(s): {', '.join(map(str, written))}")
        meters = [_novelty_lines(gen, sample, args, f"sample {i}: ")
                  for i, sample in enumerate(ids, 1)]
    else:
        meters = []
        for i, item in enumerate(items, 1):
            print(f"--- sample {i} ---")
            print(gen.codec.render(item))
            meters.append(_novelty_lines(gen, ids[i - 1], args))
    _record(gen, args, library, opts, prime, ids, files, meters, draws="whole")


def _record(gen, args, library, opts: dict, prime, ids: list, files: list, meters: list,
            draws: str) -> None:
    """Each sample into the library with its provenance (one transaction), and one line on
    stderr: recorded as which pieces, or why not (the samples are written all the same).
    ``meters``: each sample's copy meter as printed (None without --novelty)."""
    if location(library) is None:
        return
    options = {k: v for k, v in opts.items() if k != "seed"}
    written = [f for each in files for f in each]
    try:
        pieces = [sample_piece(gen, args.run, sample, maker="sample", seed=opts["seed"],
                               options=options, length=args.length, num=args.num, index=i,
                               prime=prime, last=args.last, draws=draws, files=files[i],
                               novelty=meters[i])
                  for i, sample in enumerate(ids)]
    except Exception as e:  # noqa: BLE001 - the library never stops a sample
        tell(Recorded(why=f"its provenance could not be read ({type(e).__name__}: {e})"),
             written)
        return
    tell(record(pieces, library), written)


def _novelty_lines(gen, ids: list[int], args, head: str = ""):
    """The copy meter's lines asked for: against the run's corpus (--novelty) and against
    its parent's (--novelty-parent). Returns the first (the library records it), or None."""
    found = novelty(gen, ids=ids) if args.novelty else None
    if found is not None:
        print(head + found.line())
    if args.novelty_parent:
        print(f"{head}parent's corpus: {novelty(gen, ids=ids, against='parent').line()}")
    return found


def _generate(gen, prime, args, opts: dict) -> tuple[list, list[list[int]], int]:
    """The items ``gen.generate`` gives, their ids (the meter reads the ids, since a
    sample's text need not read back as the same tokens: an ABC sample may not parse), and
    how many were left out unfinished (whole tunes only)."""
    ids, left = gen.sample_ids(prime, length=args.length, num=args.num, **opts)
    return [gen.codec.decode(s) for s in ids], ids, len(left)


def cmd_evaluate(args) -> None:
    row = evaluate(args.run, num=args.num, last=args.last,
                   constraints={"complete_bars": args.complete_bars}, max_copy=args.max_copy,
                   parent_copies=not args.no_parent_copies)
    quality, copies, music = row.pop("quality"), row.pop("novelty"), row.pop("music")
    parent = row.pop("parent_novelty", {})
    width = max(len(k) for k in row)
    for k, v in row.items():
        print(f"{k:<{width}}  {fmt(v)}")
    _table(quality)  # one row per source, one column per figure
    if "not measured" in copies:
        print(f"\ncopies of the training corpus: not measured: {copies['not measured']['reason']}")
    elif copies:
        print("\ncopies of the training corpus (validation: held-out text, never trained on)")
        _table(copies)
    if "not measured" in parent:
        print(f"\ncopies of the parent's training corpus: not measured: "
              f"{parent['not measured']['reason']}")
    elif parent:
        print("\ncopies of the parent's training corpus (the run was fine-tuned from it; "
              "validation: this run's held-out text)")
        _table(parent)
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
