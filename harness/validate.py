"""``harness tasks validate``: check spec files without loading data or models.

Checks what can go wrong before a GPU is spent: the schema (unknown or missing
keys), includes, ``!function`` hooks (they must resolve), Jinja syntax of every
field template, task types, readers and metrics (built-in, a plugin's, or
named by dotted path) and the group members. A folder's ``plugins.py`` is
loaded first, as ``--include-path`` does. All problems of
all files are reported together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from harness.noise.spec import REGISTRY as PERTURBATIONS

from .errors import HarnessError, SpecError
from .metrics import METRICS, get_metric
from .plugins import Origin, Registry, load_include_path_plugins
from .readers import READERS
from .spec import TaskConfig, parse_group, parse_task
from .tasktypes import TASK_TYPES, get_task_type
from .templating import ENV
from .yamlio import FunctionRef, read_spec


def plugin_rows() -> list[tuple[str, str, Origin]]:
    """(kind, name, origin) of everything registered from outside the package, for ``tasks validate``."""
    registries: dict[str, Registry[Any]] = {"task type": TASK_TYPES, "reader (data_format)": READERS,
                                            "metric": METRICS, "perturbation": PERTURBATIONS}  # fmt: skip
    return [(kind, name, origin) for kind, registry in registries.items() for name, origin in registry.plugins()]


def imported_files(cfg: TaskConfig) -> list[Path]:
    """The Python files a task imports when it runs (its ``!function`` hooks): task folders are code, so
    ``tasks validate`` and ``tasks show`` say which."""
    return sorted({value.module_path() for value in vars(cfg).values() if isinstance(value, FunctionRef)})


def _check_task(cfg: TaskConfig) -> list[Path]:
    source = cfg.source

    def where(key: str) -> str:
        return source.where(key) if source else cfg.task

    get_task_type(cfg.task_type, where("task_type"))
    for entry in cfg.metric_list:
        get_metric(entry["metric"], where("metric_list"))
    if cfg.data_format is not None:
        READERS.resolve(cfg.data_format, where("data_format"))
    for key, value in vars(cfg).items():
        if isinstance(value, FunctionRef):
            value.resolve()
        elif key.startswith("doc_to_") and isinstance(value, str):
            try:
                ENV.parse(value)
            except jinja2.TemplateSyntaxError as exc:
                raise SpecError(f"{where(key)}: {key} is not valid Jinja ({exc.message}).") from None
    if cfg.languages and cfg.language not in cfg.languages:
        raise SpecError(
            f"{where('language')}: language {cfg.language!r} "
            f"is not in this family's languages ({', '.join(cfg.languages)})."
        )
    return imported_files(cfg)


def validate_file(path: Path) -> list[Path]:
    """Check one file; returns the Python files its task imports."""
    raw = read_spec(path)
    if "group" in raw.data:
        parse_group(raw)
        return []
    if path.suffix == ".yaml":
        return _check_task(parse_task(raw))
    # an include-only common file: must be a valid task once its generated keys are supplied
    languages = raw.data.get("languages") or ["en"]
    data = {"task": "(common)", "language": str(languages[0]), **raw.data}
    return _check_task(parse_task(type(raw)(raw.path, data, raw.origin)))


def validate_paths(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The files checked and the Python files they import; every problem of every file in one ``SpecError``."""
    files: list[Path] = []
    for path in paths:
        files += sorted([*path.glob("**/*.yaml"), *path.glob("**/*_common")]) if path.is_dir() else [path]
    # a folder's plugins.py, as --include-path loads it: the specs may name what it registers
    plugins = load_include_path_plugins(p for p in paths if p.is_dir())
    problems, imported = [], {Path(p) for p in plugins}
    for path in files:
        try:
            imported.update(validate_file(path))
        except HarnessError as exc:
            problems.append(f"- {exc}")
    if problems:
        raise SpecError(f"{len(problems)} of {len(files)} file(s) have problems:\n" + "\n".join(problems))
    return files, sorted(imported)
