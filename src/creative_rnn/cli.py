"""The `creative-rnn` command: parses flags, calls the Python API, prints. No logic of its own.

User errors print one line and exit with code 2. Each capability beyond the foundation adds
its subcommands from its own module (listed in ``EXTENSIONS``), which defines
``add_commands(subparsers) -> {name: function(args)}``, so this file stays small.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from functools import partial

from . import __version__
from .errors import UserError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="creative-rnn", description="Creative prediction with RNNs.")
    p.add_argument("--version", action="version", version=f"creative-rnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="train on built-in folk tunes for a few minutes, write tunes")
    d.add_argument("--out", default="creative-rnn-demo")
    d.add_argument("--minutes", type=float, default=3.0)
    d.add_argument("--seed", type=int, default=1)

    c = sub.add_parser("corpus", help="size, vocabulary and a sample of a corpus")
    c.add_argument("source", nargs="+", metavar="NAME|PATH")
    c.add_argument("--codec", default="char")
    c.add_argument("--documents", action="store_true")
    c.add_argument("--unit", default="line", choices=["line", "paragraph", "file"])
    c.add_argument("--encoding", default="utf-8")
    c.add_argument("--shakespeare-file", help="local copy of tiny-shakespeare")

    t = sub.add_parser("train", help="train a model (or --resume one)")
    t.add_argument("corpus", nargs="*", metavar="CORPUS",
                   help="files, folders, globs or names: folk, python, shakespeare")
    t.add_argument("--out", help="run directory to create")
    t.add_argument("--resume", metavar="RUN", help="continue RUN in place")
    t.add_argument("--codec", default="char")
    t.add_argument("--documents", action="store_true",
                   help="train on whole items framed by start/end tokens")
    t.add_argument("--unit", default="line", choices=["line", "paragraph", "file"],
                   help="in documents mode: one item per line, per paragraph or per file")
    t.add_argument("--preset", choices=["tiny", "small", "medium", "large"])
    t.add_argument("--config", metavar="FILE", help="TOML or JSON file of config keys")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    t.add_argument("--max-steps", type=int)
    t.add_argument("--max-minutes", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--device", choices=["cpu", "cuda", "auto"])
    t.add_argument("--task", default="lm", choices=["lm", "classify", "seq2seq"],
                   help="lm: next token; classify: labels/tags (JSONL); seq2seq: call -> response")
    t.add_argument("--codec-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="codec option, value as JSON (ensemble: performers=2, lead=[0], "
                        "augment=true)")
    t.add_argument("--encoding", default="utf-8", help="text encoding of the corpus files")
    t.add_argument("--max-vocab", type=int, help="largest vocabulary the codec accepts")
    t.add_argument("--shakespeare-file", help="local copy of tiny-shakespeare")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

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

    for module in EXTENSIONS:
        COMMANDS.update(importlib.import_module(module).add_commands(sub))
    return p


def _named_options(args) -> dict:
    if getattr(args, "shakespeare_file", None):
        return {"shakespeare": {"local": args.shakespeare_file}}
    return {}


def cmd_demo(args) -> None:
    from .demo import demo

    demo(out=args.out, minutes=args.minutes, seed=args.seed)


def cmd_corpus(args) -> None:
    from . import codecs, corpora

    codec = codecs.get(args.codec, encoding=args.encoding) if args.codec in ("char", "word") \
        else codecs.get(args.codec)
    corpus = corpora.load(args.source, codec, documents=args.documents, unit=args.unit,
                          **_named_options(args))
    codec.fit(corpus.items)
    n_tokens = sum(len(codec.tokenize(item)) for item in corpus.items)
    print(f"files: {len(corpus.sources)}   items: {len(corpus.items)}   tokens: {n_tokens:,}"
          f"   vocabulary: {codec.vocab_size - 4} (+4 special)")
    if corpus.skipped:
        print(f"skipped {len(corpus.skipped)} unreadable file(s):")
        for note in corpus.skipped:
            print(f"  {note}")
    shown = codec.vocab.tokens[4:64]
    more = " ..." if codec.vocab_size > 68 else ""
    print("vocabulary:", " ".join(repr(t)[1:-1] for t in shown) + more)
    sample = codec.render(corpus.items[0])
    print("sample:\n" + sample[:400] + ("..." if len(sample) > 400 else ""))


def cmd_train(args) -> None:
    from .config import parse_set
    from .train import train

    overrides: dict = parse_set(args.set)
    for flag, key in (("max_steps", "max_steps"), ("max_minutes", "max_minutes"),
                      ("seed", "seed"), ("device", "device")):
        if getattr(args, flag) is not None:
            overrides[key] = getattr(args, flag)
    if args.resume:
        if args.corpus or args.out:
            raise UserError("--resume RUN takes its corpus and config from RUN; "
                            "drop the corpus and --out")
        result = train(resume=args.resume, progress_bar=not args.quiet, **overrides)
    else:
        if not args.corpus or not args.out:
            raise UserError("train needs a corpus and --out RUN, e.g. "
                            "creative-rnn train text.txt --out runs/mine")
        codec = args.codec
        if args.codec_opt:  # options other than the text codecs' own flags
            from . import codecs
            from .cli_ensemble import parse_codec_options

            codec = codecs.get(args.codec, **parse_codec_options(args.codec_opt))
        if args.task != "lm":  # classify / seq2seq: their own loop and run layout (tasks/)
            from .distributed import world
            from .tasks import train_task

            if world().active:
                raise UserError(f"--task {args.task} trains in one process; start it without "
                                "torchrun (many processes train language models only)")
            train = partial(train_task, args.task)
        result = train(corpus=args.corpus, out=args.out, codec=codec, preset=args.preset,
                       config=args.config, documents=args.documents or None, unit=args.unit,
                       encoding=args.encoding, max_vocab=args.max_vocab,
                       named_options=_named_options(args), progress_bar=not args.quiet,
                       **overrides)
    from .distributed import is_main

    if not is_main():  # torchrun: rank 0 speaks for the run
        return
    val = f"{result.val_loss:.4f}" if result.val_loss is not None else "-"
    best = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "-"
    print(f"stopped ({result.stopped}) at step {result.step}: validation loss {val} nats/token,"
          f" best {best}")
    use = {"seq2seq": "respond", "classify": "classify"}.get(getattr(args, "task", "lm"),
                                                              "sample")
    print(f"run directory: {result.path}   {use}: creative-rnn {use} {result.path}")


def cmd_sample(args) -> None:
    from .sampling import load, output_paths

    gen = load(args.run, last=args.last, device=args.device, engine=args.engine)
    prime = gen.codec.read(args.prime_file) if args.prime_file else args.prime
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
    from .evaluate import evaluate

    row = evaluate(args.run, num=args.num, last=args.last,
                   constraints={"complete_bars": args.complete_bars})
    quality = row.pop("quality")
    width = max(len(k) for k in row)
    for k, v in row.items():
        print(f"{k:<{width}}  {_fmt(v)}")
    if quality:  # one row per source, one column per figure
        cols = list(quality["generated"])
        print("\n" + f"{'':<10}" + "".join(f"{c:>16}" for c in cols))
        for name, figures in quality.items():
            print(f"{name:<10}" + "".join(f"{_fmt(figures.get(c)):>16}" for c in cols))


def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))


def cmd_plot(args) -> None:
    from .viz.curves import plot_runs

    print(f"wrote {plot_runs(args.runs, args.out, x=args.x)}")


COMMANDS = {"demo": cmd_demo, "corpus": cmd_corpus, "train": cmd_train, "sample": cmd_sample,
            "evaluate": cmd_evaluate, "plot": cmd_plot}

# modules that add subcommands: one line each
EXTENSIONS: list[str] = [
    "creative_rnn.cli_web",
    "creative_rnn.cli_inside",
    "creative_rnn.cli_ensemble",
    "creative_rnn.cli_bench",
]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `creative-rnn sample RUN | head`
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

