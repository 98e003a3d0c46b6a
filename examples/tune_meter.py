"""Which meter is this tune in? A bidirectional LSTM reads a folk tune's notes (ABC, with
its header removed) and names its time signature: 6/8 jig, 4/4 reel, 3/4 waltz, ...

    python examples/tune_meter.py                 # -> tune-meter/ (examples, run)
    python examples/tune_meter.py --minutes 15       # better, still a laptop CPU

The examples come from the ABC folk tunes that ship with music21 (``M:`` gives the label;
the header lines, which would give the answer away, are dropped). The same by hand:

    creative-rnn train tune-meter/tunes.jsonl --task classify --out runs/meter --preset tiny
    creative-rnn classify runs/meter --input "|:GAB c2d|e2f gfe|d2B GAB|c2A F2A:|"
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from creative_rnn.core.files import atomic_write_text
from creative_rnn.corpora import folk_files
from creative_rnn.training.tasks import Classifier, train_classify


def tunes(max_chars: int = 300) -> list[dict]:
    """{"input": body, "label": meter} for every tune with an M: field and some notes."""
    rows = []
    for path in folk_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for tune in ("\n" + text).split("\nX:")[1:]:  # what precedes the first X: is no tune
            lines = tune.splitlines()
            meter = next((ln[2:].strip() for ln in lines if ln.startswith("M:")), None)
            k = next((i for i, ln in enumerate(lines) if ln.startswith("K:")), None)
            if not meter or meter == "none" or k is None:
                continue
            body = "\n".join(ln for ln in lines[k + 1:] if not ln[:2].rstrip().endswith(":")
                             and not ln.startswith("%"))
            if len(body) >= 40:
                rows.append({"input": body[:max_chars], "label": meter})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="tune-meter")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--min-tunes", type=int, default=200, help="rarer meters are left out")
    args = ap.parse_args()
    out = Path(args.out)
    rows = tunes()
    common = {m for m, n in Counter(r["label"] for r in rows).items() if n >= args.min_tunes}
    rows = [r for r in rows if r["label"] in common]
    counts = Counter(r["label"] for r in rows)
    atomic_write_text(out / "tunes.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} tunes: " + ", ".join(f"{m} {n}" for m, n in counts.most_common()))
    train_classify([str(out / "tunes.jsonl")], out / "run", preset="tiny", hidden_size=128,
                   max_minutes=args.minutes, max_steps=10**9, eval_every=100)
    last = json.loads((out / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    majority = counts.most_common(1)[0][1] / len(rows)
    print(f"validation accuracy {last['val_accuracy']:.3f} "
          f"(always guessing {counts.most_common(1)[0][0]}: {majority:.3f})")
    jig = "|:GAB c2d|e2f gfe|d2B GAB|c2A F2A|GAB c2d|e2f gfe|dcB AGF|G3 G3:|"
    print(f"{jig}\n  -> {Classifier(out / 'run').predict(jig)}")


if __name__ == "__main__":
    main()
