"""`creative-rnn demo`: a few minutes of training on folk tunes in ABC, then ten new tunes
(ABC, MIDI and a piano-roll PNG, and WAV where FluidSynth is installed)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from . import codecs, rundir
from .core.files import atomic_write_text
from .sampling.generator import load
from .training import verdict
from .training.run import train


def demo(out: str | Path = "creative-rnn-demo", minutes: float = 3.0, num: int = 10,
         seed: int = 1, progress_bar: bool = True) -> dict[str, Path]:
    """Train on the built-in Irish folk tunes (``folk:irish``, ABC tokens, every tune moved
    to C as FolkRNN did) for ``minutes``, then write ``num`` generated tunes with complete
    bars as ABC and MIDI (and WAV where FluidSynth is installed), and the loss plot. A
    second call reuses the trained run."""
    out = Path(out)
    run = out / "run"
    if (run / rundir.WEIGHTS).exists():
        print(f"{run} is already trained; generating new tunes from it "
              f"(delete {out} to train again)")
    else:
        print(f"training a small LSTM on the built-in Irish folk tunes (ABC tokens) for "
              f"{minutes:g} minute(s) ...")
        result = train(corpus="folk:irish", out=run, codec=codecs.get("abc", transpose_to_c=True),
              preset="small", hidden_size=256, dropout=0.2,  # measured on folk tunes
              weight_drop=0.0, lr=3e-3, ema=0.0,  # (the 2x256 recipe of before the
              # text preset changed)
              documents=True, max_minutes=minutes, seed=seed,
              progress_bar=progress_bar, eval_every=100, checkpoint_every=200,
              doc_max_len=512)
        if result.learned is False:  # a busy machine: too few steps in the time given
            print(f"warning: {verdict.not_learned(result)}\n  give it more time: "
                  f"creative-rnn train --resume {run} --max-minutes 10, then creative-rnn demo "
                  f"--out {out} again (and close other busy programs)", file=sys.stderr)
    gen = load(run)
    tunes = gen.generate(length=600, num=num, temperature=0.8, seed=seed,
                         constraints={"complete_bars": True})
    formats = gen.codec.default_formats()  # a piano roll, and audio where it can be made
    tunes_dir = out / "tunes"
    written: list[Path] = []
    for i, tune in enumerate(tunes, 1):
        written += gen.codec.outputs(tune, tunes_dir / f"tune-{i:02d}", formats)
    book = "\n".join(re.sub(r"^X:\d+", f"X:{i}", t.rstrip("\n")) + "\n"
                     for i, t in enumerate(tunes, 1))
    atomic_write_text(out / "tunes.abc", book)
    shutil.copyfile(run / "loss.png", out / "loss.png")
    print(f"\n{tunes[0]}\n")
    kinds = ", ".join(sorted({p.suffix for p in written}))
    print(f"wrote {num} tunes to {out / 'tunes.abc'} (one file each in {tunes_dir}/: {kinds})")
    print(f"loss plot: {out / 'loss.png'}   run directory: {run}")
    print(f"sample more:  creative-rnn sample {run} --num 5 --temperature 0.9 --complete-bars "
          f"--out tunes/new.abc")
    return {"run": run, "tunes": out / "tunes.abc", "plot": out / "loss.png"}

