"""Pack a trained run as a starter model: ``python -m creative_rnn.starters.build NAME RUN_DIR``.

Copies from the run only what readers need (config.json, codec.json, metrics.jsonl up to the
weights' step, and the best weights as model.safetensors), makes the corpus description
portable (named corpora only, no paths of the machine it trained on), and writes the manifest
``starter.json``. The new folder is assembled beside the old one and swapped in by renames,
so an interrupted pack leaves the previous starter whole.

This is the maintainers' tool, not part of the library: nothing in the package imports it, so
it sits at the top layer (with cli/; tests/test_imports.py holds the table) and may read the
corpus (data/) and the machine's description (bench/) that the bottom-layer ``starters``
package must not.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from ..core.files import atomic_write_bytes, atomic_write_json, atomic_write_text, read_json
from ..core.tensors import load_tensors, save_tensors
from ..errors import UserError
from . import HOME, MANIFEST, MAX_BYTES

CONFIG, CODEC, METRICS, WEIGHTS, BEST, STATE = (
    "config.json", "codec.json", "metrics.jsonl", "model.safetensors", "best", "state.json")

_MUSIC21 = ("music21's bundled corpus (BSD-3-Clause licence); the music itself is in the "
            "public domain")
# How each starter is made: the exact command (run from the repository root with
# OMP_NUM_THREADS=1), what it learned from in plain words, and that data's licence.
RECIPES: dict[str, dict[str, str]] = {
    "folk": {
        "recipe": "creative-rnn train folk --codec abc --codec-opt transpose_to_c=true "
                  "--documents --preset small --set hidden_size=256 --set dropout=0.2 "
                  "--set weight_drop=0.0 --set lr=3e-3 --set doc_max_len=512 "
                  "--set eval_every=250 --set checkpoint_every=250 --max-steps 100000 "
                  "--max-minutes 85 --seed 1 --out runs/folk",
        "about": "ABC folk tunes bundled with music21 (O'Neill's Music of Ireland, Ryan's "
                 "Mammoth Collection, Aird's Airs, the Essen and Nottingham collections, ...), "
                 "transposed to C, one tune a document",
        "licence": "traditional tunes from " + _MUSIC21,
    },
    "shakespeare": {
        "recipe": "creative-rnn train shakespeare --shakespeare-file "
                  "tests/data/text/tiny-shakespeare.txt --preset small --set eval_every=250 "
                  "--set checkpoint_every=250 --max-steps 100000 --max-minutes 85 --seed 1 "
                  "--out runs/shakespeare",
        "about": "tiny-shakespeare: 1.1 M characters of Shakespeare's plays, character by "
                 "character",
        "licence": "Shakespeare's text is in the public domain; the tiny-shakespeare file is "
                   "from karpathy/char-rnn (MIT licence)",
    },
    "melody": {
        "recipe": "creative-rnn train bach folk:oneills1850 --codec melody --documents "
                  "--preset small --set hidden_size=256 --set weight_drop=0.0 "
                  "--set eval_every=250 --set checkpoint_every=250 --max-steps 100000 "
                  "--max-minutes 85 --seed 1 --out runs/melody",
        "about": "monophonic melodies, one value per sixteenth note: the soprano lines of "
                 "Bach's chorales and the tunes of O'Neill's Music of Ireland (1850)",
        "licence": "Bach's chorales and O'Neill's 1850 collection from " + _MUSIC21 + " (the "
                   "course's melody dataset is left out: it carries no licence)",
    },
    "quartet": {
        "recipe": "creative-rnn train quartets --codec ensemble --codec-opt classes=13 "
                  "--preset small --set hidden_size=256 --set dropout=0.3 "
                  "--set weight_drop=0.0 --set eval_every=250 --set checkpoint_every=250 "
                  "--max-steps 100000 --max-minutes 80 --seed 1 --out runs/quartet",
        "about": "Bach's four-voice chorales as four performers (the quartets corpus): each "
                 "voice's pitch class above the tonic per eighth note, 12 = rest; the soprano "
                 "leads and the model answers with the three lower voices",
        "licence": "Bach's chorales from " + _MUSIC21 + " (the course's Metatone gesture "
                   "data is left out: All Rights Reserved)",
        # 28,565 input symbols (13 values ** 4 performers) make 3.2 M parameters: 13 MB in
        # float32, over the 10 MB limit
        "stored": "float16",
    },
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def portable(config: dict[str, Any]) -> dict[str, Any]:
    """The config with a corpus description any install can rebuild: named corpora only, and
    no local copies' paths (a local shakespeare file): the copy meter then reads the named
    corpus (downloaded and checked, or $CREATIVE_RNN_SHAKESPEARE) and checks its digest."""
    from ..corpora import named
    spec = dict(config.get("corpus") or {})
    sources = spec.get("sources") or []
    bad = [s for s in sources if s.split(":", 1)[0] not in named.NAMED]
    if bad:
        raise UserError(f"the run was trained on {bad[0]!r}, not a named corpus: a starter's "
                        "corpus must rebuild on any install; train it on named corpora")
    options = {k: {o: v for o, v in opts.items() if o != "local"}
               for k, opts in (spec.get("named_options") or {}).items()}
    spec["named_options"] = {k: v for k, v in options.items() if v}
    return {**config, "corpus": spec}


def _best_weights(run: Path) -> Path:
    best = run / BEST / WEIGHTS
    return best if best.is_file() else run / WEIGHTS


def _metrics_until(run: Path, step: int) -> list[dict[str, Any]]:
    """metrics.jsonl's rows up to the weights' step (a live run logs on past its last
    checkpoint; rows after it describe weights that are not shipped)."""
    rows = []
    for line in (run / METRICS).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
            rows.append(row)
    return rows


def _last_checkpoint(run: Path) -> int:
    """The step of the run's last checkpoint (state.json), past its best weights' step."""
    try:
        state = read_json(run / STATE)
    except UserError:  # a run without resume state: its weights are its last checkpoint
        return 0
    return state.get("step", 0) if isinstance(state, dict) and isinstance(
        state.get("step"), int) else 0


def corpus_summary(config: dict[str, Any], codec) -> dict[str, Any]:
    """Items, tokens and vocabulary of the corpus, and the unigram baseline of its training
    split (the loss a model that knows only token frequencies reaches): from the token cache
    the training run filled, so cheap."""
    from ..data.cache import prepare
    from ..training.verdict import unigram_loss
    store = prepare(config["corpus"], codec, fit=False)
    train = config["train"]
    split, _ = store.split(float(train["val_fraction"]), int(train.get("doc_max_len", 10**9)))
    pieces = [split.stream] if split.stream is not None else [d[1:] for d in split.docs]
    baseline = unigram_loss(pieces, codec.target_table())
    # a stream corpus is its files' text end to end: it counts files, not documents
    return {"items": int(store.num_documents), "item": "document" if store.documents else "file",
            "tokens": int(len(store)),
            "vocabulary": int(codec.vocab_size),
            "unigram_loss": None if baseline is None else round(baseline, 5)}


def pack(name: str, run: str | Path, home: Path = HOME, summary: bool = True) -> Path:
    """Pack ``run`` as the starter ``name`` in ``home``; the folder written."""
    if name not in RECIPES:
        raise UserError(f"no recipe for a starter named {name!r}; add one to RECIPES in "
                        f"{__file__} ({', '.join(RECIPES)})")
    run = Path(run)
    weights = _best_weights(run)
    if not weights.is_file():
        raise UserError(f"{run} has no weights yet; wait for its first checkpoint")
    trained_at = weights.stat().st_mtime  # when its checkpoint was written
    data = weights.read_bytes()  # read once: a live run may replace the file meanwhile
    target = home / name
    tmp, old = home / f".{name}.new", home / f".{name}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _assemble(name, run, tmp, data, trained_at, summary)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _assemble(name: str, run: Path, tmp: Path, data: bytes, trained_at: float,
              summary: bool) -> None:
    """Write the starter's files into ``tmp``, the manifest last."""
    from ..bench.common import machine
    from ..codecs import from_json
    atomic_write_bytes(tmp / WEIGHTS, data)
    tensors, meta = load_tensors(tmp / WEIGHTS)  # its own checksum: a whole, readable file
    stored = RECIPES[name].get("stored", "float32")
    if stored == "float16":  # halves the file; readers load it back into float32 weights
        half = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
        save_tensors(tmp / WEIGHTS, half, {**meta, "stored": stored})
        data = (tmp / WEIGHTS).read_bytes()
    if len(data) > MAX_BYTES:
        raise UserError(f"the weights of {run} are {len(data):,} bytes, over a starter's "
                        f"{MAX_BYTES:,}: store them as float16 (\"stored\" in its RECIPES "
                        "entry) or train a smaller model")
    step = int(meta.get("step", 0))
    trained = read_json(run / CONFIG)
    config = portable(trained)
    codec_json = read_json(run / CODEC)
    rows = _metrics_until(run, max(step, _last_checkpoint(run)))
    vals = [r["val_loss"] for r in rows if isinstance(r.get("val_loss"), int | float)]
    if vals and min(vals) < min((r["val_loss"] for r in rows if "val_loss" in r
                                 and r["step"] <= step), default=float("inf")):
        raise UserError(f"{run} saved better weights while they were being packed; pack "
                        "it again")
    atomic_write_json(tmp / CONFIG, config)
    atomic_write_json(tmp / CODEC, codec_json)
    atomic_write_text(tmp / METRICS, "".join(json.dumps(r) + "\n" for r in rows))
    recipe = RECIPES[name]
    codec = from_json(codec_json)
    corpus = {"sources": config["corpus"]["sources"], "about": recipe["about"]}
    if summary:
        corpus.update(corpus_summary(trained, codec))  # its corpus where it trained
    stamp = datetime.datetime.fromtimestamp(trained_at, datetime.UTC)
    manifest = {
        "name": name, "codec": codec.name, "task": config.get("task", "lm"),
        "recipe": recipe["recipe"], "trained_on": corpus, "licence": recipe["licence"],
        "steps": max((r["step"] for r in rows), default=step), "best_step": step,
        "training_minutes": round(max((r.get("elapsed_s", 0) for r in rows), default=0) / 60,
                                  1),
        "best_val_loss": min(vals) if vals else None,
        "parameters": sum(t.numel() for t in tensors.values()),
        "model": {k: config["model"][k] for k in ("cell", "num_layers", "hidden_size",
                                                  "embedding_size")},
        "weights": {"file": WEIGHTS, "sha256": hashlib.sha256(data).hexdigest(),
                    "bytes": len(data), "stored": stored},
        "files": {f: sha256_file(tmp / f) for f in (CONFIG, CODEC, METRICS)},
        "machine": machine(), "trained": stamp.date().isoformat(),
    }
    atomic_write_json(tmp / MANIFEST, manifest)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m creative_rnn.starters.build",
                                description="Pack a trained run as a shipped starter model.")
    p.add_argument("name", choices=sorted(RECIPES), help="the starter's name")
    p.add_argument("run", help="the trained run directory to pack")
    p.add_argument("--no-summary", action="store_true",
                   help="skip the corpus summary (items, tokens, unigram baseline), which "
                        "reads the corpus through the token cache")
    args = p.parse_args(argv)
    try:
        out = pack(args.name, args.run, summary=not args.no_summary)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = read_json(out / MANIFEST)
    print(f"{out}: step {m['steps']}, validation loss {m['best_val_loss']}, "
          f"{m['weights']['bytes']:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
