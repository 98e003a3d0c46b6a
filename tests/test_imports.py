"""The package's import graph, read from its source with ``ast``: no circles among its modules,
and the layers of ARCHITECTURE.md as a tested contract: ``LAYERS`` below is the table (a module
imports only from its own layer or below), ``ONLY`` and ``NEVER`` the rules the order alone does
not catch (core/ imports nothing of the package but errors; codecs never import training,
sampling, web or live; training never imports viz, sampling, novelty or web; models never import
codecs). Every violation is named with its file:line and the rule it breaks.

Every import of the package's own modules counts: at module level and inside functions, methods
and ``try`` blocks, relative (``from ..a import b``) and absolute (``import creative_rnn.a.b``).
``from pkg import name`` is an import of the submodule ``pkg.name`` when that is a module, else of
``pkg`` itself (its ``__init__``). The edges:

* A -> B for each module B that A imports, including A's own ancestor package (``from .. import
  __version__`` needs ``creative_rnn/__init__.py`` to have run that far: a real dependency);
* importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``, so A -> ``a`` and A ->
  ``a.b`` as well, except where that package is an ancestor of A itself: A's ancestors are in
  ``sys.modules`` before A's first line runs, so that part of the import executes nothing (were
  it an edge, every module under a package that its ``__init__`` imports would be in a circle).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "creative_rnn"

# module -> imported module -> where ("path:line") the imports are
Graph = dict[str, dict[str, list[str]]]


def find_modules(src: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__), for every .py under src/package."""
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return modules


def _absolute(name: str, is_pkg: bool, level: int, module: str | None, where: str) -> str:
    """The absolute module named by ``from <level dots><module> import ...`` in module ``name``."""
    if level == 0:
        return module or ""
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    if level - 1 >= len(base):
        raise AssertionError(f"{where}: relative import beyond the top-level package")
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _nearest(target: str, modules: dict) -> str | None:
    """The module itself, or (for an attribute such as ``pkg.mod.func``) the module holding it."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(node: ast.AST, name: str, is_pkg: bool, modules: dict, package: str,
              where: str) -> Iterable[str]:
    """The package's modules one import statement names (before implied parent packages)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == package or alias.name.startswith(package + "."):
                yield alias.name
    elif isinstance(node, ast.ImportFrom):
        mod = _absolute(name, is_pkg, node.level, node.module, where)
        if mod != package and not mod.startswith(package + "."):
            return
        for alias in node.names:
            sub = f"{mod}.{alias.name}"
            yield sub if alias.name != "*" and sub in modules else mod


def import_graph(src: Path = SRC, package: str = PACKAGE) -> Graph:
    """Every module of ``package`` under ``src`` -> the package's modules it imports."""
    modules = find_modules(src, package)
    graph: Graph = {m: {} for m in modules}
    for name, (path, is_pkg) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = set(_ancestors(name))
        for node in ast.walk(tree):  # every statement, however deeply nested
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            where = f"{path.relative_to(src)}:{node.lineno}"
            for target in _imported(node, name, is_pkg, modules, package, where):
                found = _nearest(target, modules)
                if found is None:
                    continue
                implied = [p for p in _ancestors(found) if p not in own]
                for dest in [found, *implied]:
                    if dest != name:
                        graph[name].setdefault(dest, []).append(where)
    return graph


@functools.cache
def package_graph() -> Graph:
    """The real package's graph, read once for the tests that share it (never changed)."""
    return import_graph()


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative, so no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(graph[root])))]
        while work:
            v, edges = work[-1]
            w = next(edges, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                components.append(sorted(component))
    return components


def circles(graph: Graph) -> list[list[str]]:
    """The components that are circles: more than one module, or a module importing itself."""
    return sorted(c for c in strongly_connected(graph) if len(c) > 1 or c[0] in graph[c[0]])


def describe(found: list[list[str]], graph: Graph) -> str:
    lines = []
    for circle in found:
        lines.append(f"circle of {len(circle)}: " + ", ".join(circle))
        members = set(circle)
        for a in circle:
            for b in sorted(set(graph[a]) & members):
                lines.append(f"    {a} -> {b}   ({', '.join(graph[a][b])})")
    return "\n".join(lines)


def test_no_import_circles_in_the_package():
    graph = package_graph()
    found = circles(graph)
    assert not found, "import circles:\n" + describe(found, graph)


def test_the_graph_is_the_real_package():
    graph = package_graph()
    assert len(graph) > 40, sorted(graph)
    assert f"{PACKAGE}.core.files" in graph and f"{PACKAGE}.training.loop" in graph
    assert f"{PACKAGE}.rundir" in graph[f"{PACKAGE}.training.loop"]  # from .. import rundir
    assert sum(len(t) for t in graph.values()) > 100


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_circles_in_a_fake_package_are_found(tmp_path):
    src = _write(tmp_path / "src", {
        "fake/__init__.py": "from .sub import deep\nVERSION = 1\n",
        "fake/errors.py": "",
        # a -> b at module level, b -> a inside a method: one circle
        "fake/a.py": "from . import b\n",
        "fake/b.py": "class C:\n    def m(self):\n        from .a import thing\n",
        # a module under a package that __init__ imports, reaching back for a name of __init__
        "fake/sub/__init__.py": "",
        "fake/sub/deep.py": "from .. import VERSION\nfrom ..errors import E\n",
        # absolute imports; the implied parent package fake.sub is an edge, fake (own) is not
        "fake/c.py": "import fake.sub.deep\nfrom fake.errors import E\n",
        "fake/d.py": "def f():\n    import fake.c\n",
    })
    graph = import_graph(src, "fake")
    assert set(graph["fake.a"]) == {"fake.b"}
    assert set(graph["fake.b"]) == {"fake.a"}
    assert set(graph["fake.c"]) == {"fake.sub.deep", "fake.sub", "fake.errors"}
    assert set(graph["fake.d"]) == {"fake.c"}
    assert set(graph["fake.sub.deep"]) == {"fake", "fake.errors"}
    found = circles(graph)
    assert found == [["fake", "fake.sub.deep"], ["fake.a", "fake.b"]], describe(found, graph)
    message = describe(found, graph)
    assert "fake.b -> fake.a   (fake/b.py:3)" in message
    assert "fake.sub.deep -> fake   (fake/sub/deep.py:1)" in message

    # without the two back edges the same package has no circle
    _write(src, {"fake/b.py": "", "fake/sub/deep.py": "from ..errors import E\n"})
    assert circles(import_graph(src, "fake")) == []


# --- the layers -------------------------------------------------------------------------------

# ARCHITECTURE.md's "## Layers", bottom to top: a module imports only from its own layer or below.
# Entries are paths under src/creative_rnn/ as ARCHITECTURE.md writes them (a folder ends in
# "/"); the longest entry that holds a module gives its layer, so starters/build.py (the
# maintainers' packer, imported by nothing) sits at the top while starters/ is at the bottom.
# __init__.py is the package root: the public facade, imported only by cli/ (for __version__).
LAYERS: dict[int, tuple[str, ...]] = {
    7: ("cli/", "__main__.py", "__init__.py", "starters/build.py"),
    6: ("reference/", "viz/", "live.py", "midi_live/", "web/", "bench/", "demo.py", "library/",
        "report/"),
    5: ("training/",),
    4: ("engine/", "sampling/"),
    3: ("rundir.py", "novelty/"),
    2: ("corpora/", "data/"),
    1: ("codecs/", "models/"),
    0: ("errors.py", "config.py", "config_layers.py", "core/", "starters/"),
}
# What these import of the package, besides their own modules: nothing else
ONLY: dict[str, tuple[str, ...]] = {
    "core/": ("errors.py",),
    "config.py": ("errors.py",),
    "config_layers.py": ("config.py", "errors.py"),
    "engine/": ("core/", "errors.py"),  # a model's weights by duck typing, not models/
}
# What these never import, wherever it sits in the order (a domain is only a codec; the loop
# knows nothing of how runs are read, measured, drawn or served; a network knows no domain)
NEVER: dict[str, tuple[str, ...]] = {
    "codecs/": ("training/", "sampling/", "web/", "live.py", "midi_live/"),
    "training/": ("viz/", "sampling/", "novelty/", "web/"),
    "models/": ("codecs/",),
}


def _entry_module(entry: str, package: str) -> str:
    """``"codecs/"`` -> ``"creative_rnn.codecs"``; ``"__init__.py"`` -> ``"creative_rnn"``."""
    parts = [p for p in entry.removesuffix(".py").split("/") if p and p != "__init__"]
    return ".".join([package, *parts])


def _holds(entry: str, module: str, package: str) -> bool:
    name = _entry_module(entry, package)
    if name == package:  # the root entry is the root module alone, not everything under it
        return module == package
    return module == name or module.startswith(name + ".")


def layer_of(module: str, layers: dict[int, tuple[str, ...]], package: str) -> int | None:
    """The layer of the longest entry holding ``module``; None when no entry does."""
    found = [(len(_entry_module(e, package)), layer) for layer, entries in layers.items()
             for e in entries if _holds(e, module, package)]
    return max(found)[1] if found else None


def violations(graph: Graph, layers: dict[int, tuple[str, ...]], only: dict[str, tuple],
               never: dict[str, tuple], package: str) -> list[str]:
    """Every import that breaks the table or a rule: ``file:line: A imports B: the rule``."""
    bad = []
    for a, targets in sorted(graph.items()):
        la = layer_of(a, layers, package)
        if la is None:
            bad.append(f"{a}: in no layer; add it to LAYERS here and to ARCHITECTURE.md")
            continue
        for b, wheres in sorted(targets.items()):
            lb = layer_of(b, layers, package)
            rules = []
            if lb is not None and lb > la:
                rules.append(f"layer {la} imports layer {lb}: a module imports only from its "
                             "own layer or below")
            for src, allowed in only.items():
                if _holds(src, a, package) and not _holds(src, b, package) and not any(
                        _holds(e, b, package) for e in allowed):
                    rules.append(f"{src} imports nothing of the package but "
                                 f"{', '.join(allowed)}")
            for src, banned in never.items():
                hit = [e for e in banned if _holds(e, b, package)]
                if _holds(src, a, package) and hit:
                    rules.append(f"{src} never imports {hit[0]}")
            # one line per statement (``from x import a, b`` names x once per alias)
            bad += [f"{where}: {a} imports {b}: {rule}" for where in dict.fromkeys(wheres)
                    for rule in rules]
    return bad


def test_the_package_keeps_to_its_layers():
    found = violations(package_graph(), LAYERS, ONLY, NEVER, PACKAGE)
    assert not found, "imports against the layers (ARCHITECTURE.md):\n" + "\n".join(found)


def test_architecture_md_shows_the_tested_table():
    """ARCHITECTURE.md's layer block lists what LAYERS holds (its parenthesised notes aside)."""
    text = (SRC.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split("## Layers", 1)[1].split("```", 2)[1]
    shown = {}
    for line in block.splitlines():
        m = re.match(r"\s*(\d+)\s+(.*)", re.sub(r"\([^)]*\)", "", line))
        if m:
            shown[int(m[1])] = set(m[2].split())
    assert shown == {k: set(v) for k, v in LAYERS.items()}


def test_layer_violations_in_a_fake_package_are_named(tmp_path):
    src = _write(tmp_path / "src", {
        "fake/__init__.py": "",
        "fake/errors.py": "",
        "fake/core/__init__.py": "",
        "fake/core/files.py": "from ..errors import E\n\ndef f():\n    from ..low import x\n",
        "fake/low/__init__.py": "",
        "fake/low/tool.py": "from ..high import y\n",  # upward, but at the top by the table
        "fake/low/a.py": "from . import b\n",
        "fake/low/b.py": "",
        "fake/mid.py": "import fake.high.deep\n",  # upward
        "fake/high/__init__.py": "",
        "fake/high/deep.py": "from ..low import a\n",
        "fake/stray.py": "",
    })
    layers = {0: ("errors.py", "core/", "low/"), 1: ("mid.py",),
              2: ("high/", "__init__.py", "low/tool.py")}
    found = violations(import_graph(src, "fake"), layers, {"core/": ("errors.py",)},
                       {"low/": ("low/b.py",)}, "fake")
    assert found == [
        "fake/core/files.py:4: fake.core.files imports fake.low: core/ imports nothing of the "
        "package but errors.py",
        "fake/low/a.py:1: fake.low.a imports fake.low.b: low/ never imports low/b.py",
        "fake/mid.py:1: fake.mid imports fake.high: layer 1 imports layer 2: a module imports "
        "only from its own layer or below",
        "fake/mid.py:1: fake.mid imports fake.high.deep: layer 1 imports layer 2: a module "
        "imports only from its own layer or below",
        "fake.stray: in no layer; add it to LAYERS here and to ARCHITECTURE.md",
    ], found
    assert layer_of("fake.low.tool", layers, "fake") == 2
    assert layer_of("fake", layers, "fake") == 2 and layer_of("fake.low", layers, "fake") == 0
