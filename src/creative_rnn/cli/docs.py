"""`creative-rnn docs`: the documentation site, served (or built) from a source checkout.

The site (MkDocs, docs/ and mkdocs.yml at the checkout's root) is not in the installed
package: from a clone with the docs extra it is served or built here; otherwise one line says
how to get it.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import UserError

HOW = "clone the repository, pip install -e '.[docs]' there, then run creative-rnn docs " \
      "(or mkdocs serve) in it"


def add_commands(sub: argparse._SubParsersAction) -> dict[str, Callable]:
    d = sub.add_parser("docs", help="serve the documentation site on this machine (from a "
                       "source checkout with the docs extra), or build it with --build")
    d.add_argument("--build", metavar="PATH",
                   help="build the site strictly into the folder PATH instead of serving it")
    d.add_argument("--addr", default="127.0.0.1:8000",
                   help="where the site is served (default: %(default)s)")
    return {"docs": cmd_docs}


def source_root() -> Path | None:
    """The checkout this package runs from, if it has the site (an editable install); None
    for an installed wheel."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "mkdocs.yml").is_file() and (root / "docs").is_dir() else None


def has_mkdocs() -> bool:
    return importlib.util.find_spec("mkdocs") is not None


def cmd_docs(args) -> None:
    root = source_root()
    if root is None:
        raise UserError(f"the documentation site is built from a source checkout: {HOW}")
    if not has_mkdocs():
        raise UserError(f"mkdocs is not installed: pip install -e '.[docs]' in {root}, then "
                        "run creative-rnn docs again")
    config = ["--config-file", str(root / "mkdocs.yml")]
    if args.build:
        out = Path(args.build).resolve()
        cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
        verb = "build"
    else:
        print(f"serving the docs at http://{args.addr}/ (Ctrl-C stops)", file=sys.stderr)
        cmd = [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", args.addr]
        verb = "serve"
    rc = subprocess.call(cmd + config, cwd=root)
    if rc:
        raise UserError(f"mkdocs {verb} failed (exit code {rc}); its messages are above")
    if args.build:
        print(f"built the docs into {out}; open {out / 'index.html'}")
