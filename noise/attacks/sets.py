"""Stored adversarial sets: JSONL, one line per example, reusable with ``--noise attack-set:PATH``.

Each line holds the adversarial example (every field the model reads, gold
included), its edits (``field``, ``item``, ``word`` index, ``from``, ``to``),
whether the source model was right on it when clean and whether the attack
broke it, its queries, and what made it: task, language, source model key and
intermediate, recipe, budget and seed. A set is written whole or not at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...jsonio import dumps
from ...paths import write_atomic
from ..perturbation import NoiseError


def write_set(path: Path, rows: list[dict[str, Any]]) -> Path:
    write_atomic(path, "".join(dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))
    return path


def read_set(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise NoiseError(f"{path}:{number}: not JSON ({exc.msg}); is it an attack set?") from None
            missing = {"task", "language", "id", "example", "edits"} - set(row)
            if missing:
                raise NoiseError(f"{path}:{number}: an attack-set line needs {', '.join(sorted(missing))}; "
                                 f"write sets with `harness run --noise attack:...`.")  # fmt: skip
            rows.append(row)
    return rows
