"""No import cycle among the package's own modules (read from the source with ``ast``, nothing is imported).

A module-level cycle makes the import order matter and the pieces inseparable; it fails here. Imports inside
functions are listed by ``python tests/test_import_cycles.py`` with the cycles they close, but not failed on:
the command line defers heavy third-party imports that way, and a function-level import of an own module is
then only a symptom to look at. Imports under ``if TYPE_CHECKING:`` never run, so they are not edges.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: setup.cfg's package_dir: import name -> folder
PACKAGES = {"harness": ROOT / "harness", "harness.noise": ROOT / "noise", "harness.adapters": ROOT / "adapters"}


def own_modules() -> dict[str, Path]:
    """Module name -> file, for every module of the installed packages (task folders' hooks are not modules)."""
    modules: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement that can run, with whether it runs when the module is imported (not in a function)."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, module_level)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, module_level))
            inner = module_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner)

    visit(tree, True)
    return found


def import_graph(module_level_only: bool) -> dict[str, set[str]]:
    """Own module -> the own modules it imports (``from pkg import name`` counts ``pkg.name`` when that is a
    module, else ``pkg``)."""
    modules = own_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, module_level in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if module_level_only and not module_level:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted, in sorted order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def test_graph_reads_the_package() -> None:
    graph = import_graph(module_level_only=True)
    assert "harness.noise.spec" in graph and "harness.adapters.bank" in graph
    assert "harness.noise.perturbation" in graph["harness.noise.chars"]  # from .perturbation import ...
    assert "harness.errors" in graph["harness.noise.perturbation"]  # from ..errors import ...
    assert "harness.adapters.lora" in graph["harness.adapters.bank"]


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_module_level_import_cycle() -> None:
    found = cycles(import_graph(module_level_only=True))
    assert not found, "import cycles among module-level imports:\n" + "\n".join(" <-> ".join(c) for c in found)


if __name__ == "__main__":
    for level, only in (("module-level", True), ("with function-level", False)):
        print(f"{level} cycles:")
        for component in cycles(import_graph(module_level_only=only)):
            print("  " + " <-> ".join(component))
    sys.exit(0)
