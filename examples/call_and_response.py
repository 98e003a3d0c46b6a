"""Call and response: an encoder–decoder answers a musical phrase with the next one.

Pairs are consecutive bars (16 sixteenth-note steps) of the course's melodies; the encoder
reads the call bar both ways, its final state becomes the context vector C, and the decoder
writes the answering bar. Then it answers a phrase you give, sampled and by beam search:

    python examples/call_and_response.py                       # -> call-and-response/
    python examples/call_and_response.py --call "C4:4 E4:4 G4:4 E4:4" --minutes 5

The same from the command line:

    creative-rnn train ../shared/data/melody/melodies.jsonl --codec melody --task seq2seq \\
        --set phrase_len=16 --preset tiny --max-minutes 3 --out runs/answer
    creative-rnn respond runs/answer --call "C4:4 E4:4 G4:8" --beam 4
"""

from __future__ import annotations

import argparse
from pathlib import Path

from creative_rnn.training.tasks import Responder, train_seq2seq

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "melody" / "melodies.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA), help="melodies.jsonl, MIDI files or a folder")
    ap.add_argument("--out", default="call-and-response")
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--call", default="C4:2 D4:2 E4:4 G4:4 E4:4", help="the phrase to answer")
    args = ap.parse_args()
    out = Path(args.out)
    result = train_seq2seq([args.data], out / "run", codec="melody", preset="tiny",
                           phrase_len=16, hidden_size=128, max_minutes=args.minutes,
                           max_steps=10**9, eval_every=100)
    print(f"validation loss {result.best_val_loss:.3f} nats/step")
    responder = Responder(out / "run")
    print("call:    ", responder.codec.render(responder.codec.parse_phrase(args.call)))
    for i, answer in enumerate(responder.respond(args.call, num=3, length=17, seed=1,
                                                 temperature=0.8)):
        print(f"answer {i + 1}:", responder.codec.render(answer))
        responder.codec.outputs(answer, out / f"answer-{i + 1}", ["mid"])
    best = responder.respond(args.call, beam=4, length=17)[0]
    print("beam:    ", responder.codec.render(best))
    print(f"wrote {out}/answer-1.mid … (and the run in {out / 'run'})")


if __name__ == "__main__":
    main()
