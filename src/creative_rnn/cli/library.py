"""``creative-rnn library ...``: the pieces the toolkit made, with their provenance.

Also the two options every command that records takes (``add_record_options``) and the
line it prints (``tell``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..errors import UserError
from ..library import MAKERS, Library, LibraryError, Recorded, location


def add_record_options(p) -> None:
    """``--library PATH`` and ``--no-library`` for a command that records what it makes."""
    p.add_argument("--library", metavar="PATH",
                   help="record what is made in this library file (default: "
                        "$CREATIVE_RNN_LIBRARY, else runs/library.sqlite)")
    p.add_argument("--no-library", action="store_true",
                   help="do not record what is made in the library")


def library_arg(args) -> str | None:
    """The library a recording command writes to: "off", a path, or None (the default)."""
    return "off" if getattr(args, "no_library", False) else getattr(args, "library", None)


def tell(done: Recorded, files=()) -> None:
    """The one line about recording, on stderr (stdout may be a piece piped elsewhere)."""
    line = done.line(files)
    if line:
        print(line, file=sys.stderr)


def _filters(p) -> None:
    p.add_argument("--starred", action="store_true", help="only starred pieces")
    p.add_argument("--tag", metavar="T", help="only pieces with this tag")
    p.add_argument("--run", metavar="R", help="only pieces of this run (as given, or a "
                                              "starter's name)")
    p.add_argument("--search", metavar="Q", help="only pieces whose title, notes, tags, run "
                                                 "or text contain Q")
    p.add_argument("--maker", choices=MAKERS, help="only pieces this maker made")


def add_commands(sub) -> dict:
    lib = sub.add_parser("library", help="the pieces made so far: list, star, tag, search, "
                                         "export, regenerate, remove, train on favourites")
    cmds = lib.add_subparsers(dest="library_command", required=True, metavar="ACTION",
                              help="what to do with the library")

    def action(name: str, help: str):
        p = cmds.add_parser(name, help=help)
        p.add_argument("--library", metavar="PATH",
                       help="the library file (default: $CREATIVE_RNN_LIBRARY, else "
                            "runs/library.sqlite)")
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    p = action("list", "pieces, newest first")
    _filters(p)
    p.add_argument("--drafts", action="store_true", help="the studio's Write drafts instead")
    p.add_argument("--limit", type=int, default=50, help="most pieces shown (default 50)")
    p.add_argument("--offset", type=int, default=0, help="skip this many first")
    p = action("search", "pieces whose title, notes, tags, run or text contain Q")
    p.add_argument("query", metavar="Q", help="what to look for (any 3+ characters match anywhere)")
    p.add_argument("--limit", type=int, default=50, help="most pieces shown (default 50)")
    p = action("show", "one piece whole, with its provenance")
    p.add_argument("id", type=int, metavar="ID", help="the piece's id (list shows them)")
    p = action("star", "star pieces (--off: unstar)")
    p.add_argument("ids", type=int, nargs="+", metavar="ID", help="the pieces' ids")
    p.add_argument("--off", action="store_true", help="take the star away")
    p = action("tag", "add tags to a piece (--remove: take them away)")
    p.add_argument("id", type=int, metavar="ID", help="the piece's id")
    p.add_argument("tags", nargs="+", metavar="TAG", help="tags (no commas)")
    p.add_argument("--remove", action="store_true", help="remove these tags instead")
    p = action("title", "give a piece a title and notes")
    p.add_argument("id", type=int, metavar="ID", help="the piece's id")
    p.add_argument("title", metavar="TITLE", help="its title")
    p.add_argument("--notes", help="notes to keep with it")
    p = action("remove", "remove pieces from the library (their files stay)")
    p.add_argument("ids", type=int, nargs="+", metavar="ID", help="the pieces' ids")
    p = action("regenerate", "make a piece again from its provenance; say if it is identical")
    p.add_argument("id", type=int, metavar="ID", help="the piece's id")
    p = action("export", "write pieces as a tunebook, MIDI files, a text file or JSON")
    _filters(p)
    # no argparse choices: the books come from the codecs, plugins included, which the
    # parser should not load on every command; export() names the choices
    p.add_argument("--format", required=True, metavar="FORMAT",
                   help="abc: one tunebook (or another codec's book); midi: a folder of "
                        ".mid; text: one file; json")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="the file to write (midi: a folder)")
    p = action("train", "start a new run from RUN's weights on its starred pieces")
    p.add_argument("run", metavar="RUN", help="the run (or starter) whose pieces you starred")
    p.add_argument("--out", required=True, metavar="NEW_RUN", help="the new run's folder")
    p.add_argument("--tag", metavar="T", help="train on pieces with this tag instead of starred")
    p.add_argument("--ids", type=int, nargs="+", metavar="ID",
                   help="train on these pieces instead of the starred ones")
    p.add_argument("--mix", type=float, default=0.0, metavar="SHARE",
                   help="share 0-0.95 of the training items drawn from RUN's own corpus "
                        "(default 0: only your pieces)")
    p.add_argument("--max-steps", type=int, default=200,
                   help="training steps (default 200: a few passes over a few pieces)")
    p.add_argument("--lr", type=float,
                   help="learning rate (default: fitted to fine-tuning, a fifth of the run's)")
    return {"library": cmd_library}


def cmd_library(args) -> None:
    if location(args.library) is None:
        raise UserError("the library is switched off ($CREATIVE_RNN_LIBRARY=off); give "
                        "--library PATH")
    with Library(args.library) as lib:
        ACTIONS[args.library_command](lib, args)


def _out(args, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else text)


def _row(p: dict[str, Any]) -> str:
    star = "*" if p["star"] else " "
    head = p["title"] or " ".join((p["preview"] or "").split())[:60]
    tags = f" [{', '.join(p['tags'])}]" if p["tags"] else ""
    run = p["starter"] or p["run"] or "-"
    run = run if len(run) <= 24 else "..." + run[-21:]  # a path's end names the run
    return (f"{p['id']:>6} {star} {p['created'][:16].replace('T', ' ')}  {p['maker']:<15} "
            f"{run:<24} {head}{tags}")


def _list(lib: Library, args) -> None:
    filters = dict(starred=True if args.starred else None, tag=args.tag, run=args.run,
                   search=args.search, maker=args.maker, drafts=args.drafts)
    rows = lib.list(**filters, limit=args.limit, offset=args.offset)
    total = lib.count(**filters)
    lines = [_row(p) for p in rows] + [f"{len(rows)} of {total} piece(s)"]
    _out(args, {"total": total, "pieces": rows}, "\n".join(lines))


def _search(lib: Library, args) -> None:
    rows = lib.list(search=args.query, limit=args.limit)
    total = lib.count(search=args.query)
    _out(args, {"total": total, "pieces": rows},
         "\n".join([_row(p) for p in rows] + [f"{len(rows)} of {total} piece(s)"]))


def _show(lib: Library, args) -> None:
    p = lib.get(args.id)
    s = p["settings"] or {}
    lines = [f"piece {p['id']} ({p['maker']}, {p['created']})" + (" *starred" if p["star"]
                                                                    else "")]
    if p["title"] or p["notes"]:
        lines.append(f"title: {p['title'] or '-'}   notes: {p['notes'] or '-'}")
    lines += [f"run: {p['run']}" + (f" (starter {p['starter']})" if p["starter"] else "") +
              f", {p['weights'] or '?'} weights at step {p['step']}, sha256 "
              f"{(p['weights_sha256'] or '?')[:16]}...",
              f"codec: {p['codec']}   seed: {p['seed']}   new tokens: {p['length']}",
              "settings: " + ", ".join(f"{k}={v}" for k, v in s.items() if k != "versions"),
              f"prime: {p['prime']!r}"]
    if p["novelty"]:
        n = p["novelty"]
        lines.append(f"copies: longest {n.get('longest')} tokens, "
                     f"{100 * (n.get('ngram_share') or 0):.1f}% of {n.get('ngram')}-grams in "
                     "the corpus")
    if p["tags"]:
        lines.append("tags: " + ", ".join(p["tags"]))
    if p["files"]:
        lines.append("files: " + ", ".join(p["files"]))
    lines += ["", p["text"] or ""]
    _out(args, p, "\n".join(lines))


def _star(lib: Library, args) -> None:
    for pid in args.ids:
        lib.star(pid, not args.off)
    _out(args, {"ids": args.ids, "star": not args.off},
         f"{'unstarred' if args.off else 'starred'} {', '.join(map(str, args.ids))}")


def _tag(lib: Library, args) -> None:
    tags = lib.tag(args.id, remove=args.tags) if args.remove else lib.tag(args.id, add=args.tags)
    _out(args, {"id": args.id, "tags": tags},
         f"piece {args.id}: tags {', '.join(tags) or '(none)'}")


def _title(lib: Library, args) -> None:
    lib.annotate(args.id, title=args.title, notes=args.notes)
    _out(args, {"id": args.id, "title": args.title, "notes": args.notes},
         f"piece {args.id}: {args.title}")


def _remove(lib: Library, args) -> None:
    for pid in args.ids:
        lib.get(pid)  # every id checked before any is removed
    for pid in args.ids:
        lib.remove(pid)
    _out(args, {"removed": args.ids}, f"removed {', '.join(map(str, args.ids))} (their "
                                      "files are kept)")


def _regenerate(lib: Library, args) -> None:
    from ..library import regenerate

    r = regenerate(args.id, lib)
    _out(args, {"id": r.piece, "identical": r.identical, "why": r.why, "ids": r.ids,
                "text": r.text}, f"{r.text}\n{r.line()}")


def _export(lib: Library, args) -> None:
    from ..library import export
    from ..library.pieces import MAX_LIST

    filters = dict(starred=True if args.starred else None, tag=args.tag, run=args.run,
                   search=args.search, maker=args.maker)
    total = lib.count(**filters)
    if not total:
        raise LibraryError("no piece matches; `creative-rnn library list` with the same "
                           "filters shows what there is")
    pieces = []
    for offset in range(0, total, MAX_LIST):
        pieces += [lib.get(p["id"]) for p in lib.list(**filters, limit=MAX_LIST,
                                                       offset=offset)]
    written = export(pieces[::-1], args.format, args.out)  # oldest first, as made
    _out(args, {"pieces": len(pieces), "wrote": [str(p) for p in written]},
         f"exported {len(pieces)} piece(s) to {args.out}" +
         (f" ({len(written)} files)" if len(written) > 1 else ""))


def _train(lib: Library, args) -> None:
    from ..library import train_on_favourites

    if not 0.0 <= args.mix <= 0.95:
        raise UserError(f"--mix {args.mix:g}: give a share from 0 to 0.95")
    overrides = {"max_steps": args.max_steps} | ({"lr": args.lr} if args.lr else {})
    result = train_on_favourites(args.run, args.out, lib=lib, ids=args.ids, tag=args.tag,
                                 mix=args.mix, **overrides)
    _out(args, {"run": str(args.out), "best_val_loss": getattr(result, "best_val_loss", None)},
         f"trained {args.out} from {args.run} on your pieces")


ACTIONS = {"list": _list, "search": _search, "show": _show, "star": _star, "tag": _tag,
           "title": _title, "remove": _remove, "regenerate": _regenerate, "export": _export,
           "train": _train}
