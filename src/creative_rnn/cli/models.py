"""``creative-rnn models``: the starter models this install ships, and one starter's manifest."""

from __future__ import annotations

import json

from .. import starters
from .options import fmt


def add_commands(sub) -> dict:
    m = sub.add_parser("models", help="list the shipped starter models (usable by name "
                                      "wherever a run directory is accepted)")
    m.add_argument("name", nargs="?", metavar="NAME",
                   help="show this starter's manifest: recipe, corpus, licence, checksum")
    m.add_argument("--json", action="store_true",
                   help="print JSON instead of a table (a list, or NAME's manifest)")
    return {"models": cmd_models}


def cmd_models(args) -> None:
    if args.name:
        data = {**starters.manifest(args.name), "path": str(starters.path(args.name))}
        print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else _details(data))
        return
    rows = [{**starters.manifest(n), "path": str(starters.path(n))} for n in starters.names()]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        print("no starter models installed (reinstall creative-rnn to get them back)")
        return
    head = ("name", "codec", "size", "val loss", "trained on")
    table = [(r["name"], r.get("codec", "?"), _size(r), fmt(r.get("best_val_loss")),
              _corpus(r)) for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head[:-1])]
    for line in [head, *table]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[-1])
    print("\nuse one by name: creative-rnn sample folk; creative-rnn models NAME shows its "
          "recipe and licence")


def _size(row: dict) -> str:
    size = row.get("weights", {}).get("bytes")
    return f"{size / 1e6:.1f} MB" if isinstance(size, int) else "?"


def _corpus(row: dict) -> str:
    on = row.get("trained_on", {})
    tokens = on.get("tokens")
    count = f" ({tokens:,} tokens)" if isinstance(tokens, int) else ""
    return " + ".join(on.get("sources", [])) + count


def _details(m: dict) -> str:
    on, w = m.get("trained_on", {}), m.get("weights", {})
    model = m.get("model", {})
    lines = [
        f"{m.get('name')}: {m.get('task', 'lm')} model, {m.get('codec')} codec",
        f"  trained on   {on.get('about', '')}",
        f"  corpus       {' + '.join(on.get('sources', []))}: {on.get('items', '?')} "
        f"{on.get('item', 'item')}(s), {on.get('tokens', '?'):,} tokens, vocabulary "
        f"{on.get('vocabulary', '?')}" if isinstance(on.get("tokens"), int) else
        f"  corpus       {' + '.join(on.get('sources', []))}",
        f"  licence      {m.get('licence', '?')}",
        f"  model        {model.get('cell')} x {model.get('num_layers')}, hidden "
        f"{model.get('hidden_size')}, {m.get('parameters', '?'):,} parameters"
        if isinstance(m.get("parameters"), int) else f"  model        {model}",
        f"  training     {m.get('steps')} steps (these weights: step {m.get('best_step')}, "
        f"the best), {m.get('training_minutes')} minutes on "
        f"{m.get('machine', '?')} ({m.get('trained', '?')})",
        f"  val loss     {fmt(m.get('best_val_loss'))} nats/token (unigram baseline "
        f"{fmt(on.get('unigram_loss'))})",
        f"  weights      {_size(m)}, stored as {w.get('stored', 'float32')}, "
        f"sha256 {w.get('sha256')}",
        f"  folder       {m.get('path')}",
        f"  recipe       {m.get('recipe')}",
        "  (run the recipe from a clone's root with OMP_NUM_THREADS=1; rebuild the starter "
        "with python -m creative_rnn.starters.build NAME RUN)",
    ]
    return "\n".join(lines)
