"""The Neural iPad Band: a gesture RNN that plays along with a lead performer.

The course's gesture RNN reads the lead player's touch-screen gesture (one of 9 classes a
second) and the other three players' previous gestures, and predicts what those three play
now. This script trains one on the Metatone quartet performances and lets it accompany a
real lead part it has not seen (a performance from the validation end of the data):

    python examples/gesture_ensemble.py                 # -> gesture-ensemble/ (run, score)
    python examples/gesture_ensemble.py --minutes 5     # longer training

Then play with it yourself, one gesture a line (or over OSC from Pd/Max/SuperCollider):

    creative-rnn perform gesture-ensemble/run
    creative-rnn perform gesture-ensemble/run --osc 127.0.0.1:5005 --reply 127.0.0.1:5006
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import creative_rnn as cr
from creative_rnn.live import load_stepper

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gestures" / \
    "metatone_gestures.jsonl"
NAMES = ["N", "FT", "ST", "FS", "FSA", "VSS", "BS", "SS", "C"]  # the 9 gesture classes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA), help="metatone_gestures.jsonl (or a CSV)")
    ap.add_argument("--out", default="gesture-ensemble")
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--augment", action="store_true",
                    help="train on every seating of the three accompanists (6x the data)")
    args = ap.parse_args()
    out = Path(args.out)
    codec = cr.codecs.get("ensemble", performers=4, classes=9, augment=args.augment)
    result = cr.train(corpus=[args.data], out=out / "run", codec=codec, preset="tiny",
                      hidden_size=128, lr=1e-2, max_minutes=args.minutes, eval_every=100)
    print(f"validation loss {result.best_val_loss:.3f} nats/step "
          f"(uniform guessing: {math.log(codec.output_size):.3f})")

    lead = codec.read(args.data)[-1]  # the last quartet: in the validation split
    stepper = load_stepper(out / "run", temperature=0.8, seed=1)
    lines = ["t    lead | ensemble (model)    | ensemble (real)"]
    generated = []
    for t, step in enumerate(lead[:60]):
        answer = stepper.step([step[0]])
        generated.append([step[0], *answer])
        lines.append(f"{t:<4} {NAMES[step[0]]:>4} | " + " ".join(f"{NAMES[v]:>4}" for v in answer)
                     + "      | " + " ".join(f"{NAMES[v]:>4}" for v in step[1:]))
    print("\n".join(lines))
    codec.write([generated], out / "generated.jsonl")
    print(f"wrote {out / 'generated.jsonl'}; play along: creative-rnn perform {out / 'run'}")


if __name__ == "__main__":
    main()
