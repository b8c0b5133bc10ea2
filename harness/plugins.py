"""Extending the harness without forking it: one registry mechanism, and the loading of user code.

Task types, local-file readers, metrics and noise perturbations are each a
``Registry`` of names. A user adds one by registering it in their own module
(``@register_task_type``, ``@register_reader("name")``, ``@register_metric("name")``,
``@harness.noise.register``) and loading that module with ``--plugin MODULE``
(an importable module or a ``.py`` file; repeatable) or by putting it in a
``plugins.py`` beside their task YAMLs (``--include-path DIR`` loads it). A task
YAML may also name a task type, reader or metric that is not registered at all,
by a dotted path (``task_type: mypkg.tasktypes.MyType``) or a task-local
``!function module.Name``, as lm-eval's ``class: !function`` and HELM's
``ObjectSpec`` do.

A name is registered once: a second registration under the same name is an
error naming both places (as peft refuses a duplicate tuner), because a plugin
silently replacing a built-in metric would change numbers without a trace. The
same code imported twice (a file loaded by ``--plugin`` and again as a hook
module) is the same registration, not a clash.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from .errors import HarnessError, SpecError
from .yamlio import FunctionRef

T = TypeVar("T")

#: the package's own import root: what is registered from elsewhere is a plugin
BUILTIN_ROOT = "harness"
#: the file of an ``--include-path`` folder that is imported as a plugin
INCLUDE_PLUGIN = "plugins.py"


class PluginError(HarnessError):
    """A plugin that cannot be loaded, or that registers a name already taken."""


@dataclass(frozen=True)
class Origin:
    """Where a registered object was defined: shown by ``noise ls`` and ``tasks validate``, named in clashes."""

    module: str
    qualname: str
    file: str

    @classmethod
    def of(cls, obj: Any) -> Origin:
        module = getattr(obj, "__module__", None) or "?"
        qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
        file = getattr(sys.modules.get(module), "__file__", None) or "?"
        return cls(module, qualname, str(Path(file).resolve()) if file != "?" else file)

    @property
    def builtin(self) -> bool:
        return self.module == BUILTIN_ROOT or self.module.startswith(BUILTIN_ROOT + ".")

    def same_code(self, other: Origin) -> bool:
        """The same definition, even when its file was imported under two module names."""
        return (self.file, self.qualname) == (other.file, other.qualname)

    def __str__(self) -> str:
        return f"{self.qualname} in {self.file}"


class Registry(Generic[T]):
    """Names → objects of one kind (task types, readers, metrics, perturbations).

    ``error`` is the error an unknown name raises (a ``SpecError`` for what a
    task YAML names, a ``NoiseError`` for ``--noise``); ``convert`` turns an
    object found by dotted path or ``!function`` into the registry's kind (a
    task-type class into its instance, a function into a ``Metric``).
    """

    def __init__(
        self,
        kind: str,
        error: type[HarnessError] = SpecError,
        convert: Callable[[Any], T] | None = None,
        listing: str = "",
        by_path: bool = True,
    ) -> None:
        self.kind = kind
        self.error = error
        self.convert = convert
        self.listing = listing  # where the user sees them all, e.g. "`harness noise ls`"
        self.by_path = by_path  # whether a dotted path may name one (not in --noise, whose syntax has no dots)
        self._entries: dict[str, tuple[T, Origin]] = {}
        self._by_path: dict[Any, T] = {}

    def add(self, name: str, obj: T, defined_by: Any = None) -> T:
        """Register ``obj`` as ``name``; ``defined_by``: the class or function it comes from (default: ``obj``)."""
        origin = Origin.of(obj if defined_by is None else defined_by)
        if name in self._entries:
            first = self._entries[name][1]
            if first.same_code(origin):
                return self._entries[name][0]
            raise PluginError(
                f"The {self.kind} name {name!r} is registered twice: by {first} and by {origin}. Names are global "
                f"(a plugin cannot replace a built-in {self.kind}); rename one of them."
            )
        self._entries[name] = (obj, origin)
        return obj

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def origin(self, name: str) -> Origin:
        return self._entries[name][1]

    def plugins(self) -> list[tuple[str, Origin]]:
        """The names registered from outside the package, with where they come from."""
        return [(name, origin) for name, (_, origin) in sorted(self._entries.items()) if not origin.builtin]

    def get(self, name: str, where: str = "") -> T:
        """The object registered as ``name``; the error says where it was asked for and what exists."""
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            known = f"Known: {', '.join(sorted(self._entries))}" + (f" ({self.listing})" if self.listing else "")
            path = ", or give its dotted path (mypkg.module.Name)" if self.by_path else ""
            raise self.error(
                f"{_at(where)}Unknown {self.kind} {name!r}.{hint} {known}. For your own: register "
                f"it in a module loaded with --plugin MODULE (or a plugins.py beside your task YAMLs){path}."
            )
        return self._entries[name][0]

    def resolve(self, value: Any, where: str) -> T:
        """What a YAML key names: a registered name, a dotted path ``pkg.module.Name`` or a ``!function`` hook.

        ``where``: the file and key, for the error. Objects found by path are converted once and kept, so one
        class is one task type however many tasks name it.
        """
        if isinstance(value, FunctionRef):
            key: Any = (value.base_dir, value.target)
            if key not in self._by_path:
                self._by_path[key] = self._converted(value.resolve(), where)
            return self._by_path[key]
        if not isinstance(value, str):
            raise SpecError(
                f"{_at(where)}a {self.kind} is a name, a dotted path or !function module.Name; got {value!r}."
            )
        if value in self._entries or not is_dotted(value):
            return self.get(value, where)
        if value not in self._by_path:
            self._by_path[value] = self._converted(import_dotted(value, where, self.kind), where)
        return self._by_path[value]

    def _converted(self, obj: Any, where: str) -> T:
        for name, (registered, origin) in self._entries.items():  # a registered object named by its path
            if registered is obj or (origin.same_code(Origin.of(obj)) and getattr(obj, "name", name) == name):
                return registered
        try:
            return self.convert(obj) if self.convert else obj
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{_at(where)}{obj!r} is not a {self.kind}: {exc}") from None


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def is_dotted(value: str) -> bool:
    """``pkg.module.Name``: Python names joined by dots, at least one dot."""
    parts = value.split(".")
    return len(parts) > 1 and all(p.isidentifier() for p in parts)


def import_dotted(path: str, where: str, kind: str) -> Any:
    """The object at ``pkg.module.Name`` (HELM's ``ObjectSpec`` class names): import the module, get the name."""
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise SpecError(
            f"{_at(where)}{kind} {path!r}: cannot import module {module_name!r} ({exc}). A dotted path names an "
            f"importable module (installed, or on PYTHONPATH) and a name in it; for a file beside the YAML write "
            f"!function file.Name instead."
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise SpecError(
            f"{_at(where)}{kind} {path!r}: module {module_name!r} ({module.__file__}) has no {attr!r}."
        ) from None


_LOADED_FILES: set[str] = set()  # plugin files loaded (modules are remembered by Python's import system)


def load_plugin(spec: str) -> str:
    """Import one ``--plugin``: a ``.py`` file (loaded once per resolved path) or an importable module.

    Returns the canonical spec (a file's absolute path), which is what a run records and its workers load.
    """
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise PluginError(f"--plugin {spec}: no such file. Give a .py file or an importable module name.")
        resolved = str(path.resolve())
        if resolved not in _LOADED_FILES:
            digest = hashlib.sha256(resolved.encode()).hexdigest()[:10]
            name = f"harness_plugins.{path.stem}_{digest}"
            module_spec = importlib.util.spec_from_file_location(name, resolved)
            assert module_spec and module_spec.loader
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            _LOADED_FILES.add(resolved)
        return resolved
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name):
            raise PluginError(
                f"--plugin {spec}: no module {exc.name!r} can be imported. Give a path to a .py file "
                f"(./{spec.replace('.', '/')}.py), install the package, or add its folder to PYTHONPATH."
            ) from None
        raise
    return spec


def load_plugins(specs: Iterable[str]) -> list[str]:
    return [load_plugin(str(spec)) for spec in specs]


def load_include_path_plugins(roots: Iterable[Path]) -> list[str]:
    """The ``plugins.py`` of each ``--include-path`` folder: trusted code, like the task hooks beside it."""
    return [load_plugin(str(root / INCLUDE_PLUGIN)) for root in roots if (Path(root) / INCLUDE_PLUGIN).is_file()]


def plugin_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--plugin MODULE|FILE.py`` (repeatable), loaded as soon as click reads it: before any other option is
    checked, so a plugin's perturbation is known to ``--noise``."""
    import click

    return click.option(
        "--plugin",
        "plugins",
        multiple=True,
        metavar="MODULE|FILE.py",
        is_eager=True,
        callback=lambda _ctx, _param, value: load_plugins(value),
        help="Your own task types, readers, metrics or perturbations: a module or .py file that registers them "
        "(repeatable; trusted code). See README, 'Writing a plugin'.",
    )(fn)
