"""``harness export-predictions``: a run's predictions in the layout google-research/xtreme's ``evaluate.py`` reads.

Writes ``<dest>/predictions/<task>/test-<lang>.<tsv|json>`` and the matching gold
answers under ``<dest>/labels/``, so a run can be scored with the official
script: ``python evaluate.py --prediction_folder <dest>/predictions
--label_folder <dest>/labels``. evaluate.py always reads ``test-<lang>`` files;
the run's own split (often the dev set, since XTREME's download strips test
labels) is what is written under that name, and ``split.txt`` says which it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from .config import NO_INTERMEDIATE
from .errors import HarnessError
from .paths import write_atomic
from .results import CellStore
from .tasktypes import get_task_type


def export_xtreme(
    run_dir: Path, dest: Path, intermediate: str = NO_INTERMEDIATE, condition: str = "clean"
) -> list[Path]:
    try:
        result = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"{run_dir} is not a run folder (no readable results.json: {exc}); pass runs/<run-id>."
        ) from None
    records = [r for r in result["results"] if r["intermediate"] == intermediate and r["condition"] == condition]
    if not records:
        settings = sorted({(r["intermediate"], r["condition"]) for r in result["results"]})
        raise HarnessError(f"Run {run_dir.name} has no records for intermediate {intermediate!r} and condition "
                           f"{condition!r}; it has: {', '.join(f'{i} / {c}' for i, c in settings)}.")  # fmt: skip
    store = CellStore(run_dir.parent)
    written: list[Path] = []
    for record in records:
        path = store.predictions_path(record["key"])
        if not path.is_file():
            raise HarnessError(f"No predictions file {path} for {record['task']}; re-run the cell with --no-resume.")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        suffix, predictions, gold = get_task_type(record["spec"]["task_type"]).export(rows)
        for folder, text in (("predictions", predictions), ("labels", gold)):
            target = dest / folder / record["family"] / f"test-{record['language']}.{suffix}"
            write_atomic(target, text)
            written.append(target)
    write_atomic(dest / "split.txt", f"{sorted({r['split'] for r in records})}\n")
    return written
