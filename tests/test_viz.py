"""Looking inside: per-step activations, the activation page, gradients through time, the
eigenvalue demonstration and the training-curve panels."""

from __future__ import annotations

import base64
import json
import struct
from html.parser import HTMLParser

import numpy as np
import pytest
import torch

from creative_rnn.cli import main
from creative_rnn.config import ModelConfig
from creative_rnn.models import SequenceModel
from creative_rnn.rundir import load_run
from creative_rnn.viz import activations, features, gradients
from creative_rnn.viz.activation_page import write_page
from creative_rnn.viz.curves import plot_runs


# --- activations ---------------------------------------------------------------------------
@pytest.mark.parametrize("cell,keys", [("rnn", {"h"}), ("gru", {"h", "r", "z", "n"}),
                                       ("lstm", {"h", "c", "tanh_c", "i", "f", "o", "g"}),
                                       ("mingru", {"h", "z", "h_tilde"}),
                                       ("minlstm", {"h", "f", "i", "h_tilde"})])
def test_collect_replays_the_torch_layers(cell, keys):
    torch.manual_seed(0)
    model = SequenceModel(ModelConfig(cell=cell, num_layers=2, hidden_size=6, embedding_size=4,
                                      vocab_size=10, dropout=0.3))
    model.train()
    ids = [4, 5, 6, 7, 4, 9, 1]
    acts = activations.collect(model, ids)
    assert model.training  # collect switches to eval mode and back
    assert set(acts) == keys
    assert all(v.shape == (2, 7, 6) for v in acts.values())
    model.eval()
    with torch.no_grad():
        out, state = model.rnn(model.embedding(torch.tensor([ids])))
    np.testing.assert_allclose(acts["h"][1], out[0].numpy(), atol=1e-6)  # top layer, every step
    np.testing.assert_allclose(acts["h"][:, -1], model.hidden(state)[:, 0].numpy(), atol=1e-6)
    if cell == "lstm":
        np.testing.assert_allclose(acts["c"][:, -1], state[1][:, 0].numpy(), atol=1e-6)
        np.testing.assert_allclose(acts["h"], acts["o"] * acts["tanh_c"], atol=1e-6)
    if cell == "mingru":  # h_t = (1 − z_t) h_{t−1} + z_t h̃_t, from h_0 = 0
        prev = np.concatenate([np.zeros((2, 1, 6)), acts["h"][:, :-1]], 1)
        np.testing.assert_allclose(acts["h"], (1 - acts["z"]) * prev + acts["z"] *
                                   acts["h_tilde"], atol=1e-6)
    assert activations.keys_for(cell)[0] in ("h", "tanh_c") and set(
        activations.keys_for(cell)) == keys
    for gate in keys & {"i", "f", "o", "r", "z"}:
        assert acts[gate].min() >= 0.0 and acts[gate].max() <= 1.0


# --- features ------------------------------------------------------------------------------
def test_features_follow_quotes_brackets_lines_and_bars():
    tokens = list('ab "cd" (e|f)\ng|hi "j"\nxyz')
    f = features.features(tokens)
    quote = "".join(t for t, q in zip(tokens, f["inside quotes"]) if q)
    bracket = "".join(t for t, b in zip(tokens, f["inside brackets"]) if b)
    assert quote == '"cd"j'  # on from the opening quote (what h_t has seen), off at the close
    assert bracket == "(e|f"
    assert f["position in line"][tokens.index("g")] == 1
    assert f["steps after a bar line"][tokens.index("f")] == 1
    assert np.isnan(f["steps after a bar line"][0])  # undefined before the first bar line
    assert f["vowel (vs consonant)"][0] == 1 and f["vowel (vs consonant)"][1] == 0
    assert np.isnan(f["vowel (vs consonant)"][2])  # a space is neither


def test_a_cell_that_is_the_feature_ranks_first():
    rng = np.random.default_rng(0)
    feat = {"inside quotes": np.tile([0.0, 0.0, 1.0, 1.0], 10)}
    acts = rng.normal(0, 0.1, (40, 5))
    acts[:, 3] = -feat["inside quotes"] + rng.normal(0, 0.01, 40)  # anti-correlated counts too
    acts[:, 1] = 0.5  # a dead cell tracks nothing
    corr = features.correlations(acts, feat)
    assert corr[3, 0] < -0.99 and corr[1, 0] == 0.0
    assert features.ranking(corr)[0] == 3


# --- the page ------------------------------------------------------------------------------
class PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tokens, self.styles, self.cells, self.external = [], [], [], []
        self.data, self._in, self._script = None, None, ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and a.get("class") == "t":
            self._in = True
            self.tokens.append("")
            self.styles.append(a.get("style", ""))
        elif tag == "li" and "data-cell" in a:
            self.cells.append(int(a["data-cell"]))
        elif tag == "script" and a.get("id") == "data":
            self._script = "data"
        if tag in ("script", "link", "img") and (a.get("src") or a.get("href")):
            self.external.append(a)

    def handle_endtag(self, tag):
        if tag == "span":
            self._in = False
        if tag == "script":
            self._script = ""

    def handle_data(self, data):
        if self._in:
            self.tokens[-1] += data
        if self._script == "data":
            self.data = json.loads(data)


def test_activation_page_colours_every_token_and_lists_every_cell(tiny_text_run, startrek,
                                                                  tmp_path):
    out = write_page(tiny_text_run, startrek, tmp_path / "page.html", max_tokens=300)
    page = PageParser()
    page.feed(out.read_text(encoding="utf-8"))
    text = startrek.read_text(encoding="utf-8")[:300]
    assert len(page.tokens) == 300
    assert "".join(page.tokens) == text.replace("\n", "↵\n")
    assert all(s.startswith("background:rgb(") for s in page.styles)
    assert len({s for s in page.styles}) > 10  # coloured by value, not one flat colour
    assert sorted(page.cells) == list(range(48))  # the run's 1x48 LSTM: every cell listed
    assert page.external == []  # works offline
    d = page.data
    assert d["keys"][0] == "tanh_c" and {"h", "i", "f", "o", "g"} <= set(d["keys"])
    assert "position in line" in d["features"]
    # the stored values are the model's: decode cell 0 of tanh(c) and compare
    model, codec, _ = load_run(tiny_text_run)
    acts = activations.collect(model, codec.encode(text))
    q = np.frombuffer(base64.b64decode(d["maps"]["0/tanh_c"]), dtype=np.int8).reshape(48, 300)
    np.testing.assert_allclose(q[0] / 127, acts["tanh_c"][0, :, 0], atol=1 / 127)


def test_viz_cli_errors_are_user_errors(tiny_text_run, tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    assert main(["viz", str(tiny_text_run), "--text", str(missing),
                 "--out", str(tmp_path / "p.html")]) == 2
    assert "nope.txt" in capsys.readouterr().err
    assert not (tmp_path / "p.html").exists()


# --- gradients through time ------------------------------------------------------------------
def test_vanilla_rnn_gradient_vanishes_faster_than_lstm_at_initialisation(tiny_text_run):
    norms = gradients.measure(tiny_text_run, length=60, count=4)
    assert set(norms) == {"trained lstm", "fresh rnn", "fresh gru", "fresh lstm"}
    for v in norms.values():
        assert v.shape == (60,) and np.all(np.isfinite(v)) and np.all(v > 0)
    rnn, lstm = gradients.decay_rate(norms["fresh rnn"]), gradients.decay_rate(norms["fresh lstm"])
    assert rnn > 1.3 * lstm > 0
    far = norms["fresh rnn"][-1] / norms["fresh rnn"][15]
    assert far < norms["fresh lstm"][-1] / norms["fresh lstm"][15]


def test_eigen_demo_keeps_only_the_largest_eigenvector():
    d = gradients.eigen_demo(eigenvalues=(1.0, 0.8, 0.5, 0.2), steps=25)
    np.testing.assert_allclose(d["components"], d["theory"], rtol=1e-8, atol=1e-14)
    assert d["alignment"][0] == pytest.approx(0.5)  # h_0 holds equal parts of 4 eigenvectors
    assert d["alignment"][-1] > 0.99
    assert np.all(np.diff(d["components"][:, 1:], axis=0) < 0)  # the rest die away


def test_viz_gradients_cli_writes_a_two_panel_png(tiny_text_run, tmp_path, capsys):
    out = tmp_path / "grad.png"
    assert main(["viz-gradients", str(tiny_text_run), "--out", str(out), "--length", "30",
                 "--windows", "2"]) == 0
    assert "fresh rnn" in capsys.readouterr().out
    assert _png_size(out) == (1200, 450)


# --- training curves -------------------------------------------------------------------------
def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_plot_adds_a_gradient_norm_panel(tiny_text_run, tmp_path):
    rows = [json.loads(line) for line in (tiny_text_run / "metrics.jsonl").read_text().splitlines()]
    assert any("grad_norm" in r for r in rows)
    assert _png_size(plot_runs([tiny_text_run], tmp_path / "a.png")) == (1400, 450)
    bare = tmp_path / "bare"  # a run without grad_norm keeps the single loss panel
    bare.mkdir()
    (bare / "metrics.jsonl").write_text("".join(
        json.dumps({k: v for k, v in r.items() if k != "grad_norm"}) + "\n" for r in rows))
    assert _png_size(plot_runs([bare], tmp_path / "b.png")) == (800, 450)
