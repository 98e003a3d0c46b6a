"""Make the documentation's pictures from a real run: `python docs/make_pictures.py`.

Trains a small LSTM on the built-in Irish folk tunes (ABC tokens, every tune moved to C),
with a fixed seed and a step budget (not minutes, so the run is the same on any machine),
then writes into docs/images/:

    tune-score.svg       the first of 8 sampled tunes (complete bars) that ends by itself,
                         has at least 8 bars and engraves, as a score (ids made stable)
    tune.abc             that tune's ABC text
    tune-pianoroll.png   its piano roll
    loss-curve.png       the run's training and validation loss
    activations.png      the LSTM cells that best track the tune's structure, over the tune
    studio.png           the web studio (`creative-rnn serve`) in headless chromium: the
                         Generate view after generating a whole tune of 8 bars or more
    studio-library.png   the studio's Library view, on the folk starter
                         (`--only library`: just this one, no training)
    studio-play.png      the studio's Play view, on the melody starter
                         (`--only play`: just this one, no training)
    encodings-*.png      the encodings page's pictures, from the codecs alone
                         (encoding_pictures.py; `--only encodings` makes just these, no training)

The studio's pictures are taken by studio_pictures.py (its docstring says how); `--no-studio`
skips all three.

Training is 300 steps on the CPU (minutes). The same seed and steps give the same weights,
so a second run of the script writes the same tune, score and plots. The run is kept (--run)
and reused by the next call; delete it to train again. It uses the public API and the CLI.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import encoding_pictures  # docs/, beside these scripts (on sys.path when it is run)
import numpy as np
import studio_pictures

import creative_rnn as cr
from creative_rnn import rundir
from creative_rnn.codecs import score
from creative_rnn.codecs.midi import render
from creative_rnn.viz import activations, curves, features

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
SEED = 1
# the recipe: tiny's one-layer LSTM made wider, on whole tunes (documents) so that a sample
# ends at its own end token; 300 steps give tunes with the shape of folk tunes
TRAIN = ["folk:irish", "--codec", "abc", "--codec-opt", "transpose_to_c=true", "--documents",
         "--preset", "tiny", "--set", "hidden_size=128", "--set", "doc_max_len=512",
         "--set", "eval_every=50", "--set", "checkpoint_every=100", "--max-steps", "300",
         "--seed", str(SEED)]
TUNES = 8  # sampled at once; the first that engraves is the one shown
MIN_BARS = 8  # ...and has at least this many bar lines: a whole tune, not a fragment
TUNE_LENGTH = 600  # tokens a tune may take (the demo's bound)
CELLS = 8  # rows of the activation picture
SHOWN_TOKENS = 100  # columns of the activation picture: the tune's first notes
# the features of features.py that mean something in a tune (a triplet's "(3" never closes a
# bracket, and note letters are not vowels)
TUNE_FEATURES = ("steps after a bar line", "position in line")
RUN_NAME = "creative-rnn-docs-pictures/folk-tunes"  # under the temporary folder, kept
HEADER = re.compile(r"\n?[A-Za-z]:")  # an ABC header token: M:6/8, K:Cmaj, ...


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path(tempfile.gettempdir()) / RUN_NAME,
                    help="the run directory (trained here unless it already is)")
    ap.add_argument("--out", type=Path, default=IMAGES, help="folder for the pictures")
    ap.add_argument("--no-studio", action="store_true",
                    help="skip the studio's screenshots (studio*.png)")
    ap.add_argument("--only", choices=["encodings", "library", "play"],
                    help="make only these pictures, with no training (encodings: seconds; "
                         "library, play: the studio on a starter)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    studio = (args.only != "encodings" and not args.no_studio
              and studio_pictures.have_chromium())
    if args.only in (None, "encodings"):
        encoding_pictures.make(args.out)
    if args.only in (None, "library") and studio:
        studio_pictures.library_view(args.out / "studio-library.png")
    if args.only in (None, "play") and studio:
        studio_pictures.play_view(args.out / "studio-play.png")
    if args.only:
        show_sizes(args.out)
        return
    train(args.run)
    gen = cr.load(args.run)
    tune = first_engraved_tune(gen, args.out)
    notes = gen.codec.notes(tune)
    render.piano_roll_png(notes, args.out / "tune-pianoroll.png",
                          title="the sampled tune as a piano roll")
    curves.plot_runs([args.run], args.out / "loss-curve.png")
    activation_picture(gen, tune, args.out / "activations.png")
    if studio:
        studio_pictures.generate_view(args.run, args.out / "studio.png", TUNE_LENGTH, MIN_BARS,
                                      SEED)
    show_sizes(args.out)


def show_sizes(out: Path) -> None:
    for path in sorted(out.iterdir()):
        if path.suffix in (".png", ".svg", ".abc"):
            print(f"{path}  {path.stat().st_size // 1024} KB")


def train(run: Path) -> None:
    if (run / rundir.WEIGHTS).exists():
        print(f"{run} is already trained; reusing it (delete it to train again)")
        return
    run.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "creative_rnn", "train", *TRAIN, "--out", str(run)],
                   check=True)


def first_engraved_tune(gen, out: Path) -> str:
    """Sample whole tunes with complete bars; engrave the first long enough that music21
    and Verovio accept; write its score and its ABC."""
    tunes = gen.generate(length=TUNE_LENGTH, num=TUNES, temperature=0.8, seed=SEED,
                         constraints={"complete_bars": True})
    for i, tune in enumerate(tunes, 1):
        if tune.count("|") < MIN_BARS:
            print(f"tune {i} has fewer than {MIN_BARS} bar lines; the next")
            continue
        try:
            svg = score.svg(gen.codec, tune)
        except cr.UserError as e:
            print(f"tune {i} does not engrave ({e}); the next")
            continue
        score.write_svg(stable_ids(svg), out / "tune-score.svg")
        (out / "tune.abc").write_text(tune.rstrip() + "\n", encoding="utf-8")
        print(f"tune {i} of {len(tunes)} whole tunes ({len(tunes.unfinished)} unfinished):\n"
              f"{tune}")
        return tune
    sys.exit(f"none of {len(tunes)} whole tunes (of {TUNES}) had {MIN_BARS} bars and "
             "engraved; train longer")


def stable_ids(svg: str) -> str:
    """Verovio gives every element a random id (the root's is also the suffix of its glyphs'
    ids): number them in order instead, so that a second run writes the same bytes."""
    ids = re.findall(r'\bid="([^"]+)"', svg)
    if not ids:
        return svg
    svg = svg.replace(ids[0], "tune")
    random = [i for i in dict.fromkeys(re.findall(r'\bid="([^"]+)"', svg)) if "tune" not in i]
    names = {old: f"e{n}" for n, old in enumerate(random, 1)}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda m: names[m.group(1)], svg) if names else svg


def activation_picture(gen, tune: str, path: Path) -> None:
    """For each feature of the tune (features.py: steps after a bar line, position in the
    line, ...) the cells whose tanh(c) follows it best, over the tune's first tokens."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    codec, model = gen.codec, gen.model
    ids = codec.encode(tune)
    acts = activations.collect(model, [codec.vocab.bos, *ids])  # as in training: after <s>
    key = "tanh_c" if "tanh_c" in acts else "h"
    values = acts[key][-1, 1:]  # the top layer, without the <s> step: (T, H)
    tokens = [codec.token_text(i) for i in ids]
    feats = {k: v for k, v in features.features(tokens).items() if k in TUNE_FEATURES}
    corr = features.correlations(values, feats)
    rows = best_cells(corr, CELLS)
    cells = [c for c, _ in rows]
    first = next((i for i, tok in enumerate(tokens) if not HEADER.match(tok)), 0)
    shown = values[first:first + SHOWN_TOKENS, cells].T  # (CELLS, T): from the first note
    fig, ax = plt.subplots(figsize=(13, 0.45 * CELLS + 1.6), dpi=100)
    try:
        ax.imshow(shown, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1,
                  interpolation="nearest")
        names = list(feats)
        labels = [f"cell {c}" if j is None else f"cell {c}: {names[j]} (r = {corr[c, j]:+.2f})"
                  for c, j in rows]
        ax.set_yticks(range(len(cells)), labels, fontsize=9)
        shown_tokens = [t.replace("\n", "⏎") for t in tokens[first:first + SHOWN_TOKENS]]
        ax.set_xticks(range(len(shown_tokens)), shown_tokens, fontsize=7, family="monospace")
        ax.tick_params(axis="x", length=0)
        ax.set_title(f"{key.replace('tanh_c', 'tanh(c)')} of the LSTM cells that best track "
                     "the bar and the line, note by note (blue −1, red +1)", fontsize=10)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def best_cells(corr: np.ndarray, count: int) -> list[tuple[int, int | None]]:
    """Up to ``count`` (cell, feature) rows, taking each feature's best remaining cell in
    turn (by |r|), so that every feature shows; cells alone when there is no feature."""
    if corr.shape[1] == 0:
        return [(c, None) for c in features.ranking(corr)[:count]]
    order = [[int(c) for c in np.argsort(-np.abs(corr[:, j]), kind="stable")]
             for j in range(corr.shape[1])]
    rows: list[tuple[int, int | None]] = []
    while len(rows) < min(count, corr.shape[0]):
        for j, column in enumerate(order):
            taken = {c for c, _ in rows}
            if len(rows) < count:
                rows.append((next(c for c in column if c not in taken), j))
    return sorted(rows, key=lambda row: row[1])


if __name__ == "__main__":
    main()
