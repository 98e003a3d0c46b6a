"""Subcommands for live play and conditional models: ``perform``, ``respond``, ``classify``."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import UserError
from ..library import Recorded, location, record
from ..library.take import Take, take_piece
from ..live import OscServer, load_stepper, parse_host_port, run_lines
from ..sampling import Classifier, Responder
from .library import add_record_options, library_arg, tell
from .options import GREEDY_HELP, SEED_HELP, TEMPERATURE_HELP, TOP_K_HELP, TOP_P_HELP


def add_commands(sub) -> dict:
    p = sub.add_parser("perform", help="live call-and-response with a trained run "
                                       "(stdin/stdout lines, or OSC with --osc)")
    p.add_argument("run", metavar="RUN",
                   help="the run directory to play with, or a starter model's name")
    p.add_argument("--osc", nargs="?", const="127.0.0.1:5005", metavar="HOST:PORT",
                   help="listen for OSC /lead messages over UDP (default 127.0.0.1:5005)")
    p.add_argument("--reply", metavar="HOST:PORT",
                   help="send /answer messages here (default: back to each sender)")
    p.add_argument("--temperature", type=float, default=1.0, help=TEMPERATURE_HELP)
    p.add_argument("--top-k", type=int, default=0, help=TOP_K_HELP)
    p.add_argument("--top-p", type=float, default=1.0, help=TOP_P_HELP)
    p.add_argument("--greedy", action="store_true", help=GREEDY_HELP)
    p.add_argument("--seed", type=int, help=SEED_HELP)
    p.add_argument("--last", action="store_true", help="latest weights instead of the best")
    add_record_options(p)
    m = p.add_argument_group("MIDI (runs whose codec has a live voice: melody, "
                             "performance, abc, plugins; see README, Play live)")
    m.add_argument("--midi-in", metavar="PORT", help="listen to this MIDI input port "
                   "(a name, or a unique part of one; `creative-rnn midi-ports` lists them)")
    m.add_argument("--midi-out", metavar="PORT", help="play on this MIDI output port")
    m.add_argument("--virtual", metavar="NAME", help="open ports 'NAME in' and 'NAME out' "
                   "for a DAW or synth to connect to (for whichever port is not named)")
    m.add_argument("--midi-api", choices=["alsa", "jack", "coremidi", "windows"],
                   help="MIDI system (default: the platform's; or $CREATIVE_RNN_MIDI_API)")
    m.add_argument("--mode", default="call",
                   choices=["call", "call-and-response", "accompany", "continue"],
                   help="call: answer each phrase after --wait s of silence; accompany: "
                        "play along step by step; continue: continue --from FILE (or the "
                        "last phrase) once")
    m.add_argument("--wait", type=float, default=1.0,
                   help="seconds of silence that end a phrase (default 1)")
    m.add_argument("--held-timeout", type=float, metavar="SECONDS",
                   help="forget a note held this long without its note-off: a lost "
                        "note-off must not silence the answers (default 5)")
    m.add_argument("--bars", type=float, default=2.0, help="answer length in 4/4 bars")
    m.add_argument("--seconds", type=float, help="answer length in seconds (instead of bars)")
    m.add_argument("--bpm", type=float, default=120.0, help="tempo of the grid (default 120)")
    m.add_argument("--ahead", type=float, default=0.1,
                   help="seconds the answer is computed before it sounds (default 0.1)")
    m.add_argument("--channel", type=int, default=1, help="output MIDI channel 1-16")
    m.add_argument("--in-channel", type=int, help="hear only this channel 1-16 (default all)")
    m.add_argument("--clock", choices=["internal", "in", "out"], default="internal",
                   help="in: follow the MIDI clock on --midi-in; out: send ours")
    m.add_argument("--from", dest="source", metavar="FILE",
                   help="continue: the MIDI file to continue")
    m.add_argument("--out", metavar="FILE", help="continue: write primer + continuation here")
    m.add_argument("--answers", type=int, default=0,
                   help="end after this many answers (default 0: until stopped)")
    m.add_argument("--cc", metavar="NAME=CC,...", help="change the control mapping, e.g. "
                   "temperature=74,reset=64 (controls: temperature mode pause reset stop)")
    m.add_argument("--control-osc", metavar="HOST:PORT",
                   help="take /temperature /mode /pause /reset /stop over OSC")

    mp = sub.add_parser("midi-ports", help="list the MIDI input and output ports")
    mp.add_argument("--midi-api", choices=["alsa", "jack", "coremidi", "windows"],
                    help="MIDI system (default: the platform's; or $CREATIVE_RNN_MIDI_API)")

    r = sub.add_parser("respond", help="answer a call with an encoder-decoder (seq2seq) run")
    r.add_argument("run", metavar="RUN", help="a seq2seq run directory")
    r.add_argument("--call", required=True, help="the call, in the codec's text form")
    r.add_argument("--temperature", type=float, default=0.8, help=TEMPERATURE_HELP)
    r.add_argument("--top-k", type=int, default=0, help=TOP_K_HELP)
    r.add_argument("--top-p", type=float, default=1.0, help=TOP_P_HELP)
    r.add_argument("--greedy", action="store_true", help=GREEDY_HELP)
    r.add_argument("--beam", type=int, default=0, help="beam search with this width")
    r.add_argument("--length", type=int, default=200, help="most tokens in an answer")
    r.add_argument("--num", type=int, default=1, help="answers to give")
    r.add_argument("--seed", type=int, help=SEED_HELP)
    r.add_argument("--unknown", default="error", choices=["error", "skip"],
                   help="call tokens missing from the vocabulary: error or skip")

    c = sub.add_parser("classify", help="label a sequence (or tag its steps) with a "
                                        "classify run")
    c.add_argument("run", metavar="RUN", help="a classify run directory")
    c.add_argument("--input", required=True, help="the sequence, in the codec's text form")
    return {"perform": cmd_perform, "respond": cmd_respond, "classify": cmd_classify,
            "midi-ports": cmd_midi_ports}


def _midi_settings(args):
    from ..midi_live import Settings
    from ..midi_live.controls import mode_name

    for flag, value, low, high in (("--wait", args.wait, 0.0, 60.0),
                                   ("--bars", args.bars, 0.25, 1000.0),
                                   ("--seconds", args.seconds, 0.1, 3600.0),
                                   ("--bpm", args.bpm, 20.0, 400.0),
                                   ("--ahead", args.ahead, 0.005, 2.0),
                                   ("--channel", args.channel, 1, 16),
                                   ("--in-channel", args.in_channel, 1, 16),
                                   ("--answers", args.answers, 0, 10**6),
                                   ("--held-timeout", args.held_timeout, 0.1, 3600.0)):
        if value is not None and not low <= value <= high:
            raise UserError(f"{flag} {value:g} is out of range: give {low:g}-{high:g}")
    mode = mode_name(args.mode)
    if (args.source or args.out) and mode != "continue":
        raise UserError("--from and --out go with --mode continue")
    return Settings(mode=mode, wait=args.wait, bars=args.bars, seconds=args.seconds,
                    bpm=args.bpm, ahead=args.ahead, channel=args.channel - 1,
                    in_channel=None if args.in_channel is None else args.in_channel - 1,
                    clock=args.clock, source=args.source, out_file=args.out,
                    answers=args.answers, held_timeout=Settings.held_timeout
                    if args.held_timeout is None else args.held_timeout)


def cmd_perform(args) -> None:
    midi = args.midi_in or args.midi_out or args.virtual
    if midi and args.osc:
        raise UserError("--osc plays the /lead protocol; with MIDI use --control-osc for "
                        "the controls")
    settings = _midi_settings(args) if midi else None
    stepper = load_stepper(args.run, last=args.last, temperature=args.temperature,
                           top_k=args.top_k, top_p=args.top_p, greedy=args.greedy,
                           seed=args.seed)
    if location(library_arg(args)) is None:
        _play(args, stepper, settings, midi)
        return
    take, written = Take(stepper), []
    try:  # the take is recorded however the performance ends (Ctrl-C included)
        written = _play(args, take, settings, midi)
    finally:
        _record_take(args, take, settings, written)


def _record_take(args, take, settings, written: list) -> None:
    """Both voices of the take into the library, with the settings it was played with."""
    played = {k: getattr(args, k) for k in ("temperature", "top_k", "top_p", "greedy", "seed")}
    played["mode"] = settings.mode if settings is not None else ("osc" if args.osc else "lines")
    try:
        piece = take_piece(take, args.run, args.last, played, written)
    except Exception as e:  # noqa: BLE001 - never in the way of how the performance ended
        tell(Recorded(why=f"its provenance could not be read ({type(e).__name__}: {e})"),
             written)
        return
    if piece is not None:
        tell(record(piece, library_arg(args)), written)


def _play(args, stepper, settings, midi) -> list:
    """The performance itself; the files it wrote."""
    if midi:
        from ..midi_live import parse_cc_map
        from ..midi_live.session import perform

        osc = parse_host_port(args.control_osc) if args.control_osc else None
        performer = perform(stepper, settings, midi_in=args.midi_in, midi_out=args.midi_out,
                            virtual=args.virtual, api=args.midi_api,
                            cc=parse_cc_map(args.cc), osc=osc)
        print(f"{performer.answers} answer(s)" + (f"; wrote {performer.written}"
                                                  if performer.written else ""),
              file=sys.stderr)
        return [performer.written] if performer.written else []
    if args.osc is None:
        if sys.stdin.isatty():
            print("type the lead value(s) and Enter; 'reset' starts again; Ctrl-D ends",
                  file=sys.stderr)
        run_lines(stepper, sys.stdin)
        return []
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
    return []


def cmd_midi_ports(args) -> None:
    from ..midi_live import list_ports

    ins, outs = list_ports(args.midi_api)
    print("inputs (--midi-in):")
    for name in ins:
        print(f"  {name}")
    print("outputs (--midi-out):")
    for name in outs:
        print(f"  {name}")
    if not ins and not outs:
        print("  (no ports: connect a device, start a DAW, or use --virtual NAME)")


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
