"""Attack views of the results store: attack metrics beside random-noise drops, and the prediction shift.

Rows are per task, intermediate, attack condition and language, never averaged
over languages: an attack may skip a language (no dictionary) and its success
rate counts a different set of examples in each. A skipped cell is a row that
says why. The prediction-shift table (classification, multiple choice) shows
how many examples each label is predicted for clean and under attack, and
which label the changed predictions went to: a model that collapses toward one
class under attack, or an attack that raises accuracy, shows there.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .tables import Table


def _is_attack(record: dict[str, Any]) -> bool:
    return str(record.get("condition", "")).startswith(("attack:", "attack-set:"))


def _model(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["family"], record["language"], record.get("intermediate"), record.get("seed"),
            record.get("model_label"), record.get("method"), record.get("train_noise"))  # fmt: skip


def attack_table(records: list[dict[str, Any]]) -> Table | None:
    """Per task, intermediate, attack and language: clean score, random-noise drops, score under attack,
    its drop, success rate, words changed, queries per example, budget exhausted (None without attacks)."""
    records = [r for r in records if r.get("role") != "intermediate"]
    attacked = sorted((r for r in records if _is_attack(r)), key=_row_order(records))
    if not attacked:
        return None
    by_model: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for r in records:
        by_model.setdefault(_model(r), {})[r["condition"]] = r
    noises = list(dict.fromkeys(r["condition"] for r in records if r["condition"] != "clean" and not _is_attack(r)))
    columns = ["task", "intermediate", "attack", "language", "clean", *(f"drop {n}" for n in noises), "attacked",
               "drop", "success %", "words changed %", "queries", "budget out %", "note"]  # fmt: skip
    table = Table("Adversarial attacks (per language)", columns, label_columns=4)
    for r in attacked:
        same = by_model.get(_model(r), {})
        clean = same.get("clean", {}).get("score")
        drops = [_drop(clean, same.get(n, {}).get("score")) for n in noises]
        a = r.get("attack") or {}
        table.rows.append([r["family"], r.get("intermediate"), r["condition"], r["language"], clean, *drops,
                           r.get("score"), _drop(clean, r.get("score")), a.get("success_rate"),
                           a.get("words_changed"), a.get("queries"), a.get("exhausted"),
                           r.get("skipped") or _source(a)])  # fmt: skip
    table.caption = ("drop = clean − score (points). success = share of the examples the model gets right clean "
                     "(span QA: F1 > 0; tagging: a word right) that the attack breaks; queries per attacked example, "
                     "the clean one included.")  # fmt: skip
    return table


def _row_order(records: list[dict[str, Any]]) -> Any:
    """Rows by task (as the run lists them), attack, language (en first) and intermediate (none first), whatever
    order the store gives the records in."""
    families = {f: i for i, f in enumerate(dict.fromkeys(r["family"] for r in records))}
    return lambda r: (families[r["family"]], str(r["condition"]), r["language"] != "en", r["language"],
                      r.get("intermediate") != "none", str(r.get("intermediate")))  # fmt: skip


def _source(attack: dict[str, Any]) -> str:
    return f"examples made against {attack['source_intermediate']}" if attack.get("mode") != "adaptive" else ""


def _drop(clean: float | None, score: float | None) -> float | None:
    return None if clean is None or score is None else clean - score


def shift_table(records: list[dict[str, Any]]) -> Table | None:
    """Predicted labels clean vs under attack, and where changed predictions went (classification)."""
    rows = [r for r in records if _is_attack(r) and (r.get("attack") or {}).get("shift")]
    if not rows:
        return None
    table = Table("Prediction shift under attack (examples per predicted label)",
                  ["task", "intermediate", "attack", "language", "label", "clean", "attacked", "change", "flips in",
                   "flips out"], label_columns=5)  # fmt: skip
    for r in rows:
        shift = r["attack"]["shift"]
        into: Counter[str] = Counter()
        out: Counter[str] = Counter()
        for pair, n in shift["flips"].items():
            old, new = pair.split(" → ")
            out[old] += n
            into[new] += n
        for label in sorted({*shift["clean"], *shift["attacked"]}):
            before, after = shift["clean"].get(label, 0), shift["attacked"].get(label, 0)
            table.rows.append([r["family"], r.get("intermediate"), r["condition"], r["language"], label, before,
                               after, after - before, into[label], out[label]])  # fmt: skip
    return table


def attack_tables(records: list[dict[str, Any]]) -> list[Table]:
    return [t for t in (attack_table(records), shift_table(records)) if t is not None]
