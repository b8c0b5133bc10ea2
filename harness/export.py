"""``harness export-predictions``: a run's predictions in the layout google-research/xtreme's ``evaluate.py`` reads.

Writes ``<dest>/predictions/<task>/test-<lang>.<suffix>`` and the matching gold
answers under ``<dest>/labels/``, in the file format evaluate.py's reader for that
task expects (``.tsv`` lines, tag blocks, SQuAD JSON, Mewsli-X JSON, XCOPA
``.jsonl``), so a run can be scored with the official script. evaluate.py always
reads ``test-<lang>`` files; the run's own split (often the dev set, since XTREME's
download strips test labels) is what is written under that name, and ``split.txt``
says which it was.

What evaluate.py cannot score is not written, each with its reason: LAReQA
(evaluate.py has no reader for it: XTREME-R scores it from the model with
``scripts/run_eval_lareqa.sh``) and files its scorer could not read (questions
without gold answers, say). Tasks outside XTREME and XTREME-R are written in their
task type's format; the printed command says that evaluate.py ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import NO_INTERMEDIATE
from .errors import ExportRefused, HarnessError
from .jsonio import loads
from .paths import write_atomic
from .registry import TaskIndex
from .results import CellStore

#: families of XTREME-R that evaluate.py lists but cannot read, and why
UNREADABLE = {
    "lareqa": "evaluate.py has no reader for LAReQA (its XTREME-R language list is empty); XTREME-R scores it "
    "from the trained model with scripts/run_eval_lareqa.sh (third_party/evaluate_retrieval.py), not from "
    "prediction files. This run's lareqa mAP@20 is already computed as that script computes it.",
}


@dataclass
class Export:
    written: list[Path] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # "family/lang" or "family" -> why it was not written
    commands: list[str] = field(default_factory=list)  # the evaluate.py command for each benchmark version
    #: version -> what evaluate.py will not find ("family: langs", which it stops at) or ignore
    missing: dict[str, list[str]] = field(default_factory=dict)


def export_xtreme(run_dir: Path, dest: Path, intermediate: str = NO_INTERMEDIATE, condition: str = "clean") -> Export:
    try:
        result = loads((run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"{run_dir} is not a run folder (no readable results.json: {exc}); pass runs/<run-id>."
        ) from None
    records = [r for r in result["results"] if r["intermediate"] == intermediate and r["condition"] == condition]
    if not records:
        settings = sorted({(r["intermediate"], r["condition"]) for r in result["results"]})
        raise HarnessError(f"Run {run_dir.name} has no records for intermediate {intermediate!r} and condition "
                           f"{condition!r}; it has: {', '.join(f'{i} / {c}' for i, c in settings)}.")  # fmt: skip
    from .tasktypes import get_task_type  # torch: imported once the arguments are known to be right

    benchmarks = TaskIndex().benchmarks()
    store = CellStore(run_dir.parent)
    out = Export()
    exported: dict[str, set[str]] = {}
    for record in records:
        family = record["family"]
        if family in UNREADABLE:
            out.refused[family] = UNREADABLE[family]
            continue
        path = store.predictions_path(record["key"])
        if not path.is_file():
            raise HarnessError(f"No predictions file {path} for {record['task']}; re-run the cell with --no-resume.")
        rows = [loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        try:
            suffix, predictions, gold = get_task_type(record["spec"]["task_type"]).export(rows)
        except ExportRefused as exc:
            out.refused[f"{family}/{record['language']}"] = str(exc)
            continue
        for folder, text in (("predictions", predictions), ("labels", gold)):
            target = dest / folder / family / f"test-{record['language']}.{suffix}"
            write_atomic(target, text)
            out.written.append(target)
        exported.setdefault(family, set()).add(record["language"])
    if out.written:
        write_atomic(dest / "split.txt", f"{sorted({r['split'] for r in records})}\n")
    touched = [v for v, members in benchmarks.items() if set(exported) & set(members)] or list(benchmarks)
    for version, members in benchmarks.items():
        if version not in touched:
            continue
        out.commands.append(
            f"python evaluate.py --prediction_folder {dest}/predictions --label_folder {dest}/labels "
            f"--xtreme_version {version} --output_file {dest}/scores-{version}.json"
        )
        ignored = sorted(set(exported) - set(members))
        out.missing[version] = [f"{', '.join(ignored)} (not {version} tasks: ignored)"] if ignored else []
        out.missing[version] += [
            f"{family}: {' '.join(lang for lang in langs if lang not in exported[family])}"
            for family, langs in members.items()
            if family in exported and langs and set(langs) - exported[family]
        ]
    return out
