"""`creative-rnn viz` and `creative-rnn viz-gradients`: looking inside a trained network."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..errors import UserError
from ..viz.activation_page import write_page
from ..viz.gradients import decay_rate, eigen_demo, measure, plot


def add_commands(sub: argparse._SubParsersAction) -> dict[str, Callable]:
    v = sub.add_parser("viz", help="HTML page of the text coloured by each cell's activation")
    v.add_argument("run", metavar="RUN", help="the run directory to look inside")
    v.add_argument("--text", required=True, metavar="FILE",
                   help="a file in the run's kind of data (text, .abc, ...) to run the model over")
    v.add_argument("--out", required=True, metavar="PAGE.html",
                   help="the page to write (self-contained HTML)")
    v.add_argument("--max-tokens", type=int, default=1500,
                   help="tokens of the file to show (the page holds every cell's value per token)")
    v.add_argument("--last", action="store_true", help="latest weights instead of the best")

    g = sub.add_parser("viz-gradients",
                       help="plot ‖∂L_T/∂h_t‖ against T − t, trained vs fresh RNN/GRU/LSTM")
    g.add_argument("run", metavar="RUN", help="the run directory to measure")
    g.add_argument("--out", required=True, metavar="PLOT.png", help="the plot to write")
    g.add_argument("--text", metavar="FILE", help="measure on this file (default: the run's "
                   "validation data)")
    g.add_argument("--length", type=int, default=100, help="steps back from the loss")
    g.add_argument("--windows", type=int, default=8, help="data windows averaged over")
    g.add_argument("--seed", type=int, default=0,
                   help="seed that picks the data windows and the fresh networks' weights")
    g.add_argument("--last", action="store_true", help="latest weights instead of the best")
    return {"viz": cmd_viz, "viz-gradients": cmd_viz_gradients}


def cmd_viz(args) -> None:
    if args.max_tokens < 2:
        raise UserError(f"--max-tokens must be at least 2, got {args.max_tokens}")
    print(f"wrote {write_page(args.run, args.text, args.out, args.max_tokens, args.last)}")


def cmd_viz_gradients(args) -> None:
    if args.length < 8 or args.windows < 1:
        raise UserError("--length must be at least 8 and --windows at least 1")
    norms = measure(args.run, length=args.length, count=args.windows, seed=args.seed,
                    text=args.text, last=args.last)
    path = plot(norms, eigen_demo(), args.out)
    for name, v in norms.items():
        print(f"{name:<14} ‖∂L_T/∂h_t‖ falls by {v[-1] / v[0]:.2e} over {len(v) - 1} steps"
              f" (decay {decay_rate(v):.3f} per step)")
    print(f"wrote {path}")
