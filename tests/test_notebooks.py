"""The lessons in notebooks/: stored without outputs, and each one runs top to bottom with a
small budget and reaches its key results.

A notebook is run the way Jupyter runs it (nbclient and an IPython kernel on this Python),
with its "parameters" cell rewritten in memory: a few dozen training steps instead of
minutes, runs written under the test's folder, the tests' copies of the course data
(tiny-shakespeare, and the melodies and Metatone gestures, which are not shipped: a user
without them gets Bach's soprano lines and a made-up band). Its last cell prints
``RESULTS {json}``: the numbers each test below checks.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

# plain imports, not importorskip: the "test" extra installs them, so a missing one is a
# broken environment, not a reason to skip the lessons silently
import ipykernel  # noqa: F401  (the kernel the notebooks run on)
import nbclient
import nbformat
from support import shared_file

from creative_rnn import corpora
from creative_rnn.codecs.abc.codec import split_tunes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT_S = 900  # a hung cell fails the test instead of the whole CI run


def parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    return tagged[0]


def kernel_manager(tmp: Path):
    """A kernel on this very interpreter (the venv under test), whatever kernels the machine
    has registered as "python3"."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = tmp / "kernels" / "creative-rnn-tests"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "creative-rnn tests", "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name="creative-rnn-tests", kernel_spec_manager=specs)


def run_notebook(name: str, tmp_path: Path, **params) -> dict:
    """Execute notebooks/``name`` with ``params`` set in its parameters cell; its RESULTS."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cell = parameters_cell(nb)
    params = {"OUT": str(tmp_path / "out"), **params}
    for key, value in params.items():
        line = re.compile(rf"^{key} = .*$", re.M)
        assert line.search(cell.source), f"{name}: no parameter {key}"
        cell.source = line.sub(lambda _, k=key, v=value: f"{k} = {v!r}", cell.source)
    km = kernel_manager(tmp_path)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, km=km,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()  # raises CellExecutionError, with the cell and its traceback, on error
    finally:  # nbclient shuts down only kernels it made itself: each kernel stayed to the end
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    text = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream")
    found = re.search(r"^RESULTS (.*)$", text, re.M)
    assert found, f"{name}: the last cell printed no RESULTS line"
    return json.loads(found.group(1))


def test_notebooks_are_stored_without_outputs():
    """Outputs are stripped before committing: no outputs, no execution counts."""
    assert len(ALL) >= 5
    for path in ALL:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name} cell {i} has outputs"
                assert cell.execution_count is None, f"{path.name} cell {i} was executed"


def test_every_notebook_installs_itself_and_has_one_budget_cell():
    for path in ALL:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "import creative_rnn" in code[0].source and "%pip install" in code[0].source, \
            f"{path.name}: the first cell installs the package when it is missing"
        assert code[1] is parameters_cell(nb), f"{path.name}: the parameters come second"
        assert re.search(r"^MINUTES = ", code[1].source, re.M), f"{path.name}: no MINUTES"


def test_star_trek_titles(tmp_path):
    r = run_notebook("star_trek_titles.ipynb", tmp_path, MAX_STEPS=100)
    assert r["examples"] == r["characters"] - 30  # X = 30 characters, y = the next one
    assert r["best_val_loss"] < r["unigram_loss"]  # learned more than letter frequencies
    assert sorted(map(float, r["samples"])) == r["temperatures"]
    for titles in r["samples"].values():
        assert len(titles) == r["num"] and all(isinstance(t, str) for t in titles)


def test_advanced_char_rnn(tmp_path):
    r = run_notebook("advanced_char_rnn.ipynb", tmp_path, MAX_STEPS=80, HIDDEN=64,
                     SHAKESPEARE_FILE=str(shared_file("text/tiny-shakespeare.txt")))
    assert set(r["best_val_loss"]) == {"rnn", "gru", "lstm", "lstm 2 layers, dropout"}
    for cell, loss in r["best_val_loss"].items():
        assert loss < r["unigram_loss"], cell
    assert r["parameters"]["rnn"] < r["parameters"]["gru"] < r["parameters"]["lstm"]
    assert r["resumed_steps"] > r["steps_before_resume"]
    assert set(r["strategies"]) >= {"temperature 0.5", "top-k 5", "top-p 0.9"}
    assert 0 <= r["best_cell"] < 64 and 0 < r["best_cell_r"] <= 1


def test_melody_generation(tmp_path):
    # 200 of O'Neill's tunes: reading and validating all 2,000 would be most of the test's time
    files = corpora.folk_files(["oneills1850"])[:4]
    tunes = [t for f in files for t in split_tunes(f.read_text(encoding="latin-1"))][:200]
    book = tmp_path / "oneill-200.abc"
    book.write_text("\n\n".join(tunes) + "\n", encoding="utf-8")
    r = run_notebook("melody_generation.ipynb", tmp_path, MAX_STEPS=40, SYNTH="sine",
                     MELODIES=str(shared_file("melody/melodies.jsonl")), FOLK=str(book))
    assert r["melody_val_loss"] < r["melody_unigram_loss"]
    assert r["audio"] == "sine" and r["audio_seconds"] > 0  # its own synthesis always sounds
    assert r["score_notes"] == r["sample_notes"] > 0  # the score shows every sampled note
    assert r["primed_starts_with_prime"]
    assert Path(r["midi"]).is_file() and Path(r["midi"]).suffix == ".mid"
    assert r["abc_val_loss"] < r["abc_unigram_loss"]
    assert r["tunes"] > 0 and r["bars_complete"] == 1.0  # --complete-bars holds every bar


def test_neural_ipad_band(tmp_path):
    r = run_notebook("neural_ipad_band.ipynb", tmp_path, MAX_STEPS=300,
                     GESTURES=str(shared_file("gestures/metatone_gestures.jsonl")))
    assert r["code"] == 3 + 0 * 9 + 2 * 81 + 8 * 729 and r["unpacked"] == [3, 0, 2, 8]
    assert r["inputs"] == 9**4 and r["outputs"] == 9**3
    assert r["best_val_loss"] < r["unigram_loss"] < math.log(9**3)
    assert r["steps"] > 0 and len(r["answers"]) == r["steps"]
    assert all(len(a) == 3 and all(0 <= v < 9 for v in a) for a in r["answers"])


def test_inside_the_rnn(tmp_path):
    r = run_notebook("inside_the_rnn.ipynb", tmp_path, MAX_STEPS=30)
    assert r["numpy_vs_reference"] < 1e-12  # the notebook's own forward pass is the reference's
    for cell in ("rnn", "gru", "lstm"):
        assert r["bptt_vs_finite_differences"][cell] < r["bound"]
        assert r["bptt_vs_autograd"][cell] < 1e-9
    assert r["reference_vs_trained_logits"] < 1e-5
    assert r["decay"]["fresh rnn"] > r["decay"]["fresh lstm"]  # the slide: RNNs forget faster
    assert r["eigen_alignment"] > 0.99 and r["power_vs_eigen"] < 1e-10
