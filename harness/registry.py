"""The task index: every ``*.yaml`` under ``tasks/`` and the user's ``--include-path`` folders.

Indexing reads YAML only (``!function`` hooks stay unresolved), so listing
hundreds of per-language tasks imports no task code; the one exception is a
user folder's ``plugins.py`` (``harness.plugins``), imported so that the names
it registers are known to the specs and ``--noise`` options that use them. Files meant only to be
included have no ``.yaml`` ending and are never indexed. A user folder may
override a built-in name; two files with one name inside one folder are an
error, since which one wins would be an accident of file order.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .errors import SpecError, TaskNotFound
from .plugins import load_include_path_plugins
from .spec import GroupConfig, TaskConfig, parse_group, parse_task
from .yamlio import RawSpec, read_spec


def builtin_tasks_dir() -> Path:
    """The installed ``harness.tasks`` folder (the repo's ``tasks/`` in editable installs)."""
    import harness.tasks

    return Path(harness.tasks.__file__).resolve().parent


@dataclass
class Entry:
    name: str
    kind: Literal["task", "group", "tag"]
    path: Path | None
    raw: RawSpec | None = None
    members: list[str] = field(default_factory=list)  # for tags


class TaskIndex:
    """Names → specs for tasks, groups and tags, built from folders of YAML files."""

    def __init__(self, include_paths: Iterable[str | Path] = (), include_builtin: bool = True) -> None:
        roots = ([builtin_tasks_dir()] if include_builtin else []) + [Path(p) for p in include_paths]
        self.entries: dict[str, Entry] = {}
        for root in roots:
            if not root.is_dir():
                raise SpecError(f"--include-path {root} is not a folder of task YAML files.")
            self._index_root(root)
        self.plugins = load_include_path_plugins(roots[include_builtin:])
        self._task_cache: dict[str, TaskConfig] = {}

    def _index_root(self, root: Path) -> None:
        seen: dict[str, Path] = {}
        for path in sorted(root.glob("**/*.yaml")):
            if "__pycache__" in path.parts:
                continue
            raw = read_spec(path)
            kind: Literal["task", "group"]
            if "group" in raw.data:
                name, kind = str(raw.data["group"]), "group"
            elif "task" in raw.data:
                name, kind = str(raw.data["task"]), "task"
            else:
                raise SpecError(f"{path}: a task file needs a 'task:' name and a group file a 'group:' name.")
            if name in seen:
                raise SpecError(f"Task name {name!r} is defined twice in {root}: {seen[name]} and {path}. Rename one.")
            seen[name] = path
            self.entries[name] = Entry(name, kind, path, raw)
            tags = raw.data.get("tag") or []
            for tag in [tags] if isinstance(tags, str) else tags:
                tag_entry = self.entries.setdefault(tag, Entry(tag, "tag", None))
                if tag_entry.kind == "tag" and name not in tag_entry.members:
                    tag_entry.members.append(name)

    # -- lookups -------------------------------------------------------------

    def names(self, kind: str | None = None) -> list[str]:
        return sorted(n for n, e in self.entries.items() if kind is None or e.kind == kind)

    def entry(self, name: str) -> Entry:
        """The task, group or tag ``name``, also when spelled with ``_``/``-`` where the index has none or the other
        (``paws_x``, ``paws-x`` -> ``pawsx``; ``xnli-de`` -> ``xnli_de``), if that leaves one candidate."""
        if name not in self.entries:
            spellings = [n for n in self.entries if _folded(n) == _folded(name)]
            if len(spellings) == 1:
                return self.entries[spellings[0]]
            close = difflib.get_close_matches(name, self.names(), n=5, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise TaskNotFound(
                f"Unknown task, group or tag {name!r}.{hint} `harness tasks ls` lists them all; "
                f"tasks in your own folders need --include-path DIR."
            )
        return self.entries[name]

    def task(self, name: str) -> TaskConfig:
        if name not in self._task_cache:
            entry = self.entry(name)
            if entry.kind != "task" or entry.raw is None:
                raise TaskNotFound(f"{name!r} is a {entry.kind}, not a single task.")
            self._task_cache[name] = parse_task(entry.raw)
        return self._task_cache[name]

    def group(self, name: str) -> GroupConfig:
        entry = self.entry(name)
        if entry.kind != "group" or entry.raw is None:
            raise TaskNotFound(f"{name!r} is a {entry.kind}, not a group.")
        return parse_group(entry.raw)

    def expand(self, name: str, _seen: tuple[str, ...] = ()) -> list[str]:
        """All task names under a task, group or tag name, in declaration order."""
        if name in _seen:
            raise SpecError(f"Group cycle: {' -> '.join((*_seen, name))}.")
        entry = self.entry(name)
        if entry.kind == "task":
            return [entry.name]
        group = self.group(name) if entry.kind == "group" else None
        members = group.task if group else entry.members
        out: list[str] = []
        for member in members:
            keep = group.languages.get(member) if group else None  # a benchmark's own languages of a member
            for task in self.expand(member, (*_seen, name)):
                if task not in out and (keep is None or self.task(task).language in keep):
                    out.append(task)
        return out

    def benchmarks(self) -> dict[str, dict[str, list[str] | None]]:
        """Groups of groups (XTREME-R, XTREME): member family -> the languages the benchmark scores (None: all)."""
        groups = {name: self.group(name) for name in self.names("group")}
        return {
            name: {m: group.languages.get(m) for m in group.task}
            for name, group in groups.items()
            if all(m in groups for m in group.task)
        }

    def parent_groups(self, name: str) -> list[str]:
        """Groups that list ``name`` directly (used to lay tasks out as table rows)."""
        return [g for g in self.names("group") if name in self.group(g).task]

    def family(self, name: str) -> str:
        """The task family ``name`` belongs to: its first parent group (a table row), else the task itself."""
        parents = self.parent_groups(name)
        return parents[0] if parents else name


def _folded(name: str) -> str:
    """A name without case, ``_`` and ``-``: how users' spellings of one name differ (lm-eval writes ``paws_x``)."""
    return name.lower().replace("_", "").replace("-", "")
