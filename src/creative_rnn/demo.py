"""`creative-rnn demo`: a few minutes of training on folk tunes, then ten new tunes."""

from __future__ import annotations

import shutil
from pathlib import Path

from .checkpoint import atomic_write_text
from .sampling import load
from .train import train


def demo(out: str | Path = "creative-rnn-demo", minutes: float = 3.0, num: int = 10,
         seed: int = 1, progress_bar: bool = True) -> dict[str, Path]:
    """Train on the built-in ``folk`` corpus (one ABC tune per document) for ``minutes``,
    write ``num`` generated tunes and the loss plot. A second call reuses the trained run."""
    out = Path(out)
    run = out / "run"
    if (run / "model.safetensors").exists():
        print(f"{run} is already trained; generating new tunes from it "
              f"(delete {out} to train again)")
    else:
        print(f"training a small LSTM on the built-in folk tunes for {minutes:g} minute(s) ...")
        train(corpus="folk", out=run, codec="char", preset="small", documents=True,
              unit="paragraph", max_minutes=minutes, seed=seed, progress_bar=progress_bar,
              eval_every=100, checkpoint_every=200, doc_max_len=512)
    gen = load(run)
    tunes = gen.generate(length=600, num=num, temperature=0.8, seed=seed)
    tunes_dir = out / "tunes"
    tunes_dir.mkdir(parents=True, exist_ok=True)
    for i, tune in enumerate(tunes, 1):
        atomic_write_text(tunes_dir / f"tune-{i:02d}.abc", tune.rstrip("\n") + "\n")
    atomic_write_text(out / "tunes.abc", "\n".join(t.rstrip("\n") + "\n" for t in tunes))
    shutil.copyfile(run / "loss.png", out / "loss.png")
    print(f"\n{tunes[0]}\n")
    print(f"wrote {num} tunes to {out / 'tunes.abc'} (one file each in {tunes_dir}/)")
    print(f"loss plot: {out / 'loss.png'}   run directory: {run}")
    print(f"sample more:  creative-rnn sample {run} --num 5 --temperature 0.9")
    return {"run": run, "tunes": out / "tunes.abc", "plot": out / "loss.png"}
