"""One self-contained HTML page: text coloured by one hidden cell's activation.

Karpathy's "visualising LSTM activations" figure on the user's own model: every token is a
span coloured red (positive) or blue (negative) by the chosen cell; a list ranks the cells
by how well they track simple features (``features.py``), and a click (or ←/→) flips
through them. Layer and quantity (LSTM tanh(c), h, c or a gate) are selectable.

Everything is inline (data, script, style), so the page works offline. The page is
coloured for the best-ranked cell before any script runs; the script only recolours.
Activations are stored as int8 in base64, (H, T) per layer and quantity, which keeps a
2-layer 256-cell LSTM over 1,500 tokens to a few megabytes.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np

from ..core.files import atomic_write_text
from ..errors import UserError
from ..rundir import load_run
from .activations import collect, keys_for
from .features import correlations, features, ranking

LABELS = {"tanh_c": "tanh(c): cell state, squashed", "h": "h: hidden state", "c": "c: cell state",
          "i": "i: input gate", "f": "f: forget gate", "o": "o: output gate",
          "g": "g: candidate", "r": "r: reset gate", "z": "z: update gate", "n": "n: candidate"}
UNIT = {"i", "f", "o", "r", "z"}  # gates live in [0, 1]; the rest in [-1, 1] except c
POS, NEG = (214, 39, 40), (31, 119, 180)


def colour(x: float) -> str:
    """x in [-1, 1] -> background: white at 0, red towards 1, blue towards -1."""
    target = POS if x >= 0 else NEG
    a = min(abs(x), 1.0)
    r, g, b = (round(255 + (c - 255) * a) for c in target)
    return f"rgb({r},{g},{b})"


def _range(key: str, v: np.ndarray) -> tuple[float, float]:
    if key in UNIT:
        return 0.0, 1.0
    if key == "c":
        m = float(np.abs(v).max()) or 1.0
        return -m, m
    return -1.0, 1.0


def _quantise(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """(T, H) values -> int8 (H, T) of x = 2 (v − lo)/(hi − lo) − 1 in [-1, 1], times 127."""
    x = np.clip(2.0 * (v - lo) / (hi - lo) - 1.0, -1.0, 1.0)
    return np.round(x * 127).astype(np.int8).T.copy()


def page_data(model, codec, ids: list[int], prefix: list[int] | None = None) -> dict:
    """Everything the page shows, as JSON-able data.

    ``prefix`` ids (e.g. the start token of a documents-mode run) are fed to the network but
    not shown. Returns tokens, quantities, features and per-"layer/key" int8 maps,
    correlations (H, F) and a ranking of cells.
    """
    prefix = list(prefix or [])
    acts = collect(model, prefix + list(ids))
    tokens = [codec.token_text(int(i)) for i in ids]  # the codec's display text per token
    feats = features(tokens)
    keys = keys_for(model.config.cell)
    maps, corr, rank = {}, {}, {}
    for layer in range(model.config.num_layers):
        for key in keys:
            v = acts[key][layer, len(prefix):]  # (T, H)
            lo, hi = _range(key, v)
            name = f"{layer}/{key}"
            maps[name] = base64.b64encode(_quantise(v, lo, hi).tobytes()).decode("ascii")
            cr = correlations(v, feats)
            corr[name] = np.round(cr, 3).tolist()
            rank[name] = ranking(cr)
    return {"tokens": tokens, "keys": keys,
            "labels": {k: LABELS[k] for k in keys}, "layers": model.config.num_layers,
            "hidden": model.config.hidden_size, "cell": model.config.cell,
            "features": list(feats), "maps": maps, "corr": corr, "rank": rank}


def _cell_label(data: dict, name: str, cell: int) -> str:
    r = data["corr"][name][cell]
    if not r:
        return f"cell {cell}"
    j = int(np.argmax(np.abs(r)))
    return f"cell {cell} · {data['features'][j]} r={r[j]:+.2f}"


def render(data: dict, title: str) -> str:
    """The HTML page for ``page_data``: coloured for the best cell of the first quantity."""
    first = f"{data['layers'] - 1}/{data['keys'][0]}"  # top layer: closest to the output
    best = data["rank"][first][0]
    q = np.frombuffer(base64.b64decode(data["maps"][first]), dtype=np.int8)
    q = q.reshape(data["hidden"], -1)[best]
    spans = []
    for t, tok in enumerate(data["tokens"]):
        shown = tok.replace("\n", "↵\n")  # token_text already spaces out non-text tokens
        spans.append(f'<span class="t" data-t="{t}" style="background:{colour(q[t] / 127)}">'
                     f"{html.escape(shown)}</span>")
    items = "".join(f'<li data-cell="{c}">{html.escape(_cell_label(data, first, c))}</li>'
                    for c in data["rank"][first])
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (_TEMPLATE.replace("%TITLE%", html.escape(title)).replace("%SPANS%", "".join(spans))
            .replace("%ITEMS%", items).replace("%DATA%", payload)
            .replace("%FIRST%", first).replace("%BEST%", str(best)))


def write_page(run_dir: str | Path, text: str | Path, out: str | Path, max_tokens: int = 1500,
               last: bool = False) -> Path:
    """Read ``text`` with the run's codec, run the model over its first ``max_tokens`` tokens
    and write the page to ``out`` (atomically)."""
    model, codec, cfg = load_run(run_dir, last=last, device="cpu")
    if not Path(text).is_file():
        raise UserError(f"{text} does not exist; give --text a file to run the model over")
    ids = codec.encode(codec.read(text), unknown="skip")[:max_tokens]
    if len(ids) < 2:
        raise UserError(f"{text} has fewer than 2 tokens the model knows; give a longer file "
                        "in the run's own kind of data")
    documents = cfg.get("train", {}).get("documents", False)
    prefix = [codec.vocab.bos] if documents else []
    data = page_data(model, codec, ids, prefix)
    atomic_write_text(out, render(data, f"{Path(run_dir).name}: {Path(text).name}"))
    return Path(out)


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%TITLE%</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh}
#side{width:22em;border-right:1px solid #ccc;padding:.8em;overflow:auto;flex:none}
#main{flex:1;padding:1em;overflow:auto}
#text{font-family:ui-monospace,monospace;white-space:pre-wrap;line-height:1.5;font-size:14px}
#cells{list-style:none;padding:0;margin:.5em 0;font-size:13px}
#cells li{padding:2px 4px;cursor:pointer} #cells li.on{background:#333;color:#fff}
label{display:block;margin:.4em 0} select{width:100%}
.key{font-size:12px;color:#555}
</style></head><body>
<div id="side"><h3>%TITLE%</h3>
<label>layer <select id="layer"></select></label>
<label>quantity <select id="key"></select></label>
<label>rank cells by <select id="feature"></select></label>
<div class="key">red: positive · blue: negative · gates: red near 1, blue near 0.
← / → flip through the list.</div>
<ol id="cells">%ITEMS%</ol></div>
<div id="main"><div id="info"></div><div id="text">%SPANS%</div></div>
<script id="data" type="application/json">%DATA%</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const spans = document.querySelectorAll("#text .t");
let name = "%FIRST%", cell = %BEST%, order = [], cache = {};
function opt(sel, values, labels) {
  sel.innerHTML = values.map((v, i) => `<option value="${v}">${labels[i]}</option>`).join("");
}
function colour(x) {
  const t = x >= 0 ? [214, 39, 40] : [31, 119, 180], a = Math.min(Math.abs(x), 1);
  return `rgb(${t.map((c) => Math.round(255 + (c - 255) * a)).join(",")})`;
}
function values(n) {
  if (!cache[n]) {
    const s = atob(D.maps[n]);
    const a = new Int8Array(s.length);
    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i) << 24 >> 24;
    cache[n] = a;
  }
  return cache[n];
}
function paint() {
  const v = values(name), T = spans.length;
  spans.forEach((s, t) => { s.style.background = colour(v[cell * T + t] / 127); });
  document.querySelectorAll("#cells li").forEach((li) =>
    li.classList.toggle("on", +li.dataset.cell === cell));
  const [layer, key] = name.split("/");
  $("info").textContent = `layer ${layer}, ${D.labels[key]}, cell ${cell}`;
}
function list() {
  name = `${$("layer").value}/${$("key").value}`;
  const f = $("feature").value, r = D.corr[name];
  order = f === "" ? D.rank[name].slice()
    : [...r.keys()].sort((a, b) => Math.abs(r[b][f]) - Math.abs(r[a][f]));
  $("cells").innerHTML = order.map((c) => {
    let j = f === "" ? -1 : +f;
    if (j < 0 && r[c].length) {
      j = r[c].reduce((m, x, k) => (Math.abs(x) > Math.abs(r[c][m]) ? k : m), 0);
    }
    const sign = j >= 0 && r[c][j] >= 0 ? "+" : "";
    const tag = j >= 0 ? ` · ${D.features[j]} r=${sign}${r[c][j].toFixed(2)}` : "";
    return `<li data-cell="${c}">cell ${c}${tag}</li>`;
  }).join("");
  cell = order[0];
  paint();
}
opt($("layer"), [...Array(D.layers).keys()], [...Array(D.layers).keys()].map(String));
$("layer").value = String(D.layers - 1);
opt($("key"), D.keys, D.keys.map((k) => D.labels[k]));
opt($("feature"), ["", ...D.features.map((_, j) => j)], ["strongest feature", ...D.features]);
["layer", "key", "feature"].forEach((id) => $(id).addEventListener("change", list));
$("cells").addEventListener("click", (e) => {
  const li = e.target.closest("li"); if (li) { cell = +li.dataset.cell; paint(); }
});
document.addEventListener("keydown", (e) => {
  if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
  const k = order.indexOf(cell) + (e.key === "ArrowRight" ? 1 : -1);
  if (k >= 0 && k < order.length) { cell = order[k]; paint(); }
});
list();
</script></body></html>
"""
