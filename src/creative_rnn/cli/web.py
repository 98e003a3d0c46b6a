"""``creative-rnn serve RUN…``: the web studio on a local port."""

from __future__ import annotations

import argparse
import sys

from ..core.device import resolve_device
from ..errors import UserError
from .library import add_record_options, library_arg

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_commands(sub) -> dict:
    s = sub.add_parser("serve", help="web studio: generate, listen, look inside, train")
    s.add_argument("runs", nargs="*", metavar="RUN",
                   help="run directories (or starter models' names) to serve")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; anything but loopback is reachable by others")
    s.add_argument("--port", type=int, default=8000, help="port to listen on")
    s.add_argument("--allow-host", action="append", default=[], metavar="NAME[:PORT]",
                   help="also answer pages opened by this host name (e.g. through a tunnel "
                        "or a proxy); the studio answers only its own address by default")
    s.add_argument("--runs-dir", help="folder for runs trained from the page (enables training)")
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"],
                   help="where the served runs generate; auto: the GPU where one is visible")
    s.add_argument("--max-length", type=int, default=2000, help="cap on new tokens per sample")
    s.add_argument("--max-generations", type=int, default=8,
                   help="generation streams at once; more are answered 'busy' (429)")
    s.add_argument("--max-trainings", type=int, default=1,
                   help="trainings from the page at once; more are answered 'busy' (429)")
    s.add_argument("--max-upload-mb", type=float, default=2.0, help="cap on an uploaded corpus")
    add_record_options(s)  # the library the studio keeps its pieces and drafts in
    return {"serve": cmd_serve}


def limits_from(args: argparse.Namespace):
    from ..web import Limits  # the studio's libraries load for `serve` only (~0.1 s)

    for flag in ("max_length", "max_generations", "max_trainings", "port"):
        if getattr(args, flag) < (0 if flag == "port" else 1):
            raise UserError(f"--{flag.replace('_', '-')} must be positive")
    if args.max_upload_mb <= 0:
        raise UserError("--max-upload-mb must be positive")
    return Limits(max_length=args.max_length, max_generations=args.max_generations,
                  max_trainings=args.max_trainings,
                  max_upload=int(args.max_upload_mb * 1024 * 1024))


def hosts_from(args: argparse.Namespace) -> list[str]:
    """The Host names the server answers: its own address (and the loopback names for a
    loopback bind), plus each --allow-host, on the server's port unless one is given.
    Any other name is refused, so a web page cannot reach the studio by DNS rebinding."""
    from ..web.guard import host_name, served_hosts

    extra = []
    for name in args.allow_host:
        name = name.strip().lower()
        if not name or any(c in name for c in "/@ "):
            raise UserError(f"--allow-host {name!r}: give a host name, e.g. --allow-host "
                            "studio.local or --allow-host localhost:9000")
        extra.append(name if host_name(name) != name else f"{name}:{args.port}")
    return served_hosts(args.host, args.port) + extra


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from ..web import create_app
    from ..web.training import closing

    if not args.runs and not args.runs_dir:
        raise UserError("serve needs a RUN to serve or --runs-dir DIR to train new ones, e.g. "
                        "creative-rnn serve runs/mine")
    device = str(resolve_device(args.device))
    app = create_app(args.runs, runs_dir=args.runs_dir, limits=limits_from(args), device=device,
                     hosts=hosts_from(args), library_at=library_arg(args))
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}: anyone who can reach this address can use "
              "the studio (generate, train, upload). Use --host 127.0.0.1 to keep it local. "
              "It answers only to the names it was started with: add others with "
              "--allow-host NAME.", file=sys.stderr)
    names = ", ".join(app.state.studio.models) or "none yet"
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"creative-rnn studio serving {names} at http://{host}:{args.port}/  (Ctrl-C stops)")
    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            closing(app)  # open streams end and trainings save, so shutdown is quick
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                            timeout_graceful_shutdown=10)
    Server(config).run()
