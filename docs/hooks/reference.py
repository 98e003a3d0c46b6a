"""MkDocs hook: the reference pages, made from the code at every build so they cannot drift.

    reference/cli.md            the argparse parser of `creative-rnn` (cli/__init__.py)
    reference/config.md         the config dataclasses: default, range (what validate()
                                checks) and meaning (each field's docstring); the presets
    reference/codecs.md         every registered codec: options, defaults, meanings
    reference/run-directory.md  rundir.LAYOUT
    reference/errors.md         every UserError subclass and its docstring
    reference/api.md            mkdocstrings directives (rendered by the mkdocstrings plugin)

Why a hook rather than mkdocs-gen-files: it is one file with no extra dependency, and its
functions return plain Markdown strings, so tests/test_docs.py checks them without a build.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
from unittest import mock

# --- the command line -------------------------------------------------------------------------


def _cell(text: object) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    # a pipe inside a code span is not a column break (and a backslash there would show)
    parts = " ".join(str(text).split()).split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def _flag_rows(p: argparse.ArgumentParser) -> list[str]:
    fmt = p._get_formatter()
    rows = ["| flag | value | default | meaning |", "|---|---|---|---|"]
    for a in p._actions:
        if a.help == argparse.SUPPRESS or isinstance(a, (argparse._HelpAction,
                                                         argparse._SubParsersAction)):
            continue
        name = ", ".join(f"`{s}`" for s in a.option_strings) or f"`{a.metavar or a.dest}`"
        if a.choices is not None:
            value = " | ".join(f"`{c}`" for c in a.choices)
        elif a.nargs == 0:
            value = "(switch)"
        else:
            value = f"`{a.metavar or a.dest.upper()}`"
            if a.nargs in ("*", "+"):
                value += " …"
        if isinstance(a, argparse._AppendAction):
            value += " (repeatable)"
        default = "" if a.default in (None, [], False, argparse.SUPPRESS) or a.required \
            else f"`{a.default}`"
        meaning = fmt._expand_help(a) if a.help else ""
        rows.append(f"| {_cell(name)} | {_cell(value)} | {_cell(default)} | {_cell(meaning)} |")
    return rows


def _commands(p: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of each subcommand, in the order they were added."""
    out = []
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            helps = {c.dest: c.help or "" for c in a._choices_actions}
            out += [(name, helps.get(name, ""), sp) for name, sp in a.choices.items()]
    return out


def cli_page(parser: argparse.ArgumentParser | None = None) -> str:
    if parser is None:
        from creative_rnn.cli import parser as make
        parser = make()[0]
    commands = _commands(parser)
    lines = ["# Command line", "",
             "Generated from the argument parser at build time: `creative-rnn COMMAND --help` "
             "prints the same.", "",
             "Exit codes: 0 done; 2 a user error (a bad flag, value, corpus or run: one line "
             "on stderr naming the thing and the fix, see [Errors](errors.md)); 130 "
             "interrupted (Ctrl-C).", "",
             "| command | what it does |", "|---|---|"]
    lines += [f"| [`{n}`](#{n}) | {_cell(h)} |" for n, h, _ in commands]
    lines += ["", "Options of `creative-rnn` itself:", ""] + _flag_rows(parser)
    for name, help_, sp in commands:
        lines += ["", f"## {name} {{#{name}}}", "", _cell(help_), "", "```text",
                  sp.format_usage().strip(), "```", ""] + _flag_rows(sp)
    return "\n".join(lines) + "\n"


# --- configuration ----------------------------------------------------------------------------


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (a string right after ``name: type``)."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and \
                isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str):
            docs[node.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def _interval(low, high, low_open=False, high_open=False, note="") -> str:
    if high == float("inf"):
        return f"{'>' if low_open else '≥'} {low:g}"
    return f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def config_ranges(cls: type) -> dict[str, str]:
    """The range ``cls().validate()`` checks for each field, read by running it with the
    config module's checkers replaced by recorders (so the page shows what the code checks)."""
    from creative_rnn import config

    seen: dict[str, str] = {}

    def whole(cfg, name, low, high):
        seen[name] = f"{low:,} to {high:,}"

    def real(cfg, name, low, high, low_open=False, high_open=False, note=""):
        seen[name] = _interval(low, high, low_open, high_open)

    def one_of(cfg, name, choices):
        seen[name] = " | ".join(choices)

    with mock.patch.multiple(config, _whole=whole, _real=real, _one_of=one_of):
        cls().validate()
    return seen


def _constants(text: str) -> str:
    """Replace the config module's MAX_*/MIN_* names in a docstring by their values."""
    from creative_rnn import config

    def value(m):
        v = getattr(config, m.group(0), None)
        return m.group(0) if v is None else f"{v:,}" if isinstance(v, int) else f"{v:g}"
    return re.sub(r"\b(?:MAX|MIN)_[A-Z_]+\b", value, text)


def _config_table(cls: type, skip: tuple[str, ...] = ()) -> list[str]:
    import dataclasses

    docs, ranges = field_docs(cls), config_ranges(cls)
    rows = ["| key | type | default | range | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        meaning = _constants(docs.get(f.name, ""))
        rows.append(f"| `{f.name}` | {_cell(f.type)} | `{f.default!r}` | "
                    f"{_cell(ranges.get(f.name, ''))} | {_cell(meaning)} |")
    return rows


def config_page() -> str:
    from creative_rnn import config

    lines = ["# Configuration keys", "",
             "Generated from the config dataclasses (`creative_rnn.config`) at build time. "
             "Precedence, lowest first: these defaults < `--preset` < `--config FILE` (TOML or "
             "JSON, flat or with `[model]`/`[train]` tables) < `--set key=value`. Unknown keys, "
             "wrong types and values outside the range are errors naming the key.", "",
             "## Model keys", ""]
    lines += _config_table(config.ModelConfig)
    lines += ["", "`vocab_size` and `output_size` are filled in from the codec; they are not "
              "keys you set.", "", "## Training keys", ""]
    lines += _config_table(config.TrainConfig)
    lines += ["", "## Task keys (classify, seq2seq)", "",
              _cell(config.TaskOptions.__doc__), ""]
    lines += _config_table(config.TaskOptions)
    presets = config.PRESETS
    keys = list(dict.fromkeys(k for p in presets.values() for k in p))
    lines += ["", "## Presets", "", "What each `--preset` sets; keys it leaves out keep their "
              "defaults.", "", "| key | " + " | ".join(presets) + " |",
              "|---|" + "---|" * len(presets)]
    lines += [f"| `{k}` | " + " | ".join(f"`{p[k]!r}`" if k in p else "" for p in
                                        presets.values()) + " |" for k in keys]
    lines += ["", "## Sampling options", "",
              "`SampleConfig`: the keywords of `Generator.generate` and the flags of "
              "`creative-rnn sample` (`--length`, `--num`, `--temperature`, ...).", ""]
    lines += _config_table(config.SampleConfig)
    return "\n".join(lines) + "\n"


# --- codecs -----------------------------------------------------------------------------------


def option_docs(cls: type) -> dict[str, str]:
    """The ``Args:`` section of a codec's class docstring: option name -> meaning."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    m = re.search(r"^Args:\n((?:[ \t]+.*\n?|\n)*)", doc, re.M)
    out: dict[str, str] = {}
    name = None
    for line in (m.group(1) if m else "").splitlines():
        head = re.match(r"^    (\w+)(?: \([^)]*\))?: (.*)$", line)
        if head:
            name = head.group(1)
            out[name] = head.group(2)
        elif name and line.strip():
            out[name] += " " + line.strip()
    return out


def _summary(cls: type) -> str:
    """The class docstring without its Args section."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    return doc.split("\nArgs:\n")[0].strip()


def codecs_page() -> str:
    from creative_rnn import codecs

    lines = ["# Codecs", "",
             "Generated from the codec registry (`creative_rnn.codecs`) at build time. Choose "
             "one with `--codec NAME`; set its options with `--codec-opt KEY=VALUE` (the value "
             "as JSON), or as keywords in Python: `codecs.get(\"word\", max_vocab=5000)`.", ""]
    for name in codecs.names():
        cls = codecs._REGISTRY[name]
        meanings = option_docs(cls)
        facts = [f"files `{cls.file_suffix}`"]
        if cls.formats:
            facts.append("also writes " + ", ".join(f"`{f}`" for f in cls.formats))
        facts.append("items are whole documents" if cls.documents else "one stream")
        if cls.units != ("token",):
            facts.append("co-writes by " + ", ".join(cls.units))
        lines += ["", f"## {name} {{#{name}}}", "", f"`{cls.__module__}.{cls.__name__}`: "
                  + "; ".join(facts) + ".", "", _summary(cls), "",
                  "| option | default | meaning |", "|---|---|---|"]
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            lines.append(f"| `{p.name}` | `{p.default!r}` | {_cell(meanings.get(p.name, ''))} |")
    return "\n".join(lines) + "\n"


# --- the run directory and the errors ---------------------------------------------------------


def run_directory_page() -> str:
    from creative_rnn import rundir

    lines = ["# The run directory", "",
             "Generated from `creative_rnn.rundir.LAYOUT` at build time. A run directory "
             "(`RUN/`, what `train --out RUN` makes) is everything needed to sample, evaluate "
             "or resume; nothing is pickled. Every file is written atomically (temporary file, "
             "fsync, rename), and every safetensors file carries a SHA-256 of its tensors and "
             "metadata, so a killed run keeps its last good checkpoint and a damaged file is "
             "refused with one line.", "", "| file | what it holds |", "|---|---|"]
    lines += [f"| `{f}` | {_cell(what)} |" for f, what in rundir.LAYOUT.items()]
    return "\n".join(lines) + "\n"


def user_errors() -> list[type]:
    """Every UserError subclass defined anywhere in the package (every module is imported)."""
    import importlib
    import pkgutil

    import creative_rnn
    from creative_rnn.errors import UserError

    for m in pkgutil.walk_packages(creative_rnn.__path__, "creative_rnn."):
        if not m.name.endswith("__main__"):
            importlib.import_module(m.name)

    found, todo = [], [UserError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted(found, key=lambda c: (c.__module__ != "creative_rnn.errors", c.__module__,
                                        c.__name__ != "UserError", c.__name__))


def errors_page() -> str:
    lines = ["# Errors", "",
             "Generated from the `UserError` subclasses at build time. Every error a user can "
             "cause is one of these: the command line prints its message on one line "
             "(`error: ...`, naming the thing and the fix) and exits with code 2; in Python "
             "catch `creative_rnn.UserError`.", "",
             "| error | is a | module | when |", "|---|---|---|---|"]
    for cls in user_errors():
        base = cls.__bases__[0].__name__ if cls.__bases__[0] is not Exception else "Exception"
        lines.append(f"| `{cls.__name__}` | `{base}` | `{cls.__module__}` | "
                     f"{_cell(inspect.getdoc(cls) or '')} |")
    return "\n".join(lines) + "\n"


API_PAGE = """# Python API

Rendered from the docstrings by mkdocstrings at build time.

::: creative_rnn
    options:
      members: false

## Training

::: creative_rnn.train

::: creative_rnn.RunResult

## Reading a run

::: creative_rnn.load

::: creative_rnn.Generator

::: creative_rnn.Responder

::: creative_rnn.Classifier

## Configuration

::: creative_rnn.ModelConfig

::: creative_rnn.TrainConfig

::: creative_rnn.SampleConfig

## Codecs and corpora

::: creative_rnn.codecs

::: creative_rnn.codecs.base.Codec

::: creative_rnn.corpora
"""

PAGES = {
    "reference/cli.md": cli_page,
    "reference/config.md": config_page,
    "reference/codecs.md": codecs_page,
    "reference/run-directory.md": run_directory_page,
    "reference/errors.md": errors_page,
    "reference/api.md": lambda: API_PAGE,
}


def on_files(files, config):
    """Add the generated pages to the build (a hand-written file of the same name is an
    error: the page would silently not be what the code says)."""
    from mkdocs.structure.files import File

    for uri, make in PAGES.items():
        if files.get_file_from_path(uri) is not None:
            raise ValueError(f"docs/{uri} is generated by docs/hooks/reference.py; delete it")
        files.append(File.generated(config, uri, content=make()))
    return files
