"""``creative-rnn demo``, ``corpus``, ``train`` and ``config``: from material to a trained run,
and where each value of its configuration came from."""

from __future__ import annotations

import json
import sys

from .. import codecs, corpora, rundir
from ..codecs import NUM_SPECIAL
from ..config import MAX_MINUTES
from ..config_layers import parse_set
from ..demo import demo
from ..errors import UserError
from ..training import train
from ..training.distributed import is_main
from ..training.verdict import small_corpus_note
from .library import add_record_options, library_arg
from .options import SEED, named_options, parse_codec_options, real, whole

CODEC_HELP = f"how the corpus becomes tokens: {', '.join(codecs.names())}"


def add_commands(sub) -> dict:
    d = sub.add_parser("demo", help="tunes from the folk starter at once, then fine-tune it on "
                                     "jigs for a few minutes and write tunes again")
    d.add_argument("--out", default="creative-rnn-demo",
                   help="folder for the run, the tunes and the loss plot (a second demo reuses "
                        "its run)")
    d.add_argument("--minutes", type=real(0, MAX_MINUTES, low_open=True), default=3.0,
                   help="minutes of fine-tuning (more than 0); a slow machine needs more")
    d.add_argument("--seed", type=SEED, default=1, help="seed of the training and the tunes")
    add_record_options(d)

    c = sub.add_parser("corpus", help="size, vocabulary and a sample of a corpus")
    c.add_argument("source", nargs="+", metavar="NAME|PATH",
                   help=f"files, folders, globs or names: {', '.join(corpora.NAMED)}")
    c.add_argument("--codec", default="char", help=CODEC_HELP)
    c.add_argument("--documents", action="store_true",
                   help="count whole items framed by start/end tokens")
    c.add_argument("--unit", default="line", choices=["line", "paragraph", "file"],
                   help="in documents mode: one item per line, per paragraph or per file")
    c.add_argument("--encoding", default="utf-8", help="text encoding of the corpus files")
    c.add_argument("--shakespeare-file", help="local copy of tiny-shakespeare")

    t = sub.add_parser("train", help="train a model (or --resume one)")
    t.add_argument("corpus", nargs="*", metavar="CORPUS",
                   help=f"files, folders, globs or names: {', '.join(corpora.NAMED)}")
    t.add_argument("--out", help="run directory to create")
    t.add_argument("--resume", metavar="RUN", help="continue RUN in place")
    t.add_argument("--from", dest="init_from", metavar="NAME|RUN",
                   help="fine-tune: start from a starter model (by name) or a trained run: "
                        "its weights, codec and model size, the vocabulary grown by new "
                        "symbols, with a learning rate and budget fitted to fine-tuning")
    t.add_argument("--codec", help=CODEC_HELP + " (default char; with --from, the parent's)")
    t.add_argument("--documents", action="store_true",
                   help="train on whole items framed by start/end tokens")
    t.add_argument("--unit", default="line", choices=["line", "paragraph", "file"],
                   help="in documents mode: one item per line, per paragraph or per file")
    t.add_argument("--preset", choices=["tiny", "small", "medium", "large"],
                   help="a model and training size: tiny (seconds), small (minutes on a CPU), "
                        "medium or large (a GPU)")
    t.add_argument("--config", metavar="FILE", help="TOML or JSON file of config keys")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="one config key, over the preset and --config, e.g. hidden_size=256; "
                        "repeatable")
    t.add_argument("--max-steps", type=whole(1),
                   help="stop after this many training steps")
    t.add_argument("--max-minutes", type=real(0, MAX_MINUTES, what=" (0 = no time limit)"),
                   help="stop after this many minutes of training (0 = no time limit)")
    t.add_argument("--seed", type=SEED,
                   help="one seed for all randomness (weights, batches, dropout), for a "
                        "repeatable run")
    t.add_argument("--device", choices=["cpu", "cuda", "auto"],
                   help="where to train; auto: the GPU where one is visible, else the CPU")
    t.add_argument("--task", default="lm", choices=["lm", "classify", "seq2seq"],
                   help="lm: next token; classify: labels/tags (JSONL); seq2seq: call -> response")
    t.add_argument("--codec-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="codec option, value as JSON (ensemble: performers=2, lead=[0], "
                        "augment=true, or augment=all for every performer as the lead; "
                        "abc: transpose_to_c=true, normalize_unit=false)")
    t.add_argument("--encoding", default="utf-8", help="text encoding of the corpus files")
    t.add_argument("--max-vocab", type=whole(1), help="largest vocabulary the codec accepts")
    t.add_argument("--shakespeare-file", help="local copy of tiny-shakespeare")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    g = sub.add_parser("config", help="a run's configuration: each key, its value and where "
                                      "it came from (preset, file, fitted, --set, flags)")
    g.add_argument("run", metavar="RUN", help="a run directory, or a starter model's name")
    g.add_argument("--json", action="store_true", help="print JSON")
    return {"demo": cmd_demo, "corpus": cmd_corpus, "train": cmd_train, "config": cmd_config}


def cmd_demo(args) -> None:
    demo(out=args.out, minutes=args.minutes, seed=args.seed, library=library_arg(args))


def cmd_corpus(args) -> None:
    codec = codecs.for_files(args.codec, encoding=args.encoding)
    corpus = corpora.load(args.source, codec, documents=args.documents, unit=args.unit,
                          **named_options(args))
    for name in args.source:
        if name in corpora.NAMED:  # a built-in: say what it is
            print(f"{name}: {corpora.NAMED[name][0]}")
    codec.fit(corpus.items)
    # encode, not tokenize: a codec such as ensemble packs values into ids with no tokens
    n_tokens = sum(len(codec.encode(item)) for item in corpus.items)
    print(f"files: {len(corpus.sources)}   items: {len(corpus.items)}   tokens: {n_tokens:,}"
          f"   vocabulary: {codec.vocab_size - NUM_SPECIAL} (+{NUM_SPECIAL} special)")
    note = small_corpus_note(n_tokens, codec.name)  # before training a model on it
    if note:
        print(note)
    if corpus.skipped:
        print(f"skipped {len(corpus.skipped)} unreadable file(s):")
        for note in corpus.skipped:
            print(f"  {note}")
    shown = codec.vocab.tokens[NUM_SPECIAL:64]
    more = " ..." if codec.vocab_size > 64 else ""
    print("vocabulary:", " ".join(repr(t)[1:-1] for t in shown) + more)
    sample = codec.render(corpus.items[0])
    print("sample:\n" + sample[:400] + ("..." if len(sample) > 400 else ""))


def cmd_train(args) -> None:
    overrides: dict = parse_set(args.set)
    said = dict.fromkeys(overrides, "--set")  # where each value came from, for the run's record
    said["documents"] = "flag --documents"
    for flag in ("max_steps", "max_minutes", "seed", "device"):
        if getattr(args, flag) is not None:
            overrides[flag] = getattr(args, flag)
            said[flag] = f"flag --{flag.replace('_', '-')}"
    if args.resume:
        if args.corpus or args.out:
            raise UserError("--resume RUN takes its corpus and config from RUN; "
                            "drop the corpus and --out")
        result = train(resume=args.resume, progress_bar=not args.quiet,
                       init_from=args.init_from, override_sources=said, **overrides)
    else:
        if not args.corpus or not args.out:
            raise UserError("train needs a corpus and --out RUN, e.g. "
                            "creative-rnn train text.txt --out runs/mine")
        codec = args.codec
        if args.codec_opt and args.init_from:
            raise UserError(f"--from {args.init_from} keeps its parent's codec options; drop "
                            "--codec-opt")
        if args.codec_opt:  # options other than the text codecs' own flags
            codec = codecs.get(args.codec or "char", **parse_codec_options(args.codec_opt))
        result = train(corpus=args.corpus, out=args.out, codec=codec, preset=args.preset,
                       config=args.config, documents=args.documents or None, unit=args.unit,
                       encoding=args.encoding, max_vocab=args.max_vocab,
                       named_options=named_options(args), progress_bar=not args.quiet,
                       task=args.task, init_from=args.init_from, override_sources=said,
                       **overrides)
    if not is_main():  # torchrun: rank 0 speaks for the run
        return
    val = f"{result.val_loss:.4f}" if result.val_loss is not None else "-"
    best = f"{result.best_val_loss:.4f}" if result.best_val_loss is not None else "-"
    print(f"stopped ({result.stopped}) at step {result.step}: validation loss {val} nats/token,"
          f" best {best}")
    use = {"seq2seq": "respond", "classify": "classify"}.get(getattr(args, "task", "lm"),
                                                              "sample")
    print(f"run directory: {result.path}   {use}: creative-rnn {use} {result.path}")
    if result.warning:  # not clearly below the unigram baseline (training/verdict.py)
        print(f"warning: {result.warning}", file=sys.stderr)


def cmd_config(args) -> None:
    rows = rundir.provenance(args.run)
    if args.json:
        out: dict = {"run": args.run, "recorded": rows[0][3] != rundir.BEFORE_PROVENANCE
                     if rows else False}
        for section, key, value, source in rows:
            out.setdefault(section, {})[key] = {"value": value, "source": source}
        print(json.dumps(out, indent=2))
        return
    if rows and rows[0][3] == rundir.BEFORE_PROVENANCE:
        print(f"{args.run}: {rundir.BEFORE_PROVENANCE}: its values, not where they came from")
    values = [value if isinstance(value, str) else json.dumps(value) for *_, value, _ in rows]
    width = max((len(key) for _, key, _, _ in rows), default=0)
    shown = max(map(len, values), default=0)
    for i, (section, key, _, source) in enumerate(rows):
        if i == 0 or rows[i - 1][0] != section:
            print(f"[{section}]")
        said = "" if source == rundir.BEFORE_PROVENANCE else source
        print(f"  {key:<{width}}  {values[i]:<{shown}}  {said}".rstrip())
