"""The results store: one JSON record per finished cell, written atomically.

A *cell* is one (base model, intermediate, target task and language, method,
noise condition, seed, settings) evaluation. Its record holds the metrics and
everything needed to reproduce it. Records live in ``<output>/records/`` under
their key, so a crashed grid resumes where it stopped and a finished cell is
never recomputed; reports read only this store.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .jsonio import dumps, loads
from .locks import claim
from .paths import write_atomic

RECORDS = "records"
#: why an example's outcome is missing from an outcomes file
NO_OUTCOME = "not a number: this example has nothing to score (no gold label)"


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


#: what every record has: a JSON file in ``records/`` without them is not a record (another tool's, a copied file)
RECORD_FIELDS = ("key", "task", "family", "language", "condition", "metrics", "score")


@dataclass
class Skipped:
    """A file in ``records/`` that a report could not use, and why."""

    path: Path
    reason: str


@dataclass
class Scan:
    """Every record in a store, and the files that are not records, so a report can say what it left out."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def read_record(path: Path) -> dict[str, Any]:
    """The record in ``path``; ``ValueError`` saying why when the file is torn or not a record."""
    try:
        record = loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON (torn or edited: {exc})") from None
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not a record")
    missing = [name for name in RECORD_FIELDS if name not in record]
    if missing:
        raise ValueError(f"not a harness record (no {', '.join(missing)})")
    if record["key"] != path.stem:
        raise ValueError(f"holds record {record['key']!r}, not {path.stem!r} as its name says (copied or renamed)")
    return record


class CellStore:
    """``<output>/records/<key>.json``, one per finished cell, and ``<output>/predictions/<key>.jsonl``."""

    def __init__(self, output: Path) -> None:
        self.dir = Path(output) / RECORDS

    def predictions_path(self, key: str) -> Path:
        """Each example's id, prediction and gold answer (what ``harness export-predictions`` reads)."""
        return self.dir.parent / "predictions" / f"{key}.jsonl"

    def outcomes_path(self, key: str) -> Path:
        return self.dir.parent / "outcomes" / f"{key}.json"

    def put_outcomes(self, key: str, ids: list[str], columns: dict[str, list[float]]) -> None:
        """Each example's outcome statistics (``harness.metrics.Outcomes``), column by column.

        Kept beside the record rather than in it: a report loads every record of a
        grid (and a full test set has thousands of examples per cell), but reads
        outcomes only for the cells whose intervals and tests it computes; columns
        of numbers parse in one ``json.loads``, unlike the predictions file, whose
        texts a statistic never needs.
        """
        data = {"id": ids, "columns": columns}
        write_atomic(self.outcomes_path(key), dumps(data, NO_OUTCOME, ensure_ascii=False) + "\n")

    def outcomes(self, key: str) -> dict[str, Any] | None:
        """``{"id": [...], "columns": {"metric:column": [...]}}`` of a cell, or None when it has none."""
        try:
            return loads(self.outcomes_path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None

    def get(self, key: str) -> dict[str, Any] | None:
        """The record of ``key``; None when there is none or its file is unusable (the cell is evaluated again)."""
        try:
            return read_record(self.dir / f"{key}.json")
        except (OSError, ValueError):
            return None

    def claim(self, key: str, say: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        """Hold the right to score the records under ``key``; waits while another process does (``harness.locks``)."""

        def waiting(owner: dict) -> None:
            if say is not None:
                say(f"[yellow]{key}[/]: being scored by pid {owner.get('pid')} on {owner.get('host')}; waiting")

        return claim(self.dir / ".locks" / f"{key}.lock", waiting)

    def put(self, key: str, record: dict[str, Any]) -> None:
        write_json(self.dir / f"{key}.json", record)

    def scan(self) -> Scan:
        """Every usable record (oldest first) and every ``*.json`` file skipped, with the reason."""
        scan = Scan()
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            try:
                scan.records.append(read_record(path))
            except (OSError, ValueError) as exc:
                scan.skipped.append(Skipped(path, str(exc)))
        scan.records.sort(key=lambda r: (str(r.get("created", "")), r["key"]))
        return scan


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """The installed version of each distribution (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment() -> dict[str, Any]:
    """Package versions, Python, platform and the harness's git commit, for every result file."""
    return {
        "packages": package_versions(("xtreme-noise-harness", "torch", "transformers", "peft", "datasets",
                                      "tokenizers", "numpy")),  # fmt: skip
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
    }


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def write_samples(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    write_atomic(path, "".join(dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
