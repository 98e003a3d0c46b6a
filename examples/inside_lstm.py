"""Inside an LSTM trained on Shakespeare: activation page, gradients through time, curves.

The lecture's figures on a model you train yourself, in a few minutes on a laptop CPU:

    python examples/inside_lstm.py                   # -> inside-lstm/ (run, page, plots)
    python examples/inside_lstm.py --minutes 10      # longer training, clearer cells

Steps:
 1. train a 1-layer, 128-cell LSTM on tiny-shakespeare for ``--minutes``;
 2. run it over unseen text (the end of the corpus) and write ``activations.html``: every
    character coloured by one cell, cells ranked by how well they follow quotes, brackets and
    the position in the line (Karpathy et al. 2015, "Visualizing and Understanding RNNs");
 3. measure ‖∂L_T/∂h_t‖ against T − t for the trained LSTM and for fresh RNN, GRU and LSTM
    of the same size, plus the eigenvalue demonstration -> ``gradients.png``;
 4. plot the loss and gradient-norm curves -> ``curves.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import creative_rnn as cr
from creative_rnn.core.files import atomic_write_text
from creative_rnn.corpora import shakespeare_file
from creative_rnn.viz import gradients
from creative_rnn.viz.activation_page import write_page
from creative_rnn.viz.curves import plot_runs

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "tiny-shakespeare.txt"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="inside-lstm")
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--shakespeare-file", default=str(SHARED) if SHARED.is_file() else None,
                   help="local copy of tiny-shakespeare (else it is downloaded once)")
    args = p.parse_args()
    out = Path(args.out)
    run = out / "run"

    # 1. train (or reuse an earlier run of this script)
    if not (run / "model.safetensors").exists():
        # one layer of 128 cells, small batches: many updates per CPU minute, and one layer
        # keeps the page's cell list short enough to flip through
        cr.train(corpus=["shakespeare"], out=run, preset="small", num_layers=1, hidden_size=128,
                 dropout=0.0, batch_size=16, lr=4e-3, warmup_steps=30,
                 max_minutes=args.minutes, eval_every=100,
                 named_options={"shakespeare": {"local": args.shakespeare_file}})

    # 2. activation page on text the model did not train on (the corpus ends in validation)
    text = shakespeare_file(args.shakespeare_file).read_text(encoding="utf-8")[-3000:]
    sample = out / "unseen.txt"
    atomic_write_text(sample, text)
    page = write_page(run, sample, out / "activations.html", max_tokens=2000)
    print(f"activation page: {page}  (open it in a browser; ←/→ flip through cells)")

    # 3. gradients through time: the numbers first, then the picture
    norms = gradients.measure(run, length=100, count=8)
    for name, v in norms.items():
        print(f"  {name:<14} norm 50 steps back / at the loss = {v[50] / v[0]:.1e}"
              f"   decay {gradients.decay_rate(v):.3f} per step")
    eigen = gradients.eigen_demo()
    print(f"  h_t = W^t h_0: cos(h_t, top eigenvector) goes {eigen['alignment'][0]:.2f} -> "
          f"{eigen['alignment'][-1]:.3f} in {len(eigen['alignment']) - 1} steps")
    print(f"gradient plot: {gradients.plot(norms, eigen, out / 'gradients.png')}")

    # 4. curves
    print(f"curves: {plot_runs([run], out / 'curves.png')}")


if __name__ == "__main__":
    main()
