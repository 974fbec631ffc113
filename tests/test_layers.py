"""The package's layout holds: imports run one way, and no module grows past what one reader keeps in mind.

The import graph is read from the sources (every import: at the top, inside a function, under
TYPE_CHECKING), so that a cycle is caught however it was written (docs/development.md, "Layout").
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from testkit.cortex import ONCE_JOB_PYTHONS, OTHER_JOB_PYTHONS, REPO

ROOT = REPO / "PhishFeedback"
LONGEST = 250
COLUMN = 41  # where the layout drawing of docs/development.md says what each line holds


def modules() -> dict[str, object]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in known and t != name and not name.startswith(f"{t}."))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_two_modules_import_each_other_directly_or_through_others():
    assert cycles(import_graph()) == []


def test_the_check_finds_a_cycle_through_a_third_module():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_of_the_package_passes_the_length_one_reader_keeps_in_mind():
    long = {
        str(path.relative_to(REPO)): lines
        for path in (ROOT / "feedback").rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > LONGEST
    }
    assert long == {}


def drawn_layers() -> list[set[str]]:
    """The layers docs/development.md draws, top first: `a.b/c` names a.b and a.c, `x.*` the modules of x not named
    on another line, `<party>.settings` each sub-package's settings; a line led by two spaces goes on with the one
    above, and the text after the first column says what the modules hold."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    drawing = text.split("## Layout", 1)[1].split("```\n", 2)[1]
    known = set(modules())
    layers, wildcards = [], []
    for line in drawing.splitlines():
        column = line[:COLUMN].split()
        assert line[COLUMN - 1 : COLUMN] in ("", " "), f"a module's name runs into the description: {line}"
        if not column:
            continue
        if not line.startswith("  "):
            layers.append(set())
        for word in column:
            first, *more = word.removesuffix(".py").split("/")
            package = first.rsplit(".", 1)[0] if "." in first else ""
            for name in [first, *(f"{package}.{rest}" for rest in more)]:
                if name.endswith(".*"):
                    wildcards.append((name[:-2], layers[-1]))
                elif name == "<party>.settings":
                    layers[-1].update(n for n in known if n.endswith(".settings") and n.count(".") == 2)
                else:
                    name = name if name == "phish_feedback" else f"feedback.{name}"
                    assert not any(name in layer for layer in layers), f"{name} is drawn twice"
                    layers[-1].add(name)
    named = set().union(*layers)
    for package, layer in wildcards:
        layer.update(n for n in known if n.startswith(f"feedback.{package}.") and n not in named)
    return layers


def test_the_layout_drawn_in_the_development_guide_names_every_module_and_holds():
    layers = drawn_layers()
    line_of = {name: index for index, layer in enumerate(layers) for name in layer}
    package = {name for name in modules() if name.startswith("feedback") and name != "feedback"}
    packages = {name.rsplit(".", 1)[0] for name in package if name.count(".") == 2}
    assert sorted(package - packages - set(line_of)) == []
    assert sorted(set(line_of) - package - {"phish_feedback"}) == []
    upward = sorted(
        f"{name} → {target}"
        for name, targets in import_graph().items()
        for target in targets
        if name in line_of and target in line_of and line_of[target] < line_of[name]
    )
    assert upward == []


def test_every_module_loads_on_each_python_that_runs_the_jobs():
    """Each module, the script compiled, on the tests' Python and on every Python CI runs the jobs with: also on one
    that runs a few tests alone (tests/conftest.py's `once_on_some_pythons`), where a module no test there reaches
    could ask for what that Python lacks."""
    names = sorted(name for name in modules() if name != "phish_feedback")
    load = "import importlib, sys; compile(open('phish_feedback.py').read(), 'phish_feedback.py', 'exec')\n"
    load += "for name in sys.argv[1:]: importlib.import_module(name)"
    for folder in [Path(sys.executable).parent, *OTHER_JOB_PYTHONS, *ONCE_JOB_PYTHONS]:
        loaded = subprocess.run(
            [str(Path(folder, "python3")), "-c", load, *names], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert loaded.returncode == 0, f"{folder}: {loaded.stderr}"
