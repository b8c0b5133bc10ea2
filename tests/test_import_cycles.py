"""No import cycle among the package's own modules (read from the source with ``ast``, nothing is imported).

A module-level cycle makes the import order matter and the pieces inseparable; it fails here. Imports under
``if TYPE_CHECKING:`` (types only) and inside functions (run later; the command line defers heavy third-party
imports that way) close cycles too, hidden ones: those fail unless listed in ``KNOWN`` with what would break
them. ``python tests/test_import_cycles.py`` prints every cycle of each kind.
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


#: where an import statement is: run on import, only for type checkers, or inside a function
ON_IMPORT, TYPES_ONLY, DEFERRED = "on import", "types only", "deferred"


def _imports(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with where it is."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, where))
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for inner in child.body:
                    visit(ast.Module(body=[inner], type_ignores=[]), TYPES_ONLY if where == ON_IMPORT else where)
                for other in child.orelse:
                    visit(ast.Module(body=[other], type_ignores=[]), where)
                continue
            functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            visit(child, DEFERRED if isinstance(child, functions) else where)

    visit(tree, ON_IMPORT)
    return found


def import_graph(kinds: tuple[str, ...] = (ON_IMPORT,)) -> dict[str, set[str]]:
    """Own module -> the own modules it imports (``from pkg import name`` counts ``pkg.name`` when that is a
    module, else ``pkg``)."""
    modules = own_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node, where in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if where not in kinds:
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


#: hidden cycles left, with what would break them
KNOWN = {
    # Runner.run (plan, run every unit here, finish) uses LocalExecutor, and the executors dispatch pipeline's
    # units: running a plan belongs with the executors (a run_here(runner) there), which moves the callers
    ("harness.executors", "harness.pipeline"): DEFERRED,
    # evaluate_attack takes the Evaluator and Cell it is called from: a protocol of what it uses would cut it
    ("harness.attacking", "harness.cells"): TYPES_ONLY,
}


def test_graph_reads_the_package() -> None:
    graph = import_graph()
    assert "harness.noise.spec" in graph and "harness.adapters.bank" in graph
    assert "harness.noise.perturbation" in graph["harness.noise.chars"]  # from .perturbation import ...
    assert "harness.errors" in graph["harness.noise.perturbation"]  # from ..errors import ...
    assert "harness.adapters.lora" in graph["harness.adapters.bank"]
    assert "harness.cells" not in graph["harness.attacking"]  # under TYPE_CHECKING
    assert "harness.cells" in import_graph((ON_IMPORT, TYPES_ONLY))["harness.attacking"]


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_module_level_import_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles among module-level imports:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_hidden_import_cycle_but_the_known_ones() -> None:
    found = {tuple(c) for c in cycles(import_graph((ON_IMPORT, TYPES_ONLY, DEFERRED)))}
    new = found - set(KNOWN)
    assert not new, "import cycles closed by TYPE_CHECKING or function-level imports:\n" + "\n".join(
        " <-> ".join(c) for c in sorted(new)
    )


if __name__ == "__main__":
    for title, kinds in (("on import", (ON_IMPORT,)), ("with types-only imports", (ON_IMPORT, TYPES_ONLY)),
                         ("with deferred imports too", (ON_IMPORT, TYPES_ONLY, DEFERRED))):  # fmt: skip
        print(f"cycles {title}:")
        for component in cycles(import_graph(kinds)):
            print("  " + " <-> ".join(component))
    sys.exit(0)
