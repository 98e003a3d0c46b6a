"""The `creative-rnn` command: parses flags, calls the Python API, prints. No logic of its own.

User errors print one line and exit with code 2. Each group of subcommands is one module
here with ``add_commands(subparsers) -> {name: function(args)}``:

    training.py  demo, corpus, train        reading.py  sample, evaluate, plot
    play.py      perform, respond, classify  inside.py   viz, viz-gradients
    web.py       serve                       bench.py    bench
    docs.py      docs                        library.py  library (pieces made so far)
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import UserError
from . import bench, codec_list, docs, inside, library, models, play, reading, training, web

GROUPS = (training, reading, play, inside, web, bench, docs, library, models, codec_list)


def parser() -> tuple[argparse.ArgumentParser, dict]:
    p = argparse.ArgumentParser(prog="creative-rnn", description="Creative prediction with RNNs.")
    p.add_argument("--version", action="version", version=f"creative-rnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict = {}
    for group in GROUPS:
        commands.update(group.add_commands(sub))
    return p, commands


def main(argv: list[str] | None = None) -> int:
    p, commands = parser()
    args = p.parse_args(argv)
    try:
        commands[args.command](args)
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
