"""`creative-rnn bench`: the performance table (see creative_rnn/bench/report.py)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..bench import report, sections
from ..core.device import resolve_device
from ..errors import UserError


def add_commands(sub: argparse._SubParsersAction) -> dict[str, Callable]:
    b = sub.add_parser("bench", help="measure training, sampling and corpus speed beside "
                       "baselines on this machine; print a table, write JSON")
    b.add_argument("--json", default="creative-rnn-bench.json", metavar="PATH",
                   help="where the rows are written (default: %(default)s)")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="device to measure; auto: the GPU where one is visible, else the CPU")
    b.add_argument("--quick", action="store_true",
                   help="fewer steps, sizes and rounds: a rough table in about a minute")
    b.add_argument("--only", action="append", default=[], metavar="SECTION",
                   help="run only these sections (training, sampling, corpus, distributed, "
                        "quality); repeatable")
    b.add_argument("--corpus-mb", type=int, default=1024,
                   help="size of the generated text corpus (default: %(default)s; --quick: 16)")
    b.add_argument("--quality", action="store_true",
                   help="also the time-to-quality race on tiny-shakespeare (10 minutes on a "
                        "CPU, 3 on a GPU, twice: ours and the plain script)")
    b.add_argument("--quality-minutes", type=float, help="budget of each quality run")
    b.add_argument("--shakespeare-file", help="local copy of tiny-shakespeare")
    return {"bench": cmd_bench}


def cmd_bench(args) -> None:
    if args.shakespeare_file:
        os.environ["CREATIVE_RNN_SHAKESPEARE"] = args.shakespeare_file
    device = resolve_device(args.device)
    available = {
        "training": partial(sections.training, quick=args.quick),
        "sampling": partial(sections.sampling, quick=args.quick),
        "corpus": partial(sections.corpus, quick=args.quick, size_mb=args.corpus_mb),
        "distributed": partial(sections.distributed, quick=args.quick),
        "quality": partial(sections.quality, minutes=args.quality_minutes),
    }
    chosen = args.only or [k for k in available if k != "quality" or args.quality]
    unknown = [k for k in chosen if k not in available]
    if unknown:
        raise UserError(f"--only {', '.join(unknown)}: no such section; choose from "
                        f"{', '.join(available)}")
    report.run({k: available[k] for k in chosen}, device, Path(args.json))
