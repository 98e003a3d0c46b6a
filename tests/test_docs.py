"""The documentation site: it builds in strict mode, its reference pages cover the code, and
every shell and Python block of the tutorials and how-tos runs.

The contract for pages (docs/tutorials/*.md, docs/how-to/*.md):
- every fenced block whose language is ``bash`` or ``python`` runs, in page order, in a fresh
  temporary folder per page that all the page's blocks share; ``bash`` blocks run with
  ``bash -euo pipefail`` and the venv's ``creative-rnn`` first on PATH; the ``python`` blocks
  of one page run in one Python process (they share variables);
- a block that cannot run here is preceded by ``<!-- not run: REASON -->`` on its own line
  (the reason is required); ``console`` and ``text`` blocks (output) never run;
- ``sh``, ``shell``, ``py`` fences and ``$ `` prompts in a bash block are errors: write plain
  commands in ``bash`` (or show a session as ``console``);
- before running, budgets are rewritten by REWRITES below, so pages can show real values.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import script_module, shared_file

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUN_DIRS = ("tutorials", "how-to")

# Budget rewrites: (pattern, replacement). A replacement that is a function gets the match;
# _cap(n) keeps a number at most n. Applied to bash and python blocks alike, in this order.


def _cap(n: int):
    return lambda m: f"{m.group(1)}{min(int(float(m.group(2))), n)}"


REWRITES: list[tuple[str, object]] = [
    (r"--max-minutes[ =][0-9.]+", "--max-steps 30"),  # train: a step budget, not minutes
    (r"(--max-steps[ =])([0-9.]+)", _cap(30)),
    (r"(--num[ =])([0-9]+)", _cap(2)),
    (r"(--length[ =])([0-9]+)", _cap(200)),
    (r"--minutes[ =][0-9.]+", "--minutes 0.05"),  # demo: the smallest it accepts is > 0
    (r"\bmax_minutes\s*=\s*[0-9.]+", "max_minutes=0.05"),  # Python: train(max_minutes=...)
    (r"(\bmax_steps\s*=\s*)([0-9_]+)", _cap(30)),
    (r"(\bnum\s*=\s*)([0-9]+)", _cap(2)),
    (r"(\blength\s*=\s*)([0-9]+)", _cap(200)),
]

RUN_LANGS = {"bash", "python"}
WRONG_LANGS = {"sh", "shell", "zsh", "py", "python3", "pycon"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*not run\b(?P<rest>.*?)-->\s*$")


def rewrite(code: str) -> str:
    for pattern, repl in REWRITES:
        code = re.sub(pattern, repl, code)
    return code


def blocks(text: str, page: str) -> tuple[list[dict], list[str]]:
    """The runnable blocks of a page ({lang, code, where, line}) and the contract's errors."""
    out, errors = [], []
    lines = text.splitlines()
    i, marker = 0, None  # marker: (line number, reason) of a not-run comment just above
    while i < len(lines):
        m_marker = MARKER.match(lines[i])
        m = FENCE.match(lines[i])
        if m_marker:
            reason = m_marker.group("rest").strip()
            if not reason.startswith(":") or not reason[1:].strip():
                errors.append(f"{page}:{i + 1}: a not-run marker needs a reason: "
                              "<!-- not run: REASON -->")
            marker = (i + 1, reason[1:].strip())
            i += 1
            continue
        if not m:
            if lines[i].strip() and marker:
                errors.append(f"{page}:{marker[0]}: the not-run marker is not right above a "
                              "code block")
                marker = None
            i += 1
            continue
        indent, fence, lang = m.group("indent"), m.group("fence"), m.group("lang").lower()
        start = i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1  # the closing fence
        code = "\n".join(body) + "\n"
        where = f"{page}:{start} ({lang} block)"
        if lang in WRONG_LANGS:
            errors.append(f"{where}: fence it as bash or python (runs) or console/text "
                          "(output, never run)")
        elif lang in RUN_LANGS and not marker:
            if lang == "bash" and any(s.startswith("$ ") for s in body):
                errors.append(f"{where}: '$ ' prompts: write plain commands (or fence a "
                              "session as console)")
            out.append({"lang": lang, "code": rewrite(code), "where": where, "line": start})
        marker = None
    if marker:
        errors.append(f"{page}:{marker[0]}: the not-run marker is not right above a code block")
    return out, errors


# The process that runs one page: bash blocks as subprocesses, python blocks exec'd in one
# namespace, in page order; the first failure names its block and stops the page.
DRIVER = r'''
import json, subprocess, sys, traceback
ns = {"__name__": "__main__"}
for b in json.load(open(sys.argv[1], encoding="utf-8")):
    print(f"--- {b['where']}", flush=True)
    if b["lang"] == "bash":
        rc = subprocess.run(["bash", "-euo", "pipefail", "-c", b["code"]]).returncode
        if rc:
            print(f"FAILED {b['where']}: bash exited with {rc}", flush=True)
            sys.exit(1)
        continue
    try:
        exec(compile(b["code"], b["where"], "exec"), ns)
    except BaseException:
        traceback.print_exc()
        print(f"FAILED {b['where']}", flush=True)
        sys.exit(1)
    sys.stdout.flush()
'''


def run_page(path: Path, workdir: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a page's blocks in ``workdir``; raise AssertionError naming contract errors."""
    page = str(path.relative_to(DOCS)) if path.is_relative_to(DOCS) else path.name
    found, errors = blocks(path.read_text(encoding="utf-8"), page)
    assert not errors, "\n".join(errors)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / ".blocks.json").write_text(json.dumps(found), encoding="utf-8")
    (workdir / ".driver.py").write_text(DRIVER, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    # two pages run at once on a 2-core machine: a torch thread each, not two each that spin
    # waiting for a core (all pages, quiet EPYC, two pairs: 167 and 160 s, 143 and 148 s)
    env.setdefault("OMP_NUM_THREADS", "1")
    # a page keeps its pieces where a user's would be, in its own folder's runs/library.sqlite
    for name in ("CREATIVE_RNN_LIBRARY", "CREATIVE_RNN_RUNS"):
        env.pop(name, None)
    # the shakespeare corpus is a download for users; here, the tests' copy (a fine-tuned
    # run's copy meter rebuilds its parent's corpus)
    env.setdefault("CREATIVE_RNN_SHAKESPEARE", str(shared_file("text/tiny-shakespeare.txt")))
    return subprocess.run([sys.executable, ".driver.py", ".blocks.json"], cwd=workdir, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def _pages() -> list[Path]:
    return sorted(p for d in RUN_DIRS for p in (DOCS / d).glob("*.md"))


PAGE_TEST = "test_page_blocks_run"
PARALLEL_PAGES = 2  # pages run at once: their blocks wait on processes as much as on a core


@pytest.fixture(scope="session")
def page_runs(request, tmp_path_factory) -> dict[Path, object]:
    """Every page the session selected, run two at a time (the whole set took 5.7 minutes
    one after another on a 2-core machine): page -> its CompletedProcess, or the exception
    its run raised. Each page still has its own folder and its own test."""
    wanted = [item.callspec.params["page"] for item in request.session.items
              if item.name.startswith(PAGE_TEST + "[")]
    root = tmp_path_factory.mktemp("pages")

    def one(i: int, page: Path):
        try:
            return run_page(page, root / f"{i}-{page.stem}")
        except BaseException as e:  # noqa: BLE001 - reported by the page's own test
            return e
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL_PAGES) as pool:
        futures = {page: pool.submit(one, i, page) for i, page in enumerate(wanted)}
    return {page: f.result() for page, f in futures.items()}


@pytest.mark.parametrize("page", _pages(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_page_blocks_run(page, page_runs):
    done = page_runs[page]
    if isinstance(done, BaseException):
        raise done
    assert done.returncode == 0, done.stdout[-4000:]


# --- the harness itself, on a page written here ---------------------------------------------

SAMPLE = """# A sample

```bash
echo hello > greeting.txt
creative-rnn --version
```

Some text.

```python
words = open("greeting.txt").read().split()
```

<!-- not run: needs a MIDI keyboard -->
```bash
exit 1
```

```console
$ this is output and never runs
```

- a list item with a block inside it:

    ```python
    assert words == ["hello"], words
    ```
"""


def test_runner_runs_blocks_in_order_sharing_folder_and_names(tmp_path):
    page = tmp_path / "sample.md"
    page.write_text(SAMPLE, encoding="utf-8")
    done = run_page(page, tmp_path / "work")
    assert done.returncode == 0, done.stdout
    assert "creative-rnn 0" in done.stdout  # the venv's command was on PATH
    assert (tmp_path / "work" / "greeting.txt").read_text() == "hello\n"
    assert done.stdout.count("--- sample.md:") == 3  # the not-run and console blocks skipped


def test_runner_failure_names_page_and_block(tmp_path):
    page = tmp_path / "broken.md"
    page.write_text("# B\n\n```bash\ntrue\n```\n\n```python\nx = 1\n```\n\n```bash\n"
                    "false\necho never\n```\n", encoding="utf-8")
    done = run_page(page, tmp_path / "work")
    assert done.returncode == 1
    assert "FAILED broken.md:11 (bash block): bash exited with 1" in done.stdout
    assert "never" not in done.stdout.split("FAILED")[0].split("--- broken.md:11")[1]


def test_runner_python_failure_names_block(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("```python\nx = 1\n```\n\n```python\nassert x == 2\n```\n", encoding="utf-8")
    done = run_page(page, tmp_path / "work")
    assert done.returncode == 1 and "FAILED p.md:5 (python block)" in done.stdout
    assert "AssertionError" in done.stdout


@pytest.mark.parametrize("text, error", [
    ("<!-- not run -->\n```bash\nls\n```\n", "needs a reason"),
    ("<!-- not run:   -->\n```bash\nls\n```\n", "needs a reason"),
    ("<!-- not run: why -->\nsome words\n\n```bash\nls\n```\n", "not right above"),
    ("<!-- not run: why -->\n", "not right above"),
    ("```sh\nls\n```\n", "fence it as bash or python"),
    ("```bash\n$ ls\n```\n", "prompts"),
])
def test_contract_errors(text, error):
    _, errors = blocks(text, "x.md")
    assert len(errors) == 1 and error in errors[0], errors


def test_budget_rewrites():
    bash = ("creative-rnn train startrek --out r --preset small --max-minutes 10\n"
            "creative-rnn sample r --num 10 --length 2000\n"
            "creative-rnn sample r --num=1 --length=50\n"
            "creative-rnn train x --max-steps 5000\ncreative-rnn demo --minutes 3\n")
    assert rewrite(bash) == (
        "creative-rnn train startrek --out r --preset small --max-steps 30\n"
        "creative-rnn sample r --num 2 --length 200\n"
        "creative-rnn sample r --num=1 --length=50\n"
        "creative-rnn train x --max-steps 30\ncreative-rnn demo --minutes 0.05\n")
    py = ("cr.train(corpus=c, out='r', max_minutes=10, max_steps=2_000)\n"
          "g.generate(num=8, length=999)")
    assert rewrite(py) == ("cr.train(corpus=c, out='r', max_minutes=0.05, max_steps=30)\n"
                           "g.generate(num=2, length=200)")


# --- the site builds strictly, and the generated reference covers the code ------------------


def test_site_builds_strictly(tmp_path):
    """`creative-rnn docs --build PATH` runs `mkdocs build --strict`: a broken link, a missing
    reference or any warning fails it."""
    done = subprocess.run([sys.executable, "-m", "creative_rnn", "docs", "--build",
                           str(tmp_path / "site")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600,
                          env=dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg"))
    assert done.returncode == 0, done.stderr[-4000:]
    assert f"built the docs into {tmp_path / 'site'}" in done.stdout
    for page in ("reference/cli", "reference/config", "reference/codecs", "reference/api",
                 "reference/errors", "reference/run-directory", "explanation/architecture"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page
    arch = (tmp_path / "site" / "explanation/architecture/index.html").read_text()
    assert "The map of the package" in arch  # ARCHITECTURE.md is included, not copied
    bench = (tmp_path / "site" / "explanation/benchmark-results/index.html").read_text()
    assert "images/benchmarks/time-to-quality-xeon.png" in bench and "2026-12-03" in bench
    assert (tmp_path / "site" / "images/benchmarks/time-to-quality-xeon.png").is_file()


def test_a_broken_link_fails_the_build(tmp_path):
    """The site's own config (copied with its pages) refuses a broken link and anchor."""
    import shutil

    shutil.copytree(DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    shutil.copy(ROOT / "ARCHITECTURE.md", tmp_path)
    with open(tmp_path / "docs" / "index.md", "a", encoding="utf-8") as f:
        f.write("\n\n[a page that is not there](tutorials/missing.md), "
                "[a heading that is not there](how-to/corpora.md#nowhere)\n")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert done.returncode == 1, done.stderr[-3000:]
    assert "tutorials/missing.md" in done.stderr and "#nowhere" in done.stderr, done.stderr


def _hook():
    return script_module("docs/hooks/reference.py")


def test_cli_page_has_every_command_and_flag():
    from creative_rnn.cli import parser

    page = _hook().cli_page()
    p = parser()[0]
    sub = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
    assert len(sub.choices) > 10
    for name, sp in sub.choices.items():
        section = page.split(f"\n## {name} {{#{name}}}\n")[1].split("\n## ")[0]
        for a in sp._actions:
            for flag in a.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}`" in section, (name, flag)
            if a.help and "%(default)s" in a.help:
                assert "%(default)s" not in section


def test_config_page_has_every_key_default_and_meaning():
    import dataclasses

    from creative_rnn import config

    hook = _hook()
    page = hook.config_page()
    sections = dict(s.split("\n", 1) for s in page.split("\n## ")[1:])
    for cls, title in ((config.ModelConfig, "Model keys"), (config.TrainConfig, "Training keys"),
                       (config.TaskOptions, "Task keys (classify, seq2seq)"),
                       (config.SampleConfig, "Sampling options")):
        docs = hook.field_docs(cls)
        for f in dataclasses.fields(cls):
            assert docs.get(f.name), f"{cls.__name__}.{f.name} has no docstring"
            assert f"`{f.default!r}`" in _row(sections[title], f.name)
    # ranges are what validate() checks, with the values of the module's limits
    assert "| 1 to 64 |" in _row(page, "num_layers")
    assert "[0, 1)" in _row(page, "dropout") and "> 0" in _row(page, "lr")
    assert "auto \\| cpu \\| cuda" in _row(page, "device")
    assert f"{config.MAX_LENGTH:,}" in _row(page, "length")
    for preset in config.PRESETS:
        assert f" {preset} |" in page


def _row(page: str, key: str) -> str:
    return next(r for r in page.splitlines() if r.startswith(f"| `{key}` |"))


class _Opts:
    """A codec-like class.

    Args:
        alpha: The first option,
            over two lines.
        beta (int): The second.
    """


@dataclasses.dataclass
class _Keys:
    a: int = 1
    """Meaning of a."""
    b: str = "x"  # a comment is not a meaning
    c: float = 0.5
    """Meaning of c,
    on two lines."""


def test_the_parsers_of_meanings():
    hook = _hook()
    assert hook.option_docs(_Opts) == {"alpha": "The first option, over two lines.",
                                       "beta": "The second."}
    assert hook.field_docs(_Keys) == {"a": "Meaning of a.", "c": "Meaning of c,\non two lines."}


def test_codecs_page_has_every_codec_and_option_meaning():
    import inspect

    from creative_rnn import codecs

    hook = _hook()
    page = hook.codecs_page()
    for name in codecs.names():
        assert f"\n## {name} {{#{name}}}\n" in page
        cls = codecs._REGISTRY[name]
        meanings = hook.option_docs(cls)
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            assert meanings.get(p.name), f"codec {name}: option {p.name} has no Args: entry"


def test_run_directory_and_errors_pages():
    from creative_rnn import rundir
    from creative_rnn.errors import UserError

    hook = _hook()
    page = hook.run_directory_page()
    for name in (rundir.CONFIG, rundir.CODEC, rundir.WEIGHTS, rundir.RESUME, rundir.STATE,
                 rundir.METRICS, rundir.PLOT, f"{rundir.BEST}/{rundir.WEIGHTS}"):
        assert f"| `{name}` |" in page
    errors = hook.errors_page()
    assert "exits with code 2" in errors
    found = hook.user_errors()
    assert UserError in found and len(found) >= 10
    for cls in found:
        assert f"| `{cls.__name__}` |" in errors


def test_generated_page_beside_a_written_one_is_refused(tmp_path):
    from mkdocs.config import load_config
    from mkdocs.structure.files import File, Files

    (tmp_path / "docs" / "reference").mkdir(parents=True)
    (tmp_path / "docs" / "reference" / "cli.md").write_text("# stale\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\n")
    cfg = load_config(str(tmp_path / "mkdocs.yml"))
    files = Files([File("reference/cli.md", str(tmp_path / "docs"), str(tmp_path / "site"),
                        False)])
    with pytest.raises(ValueError, match="generated"):
        _hook().on_files(files, cfg)


def test_docs_command_without_a_checkout_says_how(monkeypatch, capsys):
    from creative_rnn.cli import docs, main

    monkeypatch.setattr(docs, "source_root", lambda: None)
    assert main(["docs"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install -e '.[docs]'" in err and "clone" in err


def test_docs_command_without_mkdocs_says_how(monkeypatch, capsys):
    from creative_rnn.cli import docs, main

    monkeypatch.setattr(docs, "has_mkdocs", lambda: False)
    assert main(["docs", "--build", "site"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: mkdocs is not installed: pip install -e '.[docs]' in ")
    assert docs.source_root() == ROOT  # this checkout has the site


def test_docs_command_reports_a_failed_build(monkeypatch, capsys, tmp_path):
    from creative_rnn.cli import docs, main

    calls = []
    monkeypatch.setattr(docs.subprocess, "call", lambda cmd, cwd: calls.append(cmd) or 1)
    assert main(["docs", "--build", str(tmp_path / "s")]) == 2
    assert calls[0][1:5] == ["-m", "mkdocs", "build", "--strict"]
    assert "mkdocs build failed (exit code 1)" in capsys.readouterr().err


# --- benchmark results: drawn from JSON ------------------------------------------------------


def _bench_hook():
    return script_module("docs/hooks/benchmarks.py")


def test_recorded_benchmark_results_name_machine_and_date():
    hook = _bench_hook()
    found = hook.results()
    assert len(found) >= 5
    for name, data in found.items():
        assert re.match(r"20\d\d-\d\d-\d\d", data["date"]), name
        # named with its core count: "2 cores" by hand, "2 cpus" as bench.common.machine()
        assert re.search(r"\b\d+ (cores|cpus)\b", data["machine"]), name
        for r in data["rows"]:
            # a share may be 0 (no 10-gram copied); a time or a loss is above it
            assert r["value"] >= 0 and r["baseline_value"] >= 0 and r["unit"], (name, r)
            assert r["value"] > 0 or "share" in r["unit"], (name, r)


def test_a_bench_json_file_becomes_a_plot_and_a_table(tmp_path):
    import torch

    from creative_rnn.bench import report

    rows = lambda device: [report.Row("one thing", "tokens/s", "a bare loop", 100.0, 250.0,  # noqa: E731
                                      "at least 2x", True)]
    report.run({"s": rows}, torch.device("cpu"), tmp_path / "r.json", log=lambda *a: None)
    hook = _bench_hook()
    data = hook.load(tmp_path / "r.json")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", data["date"])  # from its "started"
    text = hook.section("r", data)
    assert data["machine"] in text and data["date"] in text
    assert "| one thing | 250 tokens/s | a bare loop | 100 | 2.50x | at least 2x (met) |" in text
    assert "](../images/benchmarks/r.png)" in text
    assert hook.plot(data).startswith(b"\x89PNG")
    (tmp_path / "bad.json").write_text('{"rows": []}')
    with pytest.raises(ValueError, match="not a benchmark results file"):
        hook.load(tmp_path / "bad.json")


def test_docs_command_serves_from_the_checkout(monkeypatch, capsys):
    from creative_rnn.cli import docs, main

    calls = []
    monkeypatch.setattr(docs.subprocess, "call",
                        lambda cmd, cwd: calls.append((cmd, cwd)) or 0)
    assert main(["docs", "--addr", "127.0.0.1:8765"]) == 0
    cmd, cwd = calls[0]
    assert cmd[1:6] == ["-m", "mkdocs", "serve", "--dev-addr", "127.0.0.1:8765"]
    assert cmd[-2:] == ["--config-file", str(ROOT / "mkdocs.yml")] and cwd == ROOT
    assert "serving the docs at http://127.0.0.1:8765/" in capsys.readouterr().err
