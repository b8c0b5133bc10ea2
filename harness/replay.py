"""A rerun with nothing left to do answers from its records, before any data is read or model imported.

Planning a run reads and noises every task's data and identifies the base model (torch, transformers and peft
imported): tens of seconds before it can tell that every cell is already recorded. So a finished run leaves a
*plan note*: the record keys its plan produced and what its result file says besides them, filed under a
fingerprint of everything the plan is a function of: the options; the names, sizes and modification times of
the harness's own files (code, task specs, the tiny preset's corpus), of the ``--include-path`` task files, of
``--plugin`` modules, of the data files and of a local model's files; and the installed versions of the libraries
that read, tokenize and compute. A rerun with the same fingerprint whose records are all still there prints the
tables from them at once and writes its result file. Anything else plans from scratch: an edited spec or data file, other library
versions, a record deleted, a hub model or hub data (a revision can move without any local file changing),
``--no-resume``, ``--log-samples`` (samples are written by the evaluation itself) and ``--dry-run``.
"""

from __future__ import annotations

import importlib.util
import platform
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .jsonio import loads
from .paths import write_atomic
from .results import CellStore, package_versions, write_json
from .spec import stable_hash

PLANS = "plans"
#: libraries whose version can change what a plan reads, renders, tokenizes or scores
LIBRARIES = ("torch", "transformers", "tokenizers", "datasets", "peft", "numpy", "pyarrow", "jinja2", "seqeval",
             "regex", "anyascii", "rapidfuzz", "jieba", "pythainlp", "fugashi", "unidic-lite", "codespell")  # fmt: skip


def _files(root: Path) -> Iterable[list[Any]]:
    """(path, size, mtime) of every file under ``root`` (itself, when it is a file); nothing when it is absent."""
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    for path in paths:
        if "__pycache__" not in path.parts:
            stat = path.stat()
            yield [str(path), stat.st_size, stat.st_mtime_ns]


def _package_dirs() -> list[Path]:
    """The installed harness: ``harness`` and the folders mapped into it (tasks, noise, adapters)."""
    dirs = [Path(__file__).resolve().parent]
    for name in ("harness.tasks", "harness.noise", "harness.adapters"):
        spec = importlib.util.find_spec(name)
        dirs += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    return dirs


def fingerprint(params: dict[str, Any]) -> str | None:
    """What a plan is a function of (see the module docstring), hashed; None when it cannot be known cheaply."""
    if params.get("data_dir") is None:
        return None  # the hub's data: a dataset's revision can move without any local file changing
    model = str(params["model"])
    model_files: list[Path] = []
    if model != "tiny":
        if not Path(model).expanduser().is_dir():
            return None  # a hub id: its revision is only known by asking the hub (or loading its config)
        model_files = [Path(model).expanduser().resolve()]
    roots = [*_package_dirs(), *model_files, *(Path(p).resolve() for p in params["include_paths"])]
    for key in ("data_dir", "mlm_corpus"):
        if params.get(key) is not None:
            roots.append(Path(params[key]).resolve())
    for plugin in params.get("plugins") or ():  # a --plugin module's own files (a .py file is named below)
        found = None if Path(plugin).is_file() else importlib.util.find_spec(plugin)
        if found is not None:
            roots += [Path(p) for p in found.submodule_search_locations or [found.origin or ""] if p]
    # files named inside option values (attack-set:PATH, protect_list=FILE, --config's grid file)
    words = [w for v in params.values() for w in str(v).replace("=", ":").replace("+", ":").split(":")]
    roots += [Path(w).resolve() for w in dict.fromkeys(words) if w and len(w) < 4096 and Path(w).is_file()]
    versions = package_versions(LIBRARIES)
    options = {k: str(Path(v).resolve()) if isinstance(v, Path) else v for k, v in params.items()}
    written = [Path(params[k]).resolve() for k in ("output", "adapter_dir") if params.get(k) is not None]
    files = [f for root in roots for f in _files(root)  # what runs write (--data-dir . holding runs/) is no input
             if not any(Path(f[0]).is_relative_to(w) for w in written)]  # fmt: skip
    return stable_hash([options, versions, platform.python_version(), files], 24)


def note_path(output: Path, key: str) -> Path:
    return Path(output) / PLANS / f"{key}.json"


#: what a run's in-memory result holds besides what its note keeps (the records are kept by key)
_NOT_NOTED = ("results", "tables", "table_objs", "run_dir", "run_id", "timings")


def remember(output: Path, key: str | None, results: list[dict[str, Any]], units: int) -> None:
    """File the plan of a finished run under its fingerprint ``key``."""
    if key is None:
        return
    runs = [{k: v for k, v in r.items() if k not in _NOT_NOTED} | {"record_keys": [rec["key"] for rec in r["results"]]}
            for r in results]  # fmt: skip
    write_json(note_path(output, key), {"units": units, "runs": runs})


def save_run(output: Path, result: dict[str, Any], tables: list[Any], title: str,
             benchmarks: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Write one run's ``results.json`` and ``results.md`` into a new run folder named by time and records; the
    tables' title and the benchmark lists come back beside them for a plan note."""
    records = result["results"]
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + stable_hash([r["key"] for r in records], 6)
    result = {"run_id": run_id, **result,
              "tables": [{"title": t.title, "columns": t.columns, "rows": t.json_rows()} for t in tables]}  # fmt: skip
    run_dir = Path(output) / run_id
    write_json(run_dir / "results.json", result)
    write_atomic(run_dir / "results.md", "\n".join(t.to_markdown() for t in tables))
    return {**result, "table_objs": tables, "run_dir": run_dir, "title": title, "benchmarks": benchmarks}


def replay(output: Path, key: str | None) -> tuple[list[dict[str, Any]], int] | None:
    """The results of the plan filed under ``key`` (and its number of units) when every one of its records is
    there, written as a new run; else None."""
    started = time.perf_counter()
    if key is None:
        return None
    path, store = note_path(output, key), CellStore(output)
    try:
        note = loads(path.read_text(encoding="utf-8"))  # as written: NaN back from null
        runs = [(run, [store.get(k) for k in run["record_keys"]]) for run in note["runs"]]
        units = int(note["units"])
    except (OSError, ValueError, TypeError, KeyError):  # no note, or a torn one: plan from scratch
        return None
    complete = [(run, [r for r in records if r is not None]) for run, records in runs]
    if not runs or any(len(kept) != len(records) for (_, kept), (_, records) in zip(complete, runs)):
        return None  # a record is gone (deleted, torn): its cell is evaluated again
    from .report import all_tables  # here: the report's modules are not needed when there is no note

    skipped = store.scan().skipped
    results = []
    for run, records in complete:
        fields = {k: v for k, v in run.items() if k not in ("record_keys", "title", "benchmarks")}
        tables = all_tables(records, run["benchmarks"], run["title"], skipped, unscorable=run.get("unscorable"))
        timings = {"total_s": time.perf_counter() - started, "replayed_plan": str(path)}
        results.append(save_run(output, {**fields, "results": records, "timings": timings}, tables, run["title"],
                                run["benchmarks"]))  # fmt: skip
    return results, units
