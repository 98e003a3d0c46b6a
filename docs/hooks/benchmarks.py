"""Benchmark results as plots and tables, drawn from JSON at every build (an MkDocs hook).

The JSON files are docs/data/benchmarks/*.json, in the format `creative-rnn bench --json PATH`
writes ({"machine", "device", "started", "rows": [{measure, unit, baseline, baseline_value,
value, target, met, ratio}]}) plus "title", "date" and "source". The figures recorded there
are measurements: each file names the machine and the date they were taken on. To add a
result, drop the JSON of a `creative-rnn bench` run there (its date comes from "started").

The page explanation/benchmark-results.md holds the marker line RESULTS_MARKER; the hook puts
a plot and a table of each file there, and the PNGs in images/benchmarks/ of the site.
``python docs/hooks/benchmarks.py OUT_DIR`` draws the same PNGs into OUT_DIR.
"""

from __future__ import annotations

import io
import json
import sys
import textwrap
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks"
PAGE = "explanation/benchmark-results.md"
IMAGES = "images/benchmarks"
RESULTS_MARKER = "<!-- benchmark results -->"


def load(path: Path) -> dict:
    """One results file, with title and date filled in for a plain `bench --json` file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data.get("rows"), list) or not data.get("machine"):
        raise ValueError(f"{path}: not a benchmark results file (needs machine and rows)")
    data.setdefault("title", "creative-rnn bench")
    if "date" not in data:
        data["date"] = time.strftime("%Y-%m-%d", time.gmtime(float(data["started"])))
    return data


def results(folder: Path = DATA) -> dict[str, dict]:
    return {p.stem: load(p) for p in sorted(folder.glob("*.json"))}


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.5g}"


def plot(data: dict) -> bytes:
    """A PNG: for each row, the baseline and creative-rnn side by side, one panel per unit;
    titled with the machine and the date."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = list(dict.fromkeys(r["unit"] for r in data["rows"]))
    heights = [sum(r["unit"] == u for r in data["rows"]) for u in units]
    fig, axes = plt.subplots(len(units), 1, squeeze=False, height_ratios=heights,
                             figsize=(9, 1.6 + 0.55 * len(data["rows"]) + 0.6 * len(units)))
    for ax, unit in zip(axes[:, 0], units):
        rows = [r for r in data["rows"] if r["unit"] == unit][::-1]
        y = range(len(rows))
        ax.barh([i + 0.2 for i in y], [r["baseline_value"] for r in rows], 0.4,
                color="#b0b0b0", label="baseline (same run)")
        ax.barh([i - 0.2 for i in y], [r["value"] for r in rows], 0.4, color="#3f6fb5",
                label="creative-rnn")
        for i, r in zip(y, rows):
            ax.text(r["value"], i - 0.2, " " + _num(r["value"]), va="center", fontsize=8)
            ax.text(r["baseline_value"], i + 0.2, " " + _num(r["baseline_value"]),
                    va="center", fontsize=8, color="#555555")
        ax.set_yticks(list(y), [r["measure"] for r in rows], fontsize=8)
        ax.set_xlabel(unit)
        ax.margins(x=0.15)
        if unit.startswith("nats"):  # losses differ in the second decimal: start near them
            values = [v for r in rows for v in (r["value"], r["baseline_value"])]
            ax.set_xlim(min(values) - 0.1 * (max(values) - min(values) + 0.1),
                        max(values) + 0.25 * (max(values) - min(values) + 0.1))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=2)
    heading = [data["title"], f"{data['machine']}, {data['date']}"]  # wrapped to the figure
    fig.suptitle("\n".join(textwrap.fill(h, 120) for h in heading), fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _cell(text: object) -> str:
    # a pipe inside a code span is not a column break (and a backslash there would show)
    parts = " ".join(str(text).split()).split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def section(name: str, data: dict) -> str:
    """The Markdown of one results file: heading, machine and date, plot, table."""
    lines = [f"## {data['title']}", "",
             f"Machine: {data['machine']} (device: {data.get('device', 'cpu')}); "
             f"measured {data['date']}." + (f" Source: {data['source']}." if data.get("source")
                                            else ""), "",
             f"![{_cell(data['title'])}](../{IMAGES}/{name}.png)", "",
             "| measure | creative-rnn | baseline | baseline value | ratio | target |",
             "|---|---|---|---|---|---|"]
    for r in data["rows"]:
        target = r.get("target") or ""
        if target and r.get("met") is not None:
            target += " (met)" if r["met"] else " (not met)"
        ratio = r["value"] / r["baseline_value"] if r["baseline_value"] else float("nan")
        lines.append(f"| {_cell(r['measure'])} | {_num(r['value'])} {_cell(r['unit'])} | "
                     f"{_cell(r['baseline'])} | {_num(r['baseline_value'])} | {ratio:.2f}x | "
                     f"{_cell(target)} |")
    return "\n".join(lines) + "\n"


def on_files(files, config):
    from mkdocs.structure.files import File

    for name, data in results().items():
        files.append(File.generated(config, f"{IMAGES}/{name}.png", content=plot(data)))
    return files


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri != PAGE:
        return markdown
    if RESULTS_MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} lost its line {RESULTS_MARKER}")
    body = "\n".join(section(n, d) for n, d in results().items())
    return markdown.replace(RESULTS_MARKER, body)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmark-plots")
    out.mkdir(parents=True, exist_ok=True)
    for name, data in results().items():
        (out / f"{name}.png").write_bytes(plot(data))
        print(out / f"{name}.png")
