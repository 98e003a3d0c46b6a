"""Subcommands for live play and conditional models: ``perform``, ``respond``, ``classify``."""

from __future__ import annotations

import sys
from typing import Any

from ..live import OscServer, load_stepper, parse_host_port, run_lines
from ..sampling import Classifier, Responder


def add_commands(sub) -> dict:
    p = sub.add_parser("perform", help="live call-and-response with a trained run "
                                       "(stdin/stdout lines, or OSC with --osc)")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--osc", nargs="?", const="127.0.0.1:5005", metavar="HOST:PORT",
                   help="listen for OSC /lead messages over UDP (default 127.0.0.1:5005)")
    p.add_argument("--reply", metavar="HOST:PORT",
                   help="send /answer messages here (default: back to each sender)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--seed", type=int)
    p.add_argument("--last", action="store_true", help="latest weights instead of the best")

    r = sub.add_parser("respond", help="answer a call with an encoder-decoder (seq2seq) run")
    r.add_argument("run", metavar="RUN")
    r.add_argument("--call", required=True, help="the call, in the codec's text form")
    r.add_argument("--temperature", type=float, default=0.8)
    r.add_argument("--top-k", type=int, default=0)
    r.add_argument("--top-p", type=float, default=1.0)
    r.add_argument("--greedy", action="store_true")
    r.add_argument("--beam", type=int, default=0, help="beam search with this width")
    r.add_argument("--length", type=int, default=200, help="most tokens in an answer")
    r.add_argument("--num", type=int, default=1)
    r.add_argument("--seed", type=int)
    r.add_argument("--unknown", default="error", choices=["error", "skip"])

    c = sub.add_parser("classify", help="label a sequence (or tag its steps) with a "
                                        "classify run")
    c.add_argument("run", metavar="RUN")
    c.add_argument("--input", required=True, help="the sequence, in the codec's text form")
    return {"perform": cmd_perform, "respond": cmd_respond, "classify": cmd_classify}


def cmd_perform(args) -> None:
    stepper = load_stepper(args.run, last=args.last, temperature=args.temperature,
                           top_k=args.top_k, top_p=args.top_p, greedy=args.greedy,
                           seed=args.seed)
    if args.osc is None:
        if sys.stdin.isatty():
            print("type the lead value(s) and Enter; 'reset' starts again; Ctrl-D ends",
                  file=sys.stderr)
        run_lines(stepper, sys.stdin)
        return
    host, port = parse_host_port(args.osc)
    reply = parse_host_port(args.reply) if args.reply else None
    server = OscServer(stepper, host, port, reply)
    h, p = server.address
    print(f"listening for OSC /lead on {h}:{p}; answers go to "
          f"{args.reply or 'each sender'} as /answer (Ctrl-C ends)", file=sys.stderr)
    try:
        server.serve()
    except KeyboardInterrupt:
        print(f"\nanswered {server.answered} step(s)", file=sys.stderr)


def cmd_respond(args) -> None:
    responder = Responder(args.run)
    opts: dict[str, Any] = dict(length=args.length, num=args.num, beam=args.beam,
                                unknown=args.unknown)
    if not args.beam:
        opts.update(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                    greedy=args.greedy, seed=args.seed)
    for i, answer in enumerate(responder.respond(args.call, **opts), 1):
        if args.num > 1:
            print(f"--- answer {i} ---")
        print(responder.codec.render(answer))


def cmd_classify(args) -> None:
    result = Classifier(args.run).predict(args.input)
    if isinstance(result, str):
        print(result)
    else:
        for token, tag in result:
            print(f"{token!r}\t{tag}")
