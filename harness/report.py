"""Tables from result records: terminal (rich), Markdown, CSV, LaTeX, JSON, HTML.

Reports read only the records of the results store (and the per-example
outcomes beside them). One row per task family (the group its per-language
tasks belong to) and setting (condition, intermediate, method), one column per
language, and the average over languages as XTREME-R computes it (macro mean).
Computed numbers are ``Estimate``s: with outcomes, their 95% bootstrap interval
(shown as ± half its width), their spread over seeds, and for a comparison its
paired test, corrected over the table's comparisons and marked ``*`` where
significant. The tables and their formats are ``tables.Table``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.noise import stats_table

from .analysis import Analysis, direction
from .attack_report import attack_tables
from .errors import HarnessError
from .metrics import mean, task_score
from .references import reference_for
from .stats import CORRECTION_NAMES, Estimate
from .tables import InLanguage, Table

#: the training language of XTREME's zero-shot setting, whose own column XTREME-R's average includes
XTREME_SOURCE = "en"


def averaged(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records an average over languages may use: the one place that decides what is zero-shot.

    XTREME-R averages every language, English included, for models fine-tuned on English; a task family
    with a model fine-tuned in another language (``--train-language de``, a source-language comparison)
    leaves each row's own training language out instead (the record says ``zero_shot: false``), so every
    row of the family averages zero-shot scores only.
    """
    records = list(records)
    compared = {r["family"] for r in records if r.get("train_language") not in (None, XTREME_SOURCE)}
    return [r for r in records if r.get("zero_shot", True) or r["family"] not in compared]


#: what tells a table's rows apart (and what a group score never averages across)
KEYS = ("model_label", "method", "intermediate", "train_language", "train_noise", "condition", "seed")
#: what changes a score's meaning without being compared: records differing in these are kept in separate rows
SETUP_KEYS = ("split", "sample_seed", "noise_seed", "base_fingerprint")

Cells = dict[tuple[str, ...], dict[str, list[dict[str, Any]]]]  # (family, *setting) → language → seeds' records


def setting_value(record: dict[str, Any], key: str) -> Any:
    """A record's value of a row key, or of a run setting (``record["settings"]``, e.g. ``limit``)."""
    return record.get(key) if key in KEYS or key in SETUP_KEYS else (record.get("settings") or {}).get(key)


def _setting(record: dict[str, Any], varying: list[str]) -> list[str]:
    return [str(setting_value(record, k)) for k in varying]


def varying_keys(records: list[dict[str, Any]]) -> list[str]:
    """The settings that differ between records: what a table's rows or a plot's lines tell apart.

    Besides the compared settings (intermediate, condition, ...), any run setting
    that changes what a score means (split, --limit, sample seed, epochs, ...):
    records that differ in one are never averaged together or compared as equals.
    """
    families: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        families.setdefault(r["family"], []).append(r)

    def varies(key: str) -> bool:  # a run setting only matters where it differs within one task (XQuAD has no dev)
        groups = [records] if key in KEYS else list(families.values())
        return any(len({str(setting_value(r, key)) for r in group}) > 1 for group in groups)

    keys = [*KEYS, *SETUP_KEYS, *sorted({k for r in records for k in (r.get("settings") or {})})]
    return [k for k in dict.fromkeys(keys) if varies(k)]


def row_keys(records: list[dict[str, Any]], by_seed: bool = False) -> list[str]:
    """Row settings: the varying ones, with training seeds pooled (mean ± std, one interval) unless ``by_seed``."""
    return [k for k in varying_keys(records) if k != "seed" or by_seed]


def language_order(records: Iterable[dict[str, Any]]) -> list[str]:
    return sorted({r["language"] for r in records}, key=lambda lang: (lang != "en", lang))


def collect(records: list[dict[str, Any]], settings: list[str]) -> Cells:
    """Records by (family, *setting) and language; one per seed (the newest, should a seed repeat)."""
    cells: dict[tuple[str, ...], dict[str, dict[Any, dict[str, Any]]]] = {}
    for r in records:
        cells.setdefault((r["family"], *_setting(r, settings)), {}).setdefault(r["language"], {})[r.get("seed")] = r
    return {key: {lang: list(seeds.values()) for lang, seeds in by_lang.items()} for key, by_lang in cells.items()}


def _notes(records: list[dict[str, Any]], varying: list[str]) -> str:
    notes = []
    if "condition" in varying:
        notes.append("drop = clean − noisy (points).")
    if "intermediate" in varying:
        notes.append("Δ = with that intermediate task − without (none).")
    if any(not r.get("higher_is_better", {}).get(m, True) for r in records for m in r.get("higher_is_better", {})):
        notes.append("Metrics where lower is better enter drops and Δ with their sign flipped (positive = better).")
    setup = [k for k in varying if k not in KEYS]
    if setup:
        values = "; ".join(f"{k}: {', '.join(sorted({str(setting_value(r, k)) for r in records}))}" for k in setup)
        notes.append(f"Records come from runs that differ in {values}: rows with different values are separate "
                     f"and not comparable.")  # fmt: skip
    if len(averaged(records)) < len(records):
        notes.append("† fine-tuned in that language (not zero-shot): left out of the average.")
    unlabelled = [f"{r['family']} {r['language']}" for r in records if r.get("n") and _no_number(r["score"])]
    if unlabelled:
        notes.append(f"Empty, no gold labels to score (predicted, not scored): {', '.join(dict.fromkeys(unlabelled))}.")
    smoke = sorted({r["model_label"] for r in records if r.get("smoke")})
    if smoke:
        notes.append(f"{', '.join(smoke)}: random-init, checks the pipeline only; not an XLM-R result.")
    return " ".join([*notes, *pool_notes(records)])


def _no_number(score: Any) -> bool:
    return score is None or (isinstance(score, float) and math.isnan(score))


def pool_notes(records: Iterable[dict[str, Any]]) -> list[str]:
    """What a table must say about retrieval scores searched in a smaller pool than their split
    (``--limit-pool``): they are not comparable to full-pool scores."""
    limited: dict[str, set[int]] = {}
    for r in records:
        if (r.get("pool") or {}).get("limited"):
            limited.setdefault(r["family"], set()).add(r["pool"]["size"])
    return [
        f"{family}: searched a pool of only the {'/'.join(map(str, sorted(sizes)))} sampled sentences "
        f"(--limit-pool), not the whole split; not comparable to full-pool scores."
        for family, sizes in sorted(limited.items())
    ]


@dataclass
class Contrast:
    """A table row's number: ``combine`` of the cells' scores; a paired comparison of ``cells[:sides]`` against
    ``cells[sides:]`` when ``sides`` > 0."""

    cells: list[tuple[str, ...]]
    combine: Callable[[np.ndarray], np.ndarray] = lambda v: v[..., 0]
    sides: int = 0


def _versus(row: Contrast, base: Contrast, sign: float) -> Contrast:
    m = len(row.cells)
    return Contrast([*row.cells, *base.cells], lambda v: sign * (row.combine(v[..., :m]) - base.combine(v[..., m:])), m)


def _with_contrasts(
    rows: dict[tuple[str, ...], Contrast], at: int, reference: str, label: str, sign: Callable[[tuple[str, ...]], float]
) -> dict[tuple[str, ...], Contrast]:
    """Rows ordered with the ``reference`` setting first; after each other row, its comparison with the reference.

    ``at`` is the position of the setting in the row keys; a comparison row is
    ``sign(key) * (row − reference)``, named ``label`` followed by the setting.
    """
    order = [{v: i for i, v in enumerate(dict.fromkeys(k[p] for k in rows))} for p in range(len(next(iter(rows))))]

    def rank(key: tuple[str, ...]) -> tuple:
        rest = tuple(order[p][v] for p, v in enumerate(key) if p != at)
        return (*rest, key[at] != reference, order[at][key[at]])

    out: dict[tuple[str, ...], Contrast] = {}
    for key in sorted(rows, key=rank):
        out[key] = rows[key]
        base = rows.get((*key[:at], reference, *key[at + 1 :]))
        if base is not None and key[at] != reference:
            out[key[:at] + (f"{label} {key[at]}",) + key[at + 1 :]] = _versus(rows[key], base, sign(key))
    return out


def _direction(cells: Cells, family: str) -> int:
    record = next(rs[0] for key, by_lang in cells.items() if key[0] == family for rs in by_lang.values())
    return direction(record)


def _estimates(
    analysis: Analysis,
    cells: Cells,
    contrast: Contrast,
    metric: str,
    languages: list[str],
    counted: set[int] | None = None,
) -> tuple[list[Estimate | None], Estimate | None, bool]:
    """Per language and over languages; whether the mean covers fewer languages than some row cell has.

    A language whose records ``averaged`` leaves out (the row's own training language) is shown marked
    ``†`` and kept out of the mean; ``counted`` None: every record counts (the caller kept only those).
    """
    members = [cells[c] for c in contrast.cells]
    own = (
        set()
        if counted is None
        else {lang for m in members for lang, rs in m.items() if any(id(r) not in counted for r in rs)}
    )
    per_language = [analysis.estimate(members, metric, [lang], contrast.combine, contrast.sides) for lang in languages]
    per_language = [e if e is None or lang not in own else replace(e, value=InLanguage(e.value))
                    for e, lang in zip(per_language, languages)]  # fmt: skip
    shared = [lang for lang in languages if all(lang in m for m in members) and lang not in own]
    partial = any(set(m) - set(shared) - own for m in members)
    return per_language, analysis.estimate(members, metric, shared, contrast.combine, contrast.sides), partial


def _caption_statistics(analysis: Analysis, tested: int, pooled_seeds: bool) -> str:
    if analysis.store is None or analysis.resamples == 0:
        return ""
    text = (f"± = half the 95% bootstrap interval ({analysis.resamples} resamples of the examples within each "
            f"language, seed {analysis.seed}).")  # fmt: skip
    if pooled_seeds:
        text += " With several training seeds: their mean; the interval resamples seeds and examples together."
    if tested:
        text += (f" * = paired approximate randomisation test, p < 0.05 after {CORRECTION_NAMES[analysis.correction]} "
                 f"correction over the {tested} comparisons of this table.")  # fmt: skip
    return text


def leaderboard(
    records: Iterable[dict[str, Any]],
    title: str = "Zero-shot cross-lingual results",
    analysis: Analysis | None = None,
    by_seed: bool = False,
) -> Table:
    """Rows: family × metric × setting; columns: the average over languages, then each language.

    Each noisy row is followed by its drop from the clean row, and each
    intermediate's row (and drop) by its difference from the no-intermediate
    baseline: the last is the difference in drop, the research question's number.
    """
    records = list(records)
    analysis = analysis or Analysis(None)
    varying = varying_keys(records)
    settings = row_keys(records, by_seed)
    counted = {id(r) for r in averaged(records)}
    languages = language_order(records)
    cells = collect(records, settings)
    rows: dict[tuple[str, ...], Contrast] = {}
    for r in records:
        # a row per metric the record asks to show (QA: EM and F1), else its score
        for metric in r.get("table_metrics") or [r["score_name"]]:
            cell = (r["family"], *_setting(r, settings))
            rows[(r["family"], metric) + cell[1:]] = Contrast([cell])
    if "condition" in settings:
        rows = _with_contrasts(rows, 2 + settings.index("condition"), "clean", "drop",
                               lambda key: -_direction(cells, key[0]))  # fmt: skip
    if "intermediate" in settings:
        at = 2 + settings.index("condition") if "condition" in settings else None
        rows = _with_contrasts(rows, 2 + settings.index("intermediate"), "none", "Δ",
                               lambda key: 1 if at is not None and key[at].startswith("drop") else _direction(cells, key[0]))  # fmt: skip
    references = {
        key: reference_for(key[0], key[1], [r for rs in cells[c.cells[0]].values() for r in rs])
        for key, c in rows.items()
        if not c.sides
    }
    shown = {key: ref for key, ref in references.items() if ref is not None}
    table = Table(title, ["task", "metric", *settings, "avg", *(["ref."] if shown else []), *languages],
                  label_columns=2 + len(settings))  # fmt: skip
    estimates: list[Estimate] = []
    partial = False
    for row_key, contrast in rows.items():
        family, metric, *setting = row_key
        per_language, avg, short = _estimates(analysis, cells, contrast, metric, languages, counted)
        partial |= short
        estimates += [e for e in (avg, *per_language) if e is not None]
        ref = [shown[row_key].value if row_key in shown else None] if shown else []
        table.rows.append([family, metric, *setting, avg, *ref, *per_language])
    tested = analysis.correct(estimates)
    notes = [_notes(records, varying), _caption_statistics(analysis, tested, "seed" in varying and not by_seed)]
    notes += [f"ref.: {source}." for source in dict.fromkeys(ref.source for ref in shown.values())]
    if partial:
        notes.append("avg: over the languages every compared row has.")
    table.caption = " ".join(n for n in notes if n)
    return table


def condition_averages(records: list[dict[str, Any]], settings: list[str]) -> dict[tuple[str, ...], dict[str, float]]:
    """(task family, *setting values) → condition → headline score averaged over languages."""
    scores: dict[tuple[str, ...], dict[str, list[float]]] = {}
    for r in averaged(records):
        scores.setdefault((r["family"], *_setting(r, settings)), {}).setdefault(r["condition"], []).append(r["score"])
    return {row: {c: mean(v) for c, v in by_condition.items()} for row, by_condition in scores.items()}


def robustness_summary(
    records: Iterable[dict[str, Any]], analysis: Analysis | None = None, by_seed: bool = False
) -> Table | None:
    """The research question in one table, per task and setting, averaged over languages: the score clean and
    under each noise condition, the absolute and relative drop, HELM's worst case (an example counts only
    as well as its worst condition), and with intermediates each of those against no intermediate task,
    the difference in drop tested.

    None when neither noise conditions nor intermediates vary (the leaderboard says it all).
    """
    records = averaged(records)  # zero-shot cells only: a training language is not averaged in
    analysis = analysis or Analysis(None)
    varying = varying_keys(records)
    if "condition" not in varying and "intermediate" not in varying:
        return None
    settings = [k for k in row_keys(records, by_seed) if k != "condition"]
    conditions = list(dict.fromkeys(r["condition"] for r in records))
    noisy = [c for c in conditions if c != "clean"]
    cells = collect(records, [*settings, "condition"])
    languages = language_order(records)
    metric_of = {r["family"]: r["score_name"] for r in records}
    columns = [*conditions, *(f"drop {c}" for c in noisy), *(f"rel. drop {c} %" for c in noisy)]
    columns += ["worst case"] if noisy and "clean" in conditions else []
    at = settings.index("intermediate") if "intermediate" in settings else None
    if at is not None:
        columns += [f"Δ {c}" for c in (*conditions, *(f"drop {c}" for c in noisy))]
    table = Table(
        "Robustness summary (average over languages)", ["task", *settings, *columns], label_columns=1 + len(settings)
    )
    rows = dict.fromkeys((r["family"], *_setting(r, settings)) for r in records)
    estimates: list[Estimate] = []
    for row in rows:
        values = _robustness_row(analysis, cells, row, conditions, metric_of[row[0]], languages, at)
        estimates += [v for v in values.values() if isinstance(v, Estimate)]
        table.rows.append([*row, *(values.get(c) for c in columns)])
    tested = analysis.correct(estimates)
    notes = [_notes(records, varying), _fewer_languages(records), "rel. drop = drop / clean score × 100.",
             "worst case: each example scored under its worst condition (clean and every noise condition).",
             "Δ drop = drop with the intermediate − drop without: negative = more robust." if at is not None else "",
             _caption_statistics(analysis, tested, "seed" in varying and not by_seed)]  # fmt: skip
    table.caption = " ".join(n for n in notes if n)
    return table


def _fewer_languages(records: list[dict[str, Any]]) -> str:
    """Which conditions a row averages over fewer languages than clean (a language skipped, e.g. no dictionary):
    their drops are paired per language, but their averages cover other languages than the clean column's."""
    languages: dict[tuple[str, str], set[str]] = {}
    for r in records:
        languages.setdefault((r["family"], r["condition"]), set()).add(r["language"])
    short = [f"{family} {condition} (not {', '.join(sorted(languages[(family, 'clean')] - langs))})"
             for (family, condition), langs in languages.items()
             if condition != "clean" and languages.get((family, "clean"), langs) - langs]  # fmt: skip
    return f"Averaged over fewer languages than clean: {'; '.join(short)}." if short else ""


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``part / whole`` in percent; NaN where the whole is 0 (a relative drop from a zero score is undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole != 0, part / np.where(whole != 0, whole, 1) * 100, np.nan)


def _robustness_row(
    analysis: Analysis, cells: Cells, row: tuple[str, ...], conditions: list[str], metric: str, languages: list[str],
    at: int | None,
) -> dict[str, Any]:  # fmt: skip
    """One row of ``robustness_summary``: column → estimate."""
    sign = _direction(cells, row[0])
    noisy = [c for c in conditions if c != "clean"]
    present = [c for c in conditions if (*row, c) in cells]

    def estimate(keys: list[tuple[str, ...]], combine: Callable[[np.ndarray], np.ndarray], sides: int = 0) -> Any:
        if not all(k in cells for k in keys):
            return None
        return _estimates(analysis, cells, Contrast(keys, combine, sides), metric, languages)[1]

    score = lambda v: v[..., 0]  # noqa: E731
    drop = lambda v: sign * (v[..., 0] - v[..., 1])  # noqa: E731
    values: dict[str, Any] = {c: estimate([(*row, c)], score) for c in present}
    for c in noisy:
        values[f"drop {c}"] = estimate([(*row, "clean"), (*row, c)], drop, 1)
        values[f"rel. drop {c} %"] = estimate([(*row, "clean"), (*row, c)], lambda v: _ratio(drop(v), v[..., 0]))
    if noisy and present == conditions:
        values["worst case"] = analysis.worst([cells[row + (c,)] for c in conditions], metric, languages)
    if at is not None and row[1 + at] != "none":
        base = (*row[: 1 + at], "none", *row[2 + at :])
        for c in conditions:
            values[f"Δ {c}"] = estimate([(*row, c), (*base, c)], drop, 1)
        for c in noisy:
            keys = [(*row, "clean"), (*row, c), (*base, "clean"), (*base, c)]
            values[f"Δ drop {c}"] = estimate(keys, lambda v: drop(v[..., :2]) - drop(v[..., 2:]), 2)
    return values


def benchmark_tables(
    records: Iterable[dict[str, Any]], benchmarks: Mapping[str, Mapping[str, list[str] | None] | list[str]]
) -> list[Table]:
    """One table per benchmark (a group of task families, e.g. XTREME-R) the records cover at least half of.

    (A run of two tasks is not a benchmark result; a half-finished benchmark grid
    is, and its table says which tasks are still missing.)

    ``benchmarks`` maps each benchmark to its member families and the languages it scores of each (None:
    all), as ``TaskIndex.benchmarks`` gives them: XTREME's table averages XTREME's 33 UD-POS languages even
    when the run also holds XTREME-R's other five. Each row is one setting (intermediate, condition, ...):
    the score of every task (its mean over those languages; QA: (mean EM + mean F1) / 2) and the benchmark's
    score, their mean, which like XTREME's evaluate.py is left blank until every task has a score. A task
    scored on fewer than its benchmark languages is named in the caption (evaluate.py would refuse it).
    """
    records = list(records)
    settings = [k for k in varying_keys(records)]
    families = {r["family"] for r in records}
    tables = []
    for name, given in benchmarks.items():
        members = given if isinstance(given, Mapping) else dict.fromkeys(given)
        if 2 * len(families & set(members)) < len(members):
            continue
        table = Table(f"{name} (task score = mean over languages; QA: (EM + F1) / 2)",
                      [*settings, name, *members], label_columns=len(settings))  # fmt: skip
        partial: dict[str, str] = {}
        for setting, scores, short in _benchmark_rows(records, members, settings):
            overall = mean(list(scores.values())) if len(scores) == len(members) else None
            table.rows.append([*setting, overall, *(scores.get(m) for m in members)])
            partial.update(short)
        missing = [m for m in members if m not in families]
        notes = [f"{name} score needs all {len(members)} tasks; missing: {', '.join(missing)}."] if missing else []
        if partial:
            notes.append(f"Scored on fewer than {name}'s languages (not comparable to published {name} scores): "
                         f"{', '.join(f'{f} {n}' for f, n in partial.items())}.")  # fmt: skip
        notes += pool_notes(r for r in records if r["family"] in members)
        table.caption = " ".join(notes)
        tables.append(table)
    return tables


def _benchmark_rows(
    records: list[dict[str, Any]], members: Mapping[str, list[str] | None], settings: list[str]
) -> list[tuple[list[str], dict[str, float], dict[str, str]]]:
    """Per setting: each member's task score over the benchmark's languages, and the members scored on
    fewer of them than the benchmark has (``"15 of 33 languages"``)."""
    rows: dict[tuple[str, ...], dict[str, list[dict[str, Any]]]] = {}
    for r in averaged(records):
        wanted = members.get(r["family"], [])
        if r["family"] in members and (wanted is None or r["language"] in wanted):
            rows.setdefault(tuple(_setting(r, settings)), {}).setdefault(r["family"], []).append(r)
    out = []
    for setting, by_family in rows.items():
        scores = {family: task_score(by_family[family]) for family in members if family in by_family}
        partial = {}
        for family, found in by_family.items():
            wanted, scored = members[family], {r["language"] for r in found}
            if wanted is not None and len(scored) < len(wanted):
                partial[family] = f"{len(scored)} of {len(wanted)} languages"
        out.append((list(setting), scores, partial))
    return out


#: ``--by`` names → record keys
BY_KEYS = {"task": "family", "model": "model_label", "method": "method", "intermediate": "intermediate",
           "condition": "condition", "language": "language"}  # fmt: skip


def report_sections(
    records: list[dict[str, Any]], filters: dict[str, list[str]], by: list[str]
) -> list[tuple[str, list[dict[str, Any]], bool]]:
    """The records a report shows, as (title suffix, records, one row per seed) per ``--by`` section.

    ``filters``: ``tasks`` (families or tasks), ``languages``, ``conditions``
    (clean is always kept: the drops need it), ``intermediates`` (none is always
    kept: the Δ need it). A value no record has is an error naming the values
    the store has, rather than an empty or silently partial table.
    """
    records = [r for r in records if r.get("role") != "intermediate"]  # skipped cells too: a table says why
    fields = {"tasks": ("family", "task"), "languages": ("language",), "conditions": ("condition",),
              "intermediates": ("intermediate",)}  # fmt: skip
    always = {"conditions": "clean", "intermediates": "none"}
    for name, wanted in filters.items():
        if not wanted:
            continue
        keys = fields[name]
        known = {str(r.get(k)) for r in records for k in keys}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            option = {"tasks": "--task", "languages": "--lang", "conditions": "--noise"}.get(name, "--intermediate")
            raise HarnessError(f"{option} {', '.join(unknown)}: no record has it. The store has: "
                               f"{', '.join(sorted({str(r.get(keys[0])) for r in records}))}.")  # fmt: skip
        keep = {*wanted, *([always[name]] if name in always else [])}
        records = [r for r in records if any(str(r.get(k)) in keep for k in keys)]
    unknown = [b for b in by if b != "seed" and b not in BY_KEYS]
    if unknown:
        raise HarnessError(f"--by {', '.join(unknown)}: a report can be split by seed, {', '.join(BY_KEYS)}.")
    if not records:
        raise HarnessError("No record matches these filters together; leave one out to see what the store has.")
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    split = [BY_KEYS[b] for b in by if b != "seed"]
    for r in records:
        groups.setdefault(tuple(str(r.get(k)) for k in split), []).append(r)
    title = lambda values: "".join(f" · {b} {v}" for b, v in zip([b for b in by if b != "seed"], values))  # noqa: E731
    return [(title(values), group, "seed" in by) for values, group in groups.items()]


def target_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of target tasks: an intermediate stage's own dev scores are kept in its adapter's metadata.
    A skipped cell's record (an attack a language cannot take) has no score: the attack tables list it."""
    return [r for r in records if r.get("role") != "intermediate" and not r.get("skipped")]


def skipped_cells_table(records: Iterable[dict[str, Any]]) -> Table | None:
    """Noise conditions a language could not take (``codeswitch`` without a dictionary for it): one row per task,
    condition and language, with the reason (attacks list theirs in the attack table)."""
    rows = {(r["family"], r["condition"], r["language"]): r["skipped"] for r in records
            if r.get("skipped") and not str(r["condition"]).startswith(("attack:", "attack-set:"))}  # fmt: skip
    if not rows:
        return None
    caption = "These cells have no score: every table above leaves them out, and averages say which languages."
    return Table("Noise conditions skipped per language", ["task", "condition", "language", "why"],
                 [[*k, why] for k, why in rows.items()], caption, label_columns=4)  # fmt: skip


def skipped_table(skipped: Iterable[Any]) -> Table | None:
    """The files of the results store that no table counts (``results.Skipped``): a torn record would otherwise
    move an average without a word."""
    rows = [[item.path.name, item.reason] for item in skipped]
    if not rows:
        return None
    caption = "These files are left out of every table above; re-run their cells (harness run ...) to replace them."
    return Table(f"{len(rows)} file(s) in records/ skipped", ["file", "why"], rows, caption)


def all_tables(
    records: list[dict[str, Any]],
    benchmarks: Mapping[str, Any],
    title: str,
    skipped: Iterable[Any] = (),
    analysis: Analysis | None = None,
    by_seed: bool = False,
    unscorable: Mapping[str, str] | None = None,
) -> list[Table]:
    """Every table a set of records gives: the leaderboard, benchmark scores, robustness, applied noise, and the
    files of the store that were skipped. ``unscorable``: the tasks a run did not train because none of their
    cells could be scored (family -> why); the leaderboard's caption says why their rows are missing."""
    targets = target_records(records)
    board = leaderboard(targets, title, analysis, by_seed)
    if unscorable:
        notes = "; ".join(f"{family}: {reason}" for family, reason in unscorable.items())
        board.caption = " ".join(filter(None, [board.caption, f"Not trained, so no row: {notes} "
                                               f"(--train-unscorable trains it anyway)."]))  # fmt: skip
    tables = [board, *benchmark_tables(targets, benchmarks),
              robustness_summary(targets, analysis, by_seed), stats_table(targets), skipped_cells_table(records),
              *attack_tables(records), skipped_table(skipped)]  # fmt: skip
    return [t for t in tables if t]


def group_scores(records: Iterable[dict[str, Any]], languages: list[str] | None = None) -> list[dict[str, Any]]:
    """A task family's scores for results.json: one entry per setting (model, method, intermediate, training
    language, noise, seed), never averaging records of different settings, nor non-zero-shot ones (``averaged``).

    Each entry has the family's task score as XTREME's evaluate.py gives it (``task_score``: the mean over
    languages; QA: (mean EM + mean F1) / 2), the mean over languages of every metric the records hold (the
    names they store: ``exact_match`` and ``f1``, not the metric function ``squad``), the languages scored,
    and a ``reason`` wherever the score is not a number. ``languages``, where given, are those the score
    should cover; an entry covering fewer says which are missing.
    """
    by_setting: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in averaged(records):
        by_setting.setdefault(tuple(str(r.get(k)) for k in KEYS), []).append(r)
    out = []
    for setting, rows in by_setting.items():
        names = list(dict.fromkeys(m for r in rows for m in r["metrics"]))
        metrics = {m: mean([r["metrics"][m] for r in rows if m in r["metrics"]]) for m in names}
        entry: dict[str, Any] = {**dict(zip(KEYS, setting)), "score_name": rows[0]["score_name"],
                                 "score": task_score(rows), "metrics": metrics,
                                 "languages": [r["language"] for r in rows]}  # fmt: skip
        missing = [lang for lang in languages or [] if lang not in entry["languages"]]
        if missing:
            entry["missing_languages"] = missing
        if math.isnan(entry["score"]):
            nan = [r["language"] for r in rows if math.isnan(r["score"])]
            entry["reason"] = f"no score for {', '.join(nan)} (nothing to score: no examples or no gold labels)"
        out.append(entry)
    return out


def benchmark_scores(records: Iterable[dict[str, Any]], members: Mapping[str, list[str] | None]) -> list[dict]:
    """A benchmark's scores for results.json, per setting: each member's task score over the benchmark's own
    languages and the overall mean, or the reason there is none (as evaluate.py, only with every task)."""
    out = []
    for setting, scores, partial in _benchmark_rows(list(records), members, list(KEYS)):
        missing = [m for m in members if m not in scores]
        entry: dict[str, Any] = {**dict(zip(KEYS, setting)), "tasks": scores,
                                 "score": mean(list(scores.values())) if not missing else None}  # fmt: skip
        reasons = [f"needs all {len(members)} tasks; missing: {', '.join(missing)}"] if missing else []
        reasons += [f"{family}: {note}" for family, note in partial.items()]
        if reasons:
            entry["reason"] = "; ".join(reasons)
        out.append(entry)
    return out
