"""The shape of `bot/`: no import circle, an engine that cannot reach I/O, and parts small enough to read.

Why a test and not a habit: a circle starts as one function-level import that "just works",
and the next one dodges it too; the eight-module circle between the CLI and the moderators'
tools grew that way. Every import counts here, at module level and inside functions, because
a function-level import is still a dependency; only `if TYPE_CHECKING:` blocks are left out
(they never run). The graph is read from the source with the standard library's `ast`, and
`graphlib` names a circle when there is one.
"""

from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"

#: What the pure engine may never import, directly or through another module of ours: the event
#: loop, the database, and (within the package) the platforms, the core and the store.
NOT_IN_THE_ENGINE = ("asyncio", "aiosqlite", "sqlite3", "psycopg")
NOT_IN_THE_ENGINE_OF_OURS = ("adapters", "core", "store", "store_sqlite", "store_postgres", "store_thread")


def modules_of(package: Path) -> dict[str, Path]:
    """Every module of a package by dotted name (`bot.desk` for bot/desk/__init__.py)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere in the module, but not under `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _type_checking(node):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))
    return found


def imported_names(name: str, path: Path) -> set[str]:
    """Dotted names a module imports (third-party ones too), for the engine's rule."""
    names = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        else:
            names.add(_source(name, path, node))
    return names


def _source(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The module a `from ... import` reads from, with relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package that importing it runs.

    Importing `a.b.c` runs `a.b`'s `__init__` too, so a package counts as imported unless it
    is one the importing module lives in (that one is already being imported). `from a.b
    import c` with `c` a module needs only `c`; a name defined in `a/b/__init__.py` needs `a.b`.
    """
    modules = modules_of(package)

    def with_packages(importer: str, target: str) -> set[str]:
        parts = target.split(".")
        packages = {".".join(parts[:n]) for n in range(1, len(parts))}
        return {target} | {p for p in packages if p in modules and not (importer + ".").startswith(p + ".")}

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        targets |= with_packages(name, alias.name)
                continue
            source = _source(name, path, node)
            if source not in modules:
                continue
            submodules = {f"{source}.{alias.name}" for alias in node.names} & modules.keys()
            for sub in submodules:
                targets |= with_packages(name, sub)
            if len(submodules) < len(node.names) or not (name + ".").startswith(source + "."):
                targets |= with_packages(name, source)
        targets.discard(name)
        graph[name] = targets
    return graph


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as `[a, b, ..., a]`, or None when the modules can be imported in some order."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        found: list[str] = exc.args[1]
        return found[::-1]  # graphlib lists it against the arrows; read it as "a imports b imports ..."
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_no_import_circle_in_bot():
    found = circle(import_graph(BOT))
    assert found is None, "import circle: " + " -> ".join(found or [])


def test_only_the_entry_point_imports_the_cli():
    """The CLI drives the product; a domain module reaching for a CLI helper is how the circle began."""
    graph = import_graph(BOT)
    outside = {name: sorted(t for t in targets if t == "bot.cli" or t.startswith("bot.cli."))
               for name, targets in graph.items()
               if name not in ("bot.cli", "bot.__main__") and not name.startswith("bot.cli.")}
    assert {name: cli for name, cli in outside.items() if cli} == {}


def engine_problems(package: Path) -> list[str]:
    """Each forbidden import the engine modules (`<package>.engine` and below) make or reach."""
    graph = import_graph(package)
    modules = modules_of(package)
    forbidden = NOT_IN_THE_ENGINE + tuple(f"{package.name}.{name}" for name in NOT_IN_THE_ENGINE_OF_OURS)
    engine = [name for name in modules if name == f"{package.name}.engine" or name.startswith(f"{package.name}.engine.")]
    assert engine, f"no {package.name}.engine module found: update this test to where the engine lives"
    problems = []
    for start in sorted(engine):
        for name in sorted({start} | reachable(graph, start)):
            for imported in sorted(imported_names(name, modules[name])):
                if any(imported == bad or imported.startswith(bad + ".") for bad in forbidden):
                    problems.append(f"{start} imports {imported}" + ("" if name == start else f" (through {name})"))
    return problems


def test_the_engine_reaches_no_event_loop_database_or_platform():
    problems = engine_problems(BOT)
    assert not problems, "the engine must stay pure:\n" + "\n".join(problems)


# ---------------------------------------------------------------- the checks themselves


def _package(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_a_circle_through_a_function_level_import_is_found_and_named(tmp_path):
    package = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/cli.py": "from pkg import graph\n",
        "pkg/graph.py": "def cmd():\n    from pkg.cli import helper\n    return helper\n",
        "pkg/leaf.py": "import json\n",
    })
    found = circle(import_graph(package))
    assert found is not None
    assert found[0] == found[-1] and set(found) == {"pkg.cli", "pkg.graph"}
    assert found[found.index("pkg.graph") + 1] == "pkg.cli"  # named in the direction of the imports


def test_a_package_init_that_imports_back_is_a_circle_but_siblings_are_not(tmp_path):
    package = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/desk/__init__.py": "from pkg.desk.safety import Desk\n",
        "pkg/desk/safety.py": "from pkg.desk import hours\nfrom . import cases\nclass Desk: ...\n",
        "pkg/desk/hours.py": "",
        "pkg/desk/cases.py": "",
        "pkg/settings.py": "def check():\n    from pkg.desk.hours import x\n",
        "pkg/core.py": "import pkg.settings\n",
    })
    graph = import_graph(package)
    assert circle(graph) is None  # a module importing its siblings through its own package is fine
    assert "pkg.desk" in graph["pkg.settings"]  # but importing pkg.desk.hours runs pkg/desk/__init__.py
    (package / "desk" / "safety.py").write_text("import pkg.core\nclass Desk: ...\n", encoding="utf-8")
    (package / "core.py").write_text("from pkg import settings\n", encoding="utf-8")
    found = circle(import_graph(package))
    assert found is not None and "pkg.desk" in found and "pkg.settings" in found


def test_type_checking_imports_are_left_out_and_others_are_not(tmp_path):
    package = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "pkg/b.py": "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    from pkg import a\n",
    })
    assert circle(import_graph(package)) is None
    (package / "a.py").write_text("from pkg.b import B\n", encoding="utf-8")
    assert circle(import_graph(package)) is not None


def test_the_engine_rule_sees_asyncio_or_the_store_further_down(tmp_path):
    package = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/engine/__init__.py": "from pkg.engine import turn\n",
        "pkg/engine/turn.py": "from pkg import texts\n",
        "pkg/texts.py": "def later():\n    import asyncio\n",
        "pkg/store.py": "import aiosqlite\n",
    })
    assert engine_problems(package) == ["pkg.engine imports asyncio (through pkg.texts)",
                                        "pkg.engine.turn imports asyncio (through pkg.texts)"]
    (package / "texts.py").write_text("from pkg.store import Store\n", encoding="utf-8")
    assert "pkg.engine.turn imports pkg.store (through pkg.texts)" in engine_problems(package)
    assert "pkg.engine.turn imports aiosqlite (through pkg.store)" in engine_problems(package)


# ---------------------------------------------------------------- size


#: Issue 15's limits: a class one can hold in one's head, few long functions, few tangled ones.
MAX_CLASS_LINES, MAX_LONG_FUNCTIONS, LONG_FUNCTION, MAX_COMPLEX, COMPLEXITY = 300, 3, 60, 5, 12


def _spans(package: Path) -> tuple[list[str], list[str]]:
    """Classes over the limit, and functions over LONG_FUNCTION lines (docstrings included)."""
    classes, functions = [], []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1 if isinstance(node, ast.stmt) else 0
            where = f"{path.relative_to(package.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ClassDef) and lines > MAX_CLASS_LINES:
                classes.append(f"{where} {node.name} ({lines} lines)")
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and lines > LONG_FUNCTION:
                functions.append(f"{where} {node.name} ({lines} lines)")
    return classes, functions


def test_no_class_over_300_lines_and_few_long_functions():
    classes, functions = _spans(BOT)
    assert not classes, "split these classes:\n" + "\n".join(classes)
    assert len(functions) <= MAX_LONG_FUNCTIONS, "too many long functions:\n" + "\n".join(functions)


def test_few_functions_over_complexity_12():
    """ruff's mccabe count (C901), the number issue 15 names."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", str(BOT), "--select", "C901", "--config",
                           f"lint.mccabe.max-complexity={COMPLEXITY}", "--output-format", "json", "--no-cache"],
                          capture_output=True, text=True, check=False)
    found = [f"{f['filename']}:{f['location']['row']} {f['message']}" for f in json.loads(done.stdout or "[]")]
    assert len(found) <= MAX_COMPLEX, "too many tangled functions:\n" + "\n".join(found)
