"""The layer contract of docs/ARCHITECTURE.md, checked on the code as it is:

- the import-linter contracts of ``.importlinter`` (layers; web, API and health blueprints
  independent; service areas acyclic among themselves);
- no import cycle between any two modules of ``app`` (function-level imports included);
- nothing imports ``app/__init__`` (the composition root);
- no function-level import outside the app factory (an import inside a function that breaks no
  cycle only hides a dependency);
- no module of ``app`` over 400 lines; every service package says what it owns.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
MAX_LINES = 400
# The only place allowed to import inside a function: the factory imports every layer when an app
# is built, so that importing any app.* module does not load all of them.
FUNCTION_IMPORTS_ALLOWED = {("app/__init__.py", "create_app")}


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("app", include_external_packages=False, cache_dir=None)


def test_import_linter_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles(graph):
    assert _cycles(graph) == []


def test_cycle_detection_finds_a_cycle():
    """The detector itself: a graph with a two-module cycle is reported."""
    g = grimp.ImportGraph()
    for m in ("p", "p.a", "p.b", "p.c"):
        g.add_module(m)
    g.add_import(importer="p.a", imported="p.b")
    g.add_import(importer="p.b", imported="p.a")
    g.add_import(importer="p.c", imported="p.a")
    assert _cycles(g) == [["p.a", "p.b"]]


def test_nothing_imports_the_app_factory_package(graph):
    assert graph.find_modules_that_directly_import("app") == set()


def _function_level_imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    found = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append((fn.name, node.lineno))
    return found


def test_no_function_level_imports():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for function, line in _function_level_imports(path):
            if (rel, function) not in FUNCTION_IMPORTS_ALLOWED:
                offenders.append(f"{rel}:{line} in {function}()")
    assert offenders == []


def test_no_module_over_400_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in APP.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_service_package_says_what_it_owns():
    missing = []
    for init in sorted((APP / "services").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        if not doc or len(doc) < 20:
            missing.append(init.parent.name)
    assert missing == []
