"""The package's layers, read from the source (every import statement, function bodies included:
a lazy import is a dependency all the same): the core is numpy only, io builds on the core alone,
and no module imports one that imports it back."""

import ast
from pathlib import Path

import tspwidget as tsp

ROOT = Path(tsp.__file__).parent
MODULES = {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
           for p in ROOT.rglob("*.py")}


def _imports(path):
    """The absolute names ``path`` imports."""
    name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
    here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(x for x in (base, node.module) if x)
            yield from (f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names)


def _in(package):
    return [(path.name, name) for key, path in MODULES.items() if key.startswith(f"tspwidget.{package}")
            for name in _imports(path)]


def test_the_core_imports_nothing_above_it():
    # House rule: core/ is numpy only; it knows no file format, widget or display library.
    above = ("tspwidget.", "ipywidgets", "pythreejs", "IPython", "traitlets", "anywidget", "h5py", "onnx", "torch")
    for where, name in _in("core"):
        assert name.startswith("tspwidget.core") or not name.startswith(above), (where, name)


def test_io_imports_only_the_core():
    # io builds the models it is asked for (``model_class``): it never reaches up to the view.
    above = ("tspwidget.", "ipywidgets", "pythreejs", "IPython", "anywidget")
    for where, name in _in("io"):
        assert name.startswith(("tspwidget.core", "tspwidget.io")) or not name.startswith(above), (where, name)


def _owner(name):
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]
    return name


def test_no_import_circles():
    graph = {key: {_owner(n) for n in _imports(path) if n.startswith("tspwidget")} - {key}
             for key, path in MODULES.items()}
    # A package imports its own modules (``__init__``); a module importing its package back
    # would be a circle like any other.
    done, path = set(), []

    def visit(node):
        if node in path:
            raise AssertionError(f"import circle: {' -> '.join(path[path.index(node):] + [node])}")
        if node in done:
            return
        path.append(node)
        for nxt in sorted(graph[node]):
            visit(nxt)
        path.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)
