"""``creative-rnn codecs``: the codecs this install knows, built in or from other packages
(entry-point plugins, with their package), and any plugin that could not be loaded."""

from __future__ import annotations

import json

from .. import codecs


def add_commands(sub) -> dict:
    c = sub.add_parser("codecs", help="list the codecs (--codec NAME): built-in ones and "
                                      "plugins from other packages")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return {"codecs": cmd_codecs}


def _about(name: str) -> str:
    doc = (type(codecs.get(name)).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def cmd_codecs(args) -> None:
    plugins, left_out = codecs.plugins(), codecs.left_out()
    rows = [{"name": n, "from": plugins[n].package if n in plugins else "built-in",
             "entry_point": plugins[n].target if n in plugins else None, "about": _about(n)}
            for n in codecs.names()]
    if args.json:
        print(json.dumps({"codecs": rows, "left_out": left_out}, indent=2))
        return
    width = [max(len(r[k]) for r in rows) for k in ("name", "from")]
    for r in rows:
        print(f"{r['name']:<{width[0]}}  {r['from']:<{width[1]}}  {r['about']}")
    for why in left_out.values():  # also said on stderr when the registry read them
        print(f"not loaded: {why}")
