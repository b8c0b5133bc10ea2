"""Reading task YAML: ``include:`` inheritance, ``!function`` hooks, key provenance.

Kept apart from the schema (``spec.py``) so the registry can index hundreds of
files cheaply: loading never imports task code, because ``!function`` becomes a
``FunctionRef`` that is resolved only when a task actually runs.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import SpecError

if TYPE_CHECKING:  # one interface; libyaml's loader is used where it is installed (the stubs always declare it)
    _BaseLoader = yaml.CSafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FunctionRef:
    """A ``!function module.attr`` hook, resolved against the YAML file's folder."""

    base_dir: Path
    target: str

    def __str__(self) -> str:
        return f"!function {self.target}"

    def module_path(self) -> Path:
        """The ``.py`` file this hook imports: always inside the task folder (``base_dir``).

        ``module.function`` names a file below the folder of the YAML that
        declares it; leading dots, empty parts, path separators and symbolic links
        that lead out of the folder are refused, because a task folder is code the
        user chose to trust, and nothing outside it is.
        """
        module_name, _, attr = self.target.rpartition(".")
        parts = module_name.split(".")
        if not module_name or not attr.isidentifier() or not all(p.isidentifier() for p in parts):
            raise SpecError(
                f"!function {self.target!r} in {self.base_dir}: write it as module.function (Python names joined by "
                f"dots, no leading dots), e.g. utils.process_docs: hooks live in a .py file in the task's folder."
            )
        path = self.base_dir.joinpath(*parts[:-1], f"{parts[-1]}.py")
        if path.exists() and not path.resolve().is_relative_to(self.base_dir.resolve()):
            raise SpecError(
                f"!function {self.target} in {self.base_dir}: {path} leads to {path.resolve()}, outside the task "
                f"folder; hooks must live inside it."
            )
        return path

    def resolve(self) -> Callable[..., Any]:
        module_name, _, attr = self.target.rpartition(".")
        module = _load_task_module(self.module_path(), module_name)
        try:
            return getattr(module, attr)
        except AttributeError:
            raise SpecError(f"!function {self.target}: {module.__file__} has no function {attr!r}.") from None

    def source(self) -> str:
        """The function's source text, written into result files and fingerprints."""
        try:
            return inspect.getsource(self.resolve())
        except (OSError, TypeError):
            return self.target


_MODULE_CACHE: dict[tuple[Path, float], Any] = {}


def _load_task_module(path: Path, name: str) -> Any:
    if not path.is_file():
        raise SpecError(f"!function {name}.…: no file {path}. Task-local hooks live in a .py file next to the YAML.")
    key = (path.resolve(), path.stat().st_mtime)
    if key not in _MODULE_CACHE:
        unique = f"harness_task_hooks.{abs(hash(key[0]))}.{name}"
        spec = importlib.util.spec_from_file_location(unique, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        _MODULE_CACHE[key] = module
    return _MODULE_CACHE[key]


@dataclass
class RawSpec:
    """A YAML file after ``include`` resolution: merged keys plus where each came from."""

    path: Path
    data: dict[str, Any]
    origin: dict[str, tuple[Path, int]]  # key -> (file, 1-based line)

    def where(self, key: str) -> str:
        path, line = self.origin.get(key, (self.path, 0))
        return f"{path}, line {line}" if line else str(path)


def _loader_for(path: Path) -> type[_BaseLoader]:
    base_dir = path.parent

    class Loader(_BaseLoader):
        pass

    def function_constructor(loader: Any, node: yaml.Node) -> FunctionRef:
        return FunctionRef(base_dir, loader.construct_scalar(node))

    Loader.add_constructor("!function", function_constructor)
    return Loader


def _read_one(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise SpecError(f"Task file {path} does not exist.") from None
    data, lines = _read_cached(path, stamp)
    return copy.deepcopy(data), lines


@cache
def _read_cached(path: Path, stamp: int) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse once per file version: shared include files are read by dozens of tasks."""
    text = path.read_text(encoding="utf-8")
    loader = _loader_for(path)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a task file must be a YAML mapping of keys to values, got {type(data).__name__}.")
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value} if node is not None else {}
    return data, lines


def read_spec(path: Path, _chain: tuple[Path, ...] = ()) -> RawSpec:
    """Read ``path`` and everything it includes; the file's own keys win over included ones."""
    path = path.resolve()
    if path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, path))
        raise SpecError(f"Include cycle: {cycle}. Remove one of these include: lines.")
    data, lines = _read_one(path)
    merged: dict[str, Any] = {}
    origin: dict[str, tuple[Path, int]] = {}
    includes = data.pop("include", None)
    if includes is not None:
        for inc in [includes] if isinstance(includes, str) else list(includes):
            if not isinstance(inc, str):
                raise SpecError(
                    f"{path}, line {lines.get('include', 0)}: include: takes a file name or a list of them."
                )
            inc_path = Path(inc) if Path(inc).is_absolute() else path.parent / inc
            if not inc_path.exists():
                raise SpecError(f"{path}, line {lines.get('include', 0)}: included file {inc_path} does not exist.")
            sub = read_spec(inc_path, (*_chain, path))
            merged.update(sub.data)
            origin.update(sub.origin)
    merged.update(data)
    origin.update({k: (path, lines.get(k, 0)) for k in data})
    return RawSpec(path, merged, origin)
