"""Leaderboard tables from result records: terminal (rich), Markdown, CSV, LaTeX, HTML.

Reports read only the records of the results store. One row per task family
(the group its per-language tasks belong to) and setting (condition,
intermediate, method), one column per language, and the average over languages
as XTREME-R computes it (macro mean).
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table as RichTable

from .metrics import mean, task_score

#: the training language of XTREME's zero-shot setting, whose own column XTREME-R's average includes
XTREME_SOURCE = "en"


class InLanguage(float):
    """A score in a language the model was fine-tuned in (not zero-shot there): marked ``†`` in tables."""


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


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    caption: str = ""
    label_columns: int = 1  # leading text columns; the rest are numbers

    def cell(self, value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float):
            mark = "†" if isinstance(value, InLanguage) else ""
            return f"{value + 0.0:.1f}".replace("-0.0", "0.0") + mark  # no negative zero in a table of differences
        return str(value)

    def to_rich(self, width: int | None = None) -> list[RichTable]:
        """Terminal tables; wide ones are cut into several, each repeating the label and average columns."""
        fixed = self.label_columns + 1  # labels, then the average
        widths = [max(len(c), *(len(self.cell(r[i])) for r in self.rows)) + 3 for i, c in enumerate(self.columns)]
        budget = max(20, (width or 10**6) - sum(widths[:fixed]) - 4)
        chunks: list[list[int]] = [[]]
        used = 0
        for i in range(fixed, len(self.columns)):
            if chunks[-1] and used + widths[i] > budget:
                chunks.append([])
                used = 0
            chunks[-1].append(i)
            used += widths[i]
        tables = []
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            table = RichTable(
                title=self.title if n == 0 else None,
                caption=self.caption if last and self.caption else None,
                title_justify="left",
            )
            for i in [*range(fixed), *chunk]:
                table.add_column(self.columns[i], justify="left" if i < self.label_columns else "right", no_wrap=True)
            for row in self.rows:
                table.add_row(*[self.cell(row[i]) for i in [*range(fixed), *chunk]])
            tables.append(table)
        return tables

    def to_markdown(self) -> str:
        align = ["---" if i < self.label_columns else "---:" for i in range(len(self.columns))]
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |", "| " + " | ".join(align) + " |"]
        lines += ["| " + " | ".join(self.cell(v) for v in row) + " |" for row in self.rows]
        if self.caption:
            lines += ["", self.caption]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(self.columns)
        writer.writerows([[self.cell(v) for v in row] for row in self.rows])
        return buf.getvalue()

    def to_latex(self) -> str:
        spec = "l" * self.label_columns + "r" * (len(self.columns) - self.label_columns)
        esc = lambda s: s.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")  # noqa: E731
        lines = [
            r"\begin{tabular}{" + spec + "}",
            r"\toprule",
            " & ".join(esc(c) for c in self.columns) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(esc(self.cell(v)) for v in row) + r" \\" for row in self.rows]
        lines += [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(self.cell(v))}</td>" for v in row) + "</tr>" for row in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>"
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"

    def render(self, fmt: str) -> str:
        return {"markdown": self.to_markdown, "csv": self.to_csv, "latex": self.to_latex, "html": self.to_html}[fmt]()


FORMATS = ("markdown", "csv", "latex", "html")


def _setting(record: dict[str, Any], varying: list[str]) -> list[str]:
    return [str(record.get(k)) for k in varying]


def _with_deltas(
    cells: dict[tuple[str, ...], dict[str, float]], at: int, reference: str, label: str, sign: int
) -> dict[tuple[str, ...], dict[str, float]]:
    """Rows ordered with the ``reference`` setting first; after each other row, its difference from the reference.

    ``at`` is the position of the setting in the row keys; a difference row is
    ``sign * (row - reference)`` and named ``label`` followed by the setting.
    """
    order = [{v: i for i, v in enumerate(dict.fromkeys(k[p] for k in cells))} for p in range(len(next(iter(cells))))]

    def rank(key: tuple[str, ...]) -> tuple:
        rest = tuple(order[p][v] for p, v in enumerate(key) if p != at)
        return (*rest, key[at] != reference, order[at][key[at]])

    out: dict[tuple[str, ...], dict[str, float]] = {}
    for key in sorted(cells, key=rank):
        out[key] = cells[key]
        base = cells.get((*key[:at], reference, *key[at + 1 :]))
        if base is not None and key[at] != reference:
            out[(*key[:at], f"{label} {key[at]}", *key[at + 1 :])] = {
                lang: type(score)(sign * (score - base[lang])) for lang, score in cells[key].items() if lang in base
            }
    return out


def varying_keys(records: list[dict[str, Any]]) -> list[str]:
    """The record keys (settings) that differ between records: what a table's rows or a plot's lines tell apart."""
    keys = ("model_label", "method", "intermediate", "train_language", "train_noise", "condition", "seed")
    return [k for k in keys if len({str(r.get(k)) for r in records}) > 1]


def _notes(records: list[dict[str, Any]], varying: list[str]) -> str:
    notes = []
    if "condition" in varying:
        notes.append("drop = clean − noisy (points).")
    if "intermediate" in varying:
        notes.append("Δ = with that intermediate task − without (none).")
    if len(averaged(records)) < len(records):
        notes.append("† fine-tuned in that language (not zero-shot): left out of the average.")
    smoke = sorted({r["model_label"] for r in records if r.get("smoke")})
    if smoke:
        notes.append(f"{', '.join(smoke)}: random-init, checks the pipeline only; not an XLM-R result.")
    return " ".join([*notes, *pool_notes(records)])


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


def leaderboard(records: Iterable[dict[str, Any]], title: str = "Zero-shot cross-lingual results") -> Table:
    """Rows: family × metric × varying settings; columns: languages, then the average over them.

    Each noisy row is followed by its drop from the clean row, and each
    intermediate's row by its difference from the no-intermediate baseline.
    """
    records = list(records)
    varying = varying_keys(records)
    languages = sorted({r["language"] for r in records}, key=lambda lang: (lang != "en", lang))
    counted = {id(r) for r in averaged(records)}
    cells: dict[tuple[str, ...], dict[str, float]] = {}
    for r in records:
        # a row per metric the record asks to show (QA: EM and F1), else its score
        for metric in r.get("table_metrics") or [r["score_name"]]:
            row_key = (r["family"], metric, *_setting(r, varying))
            score = r["metrics"].get(metric, r["score"])
            cells.setdefault(row_key, {})[r["language"]] = score if id(r) in counted else InLanguage(score)
    if "condition" in varying:
        cells = _with_deltas(cells, 2 + varying.index("condition"), "clean", "drop", -1)
    if "intermediate" in varying:
        cells = _with_deltas(cells, 2 + varying.index("intermediate"), "none", "Δ", 1)
    table = Table(title, ["task", "metric", *varying, "avg", *languages], label_columns=2 + len(varying))
    for row_key, by_lang in cells.items():
        family, metric, *setting = row_key
        avg = mean([v for lang in languages if (v := by_lang.get(lang)) is not None and not isinstance(v, InLanguage)])
        table.rows.append([family, metric, *setting, avg, *[by_lang.get(lang) for lang in languages]])
    table.caption = _notes(records, varying)
    return table


def condition_averages(records: list[dict[str, Any]], settings: list[str]) -> dict[tuple[str, ...], dict[str, float]]:
    """(task family, *setting values) → condition → headline score averaged over languages."""
    scores: dict[tuple[str, ...], dict[str, list[float]]] = {}
    for r in averaged(records):
        scores.setdefault((r["family"], *_setting(r, settings)), {}).setdefault(r["condition"], []).append(r["score"])
    return {row: {c: mean(v) for c, v in by_condition.items()} for row, by_condition in scores.items()}


def robustness_summary(records: Iterable[dict[str, Any]]) -> Table | None:
    """The research question in one table: per task and intermediate, the average over languages clean and
    under each noise condition, the drop, and each of those relative to no intermediate task.

    None when neither noise conditions nor intermediates vary (the leaderboard says it all).
    """
    records = list(records)
    varying = varying_keys(records)
    if "condition" not in varying and "intermediate" not in varying:
        return None
    settings = [k for k in varying if k != "condition"]
    conditions = list(dict.fromkeys(r["condition"] for r in records))
    noisy = [c for c in conditions if c != "clean"]
    averages = condition_averages(records, settings)
    columns = [*conditions, *(f"drop {c}" for c in noisy)]
    for row in averages.values():
        row.update({f"drop {c}": row["clean"] - row[c] for c in noisy if "clean" in row and c in row})
    at = 1 + settings.index("intermediate") if "intermediate" in settings else None
    if at is not None:
        columns += [f"Δ {c}" for c in columns]
        for key, row in averages.items():
            baseline = averages.get((*key[:at], "none", *key[at + 1 :]))
            if baseline is not None:
                row.update({f"Δ {c}": row[c] - baseline[c] for c in list(row) if c in baseline})
    table = Table("Robustness summary (average over languages)", ["task", *settings, *columns],
                  label_columns=1 + len(settings))  # fmt: skip
    for key, row in averages.items():
        table.rows.append([*key, *(row.get(c) for c in columns)])
    table.caption = _notes(records, varying)
    return table


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


def target_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of target tasks: an intermediate stage's own dev scores are kept in its adapter's metadata."""
    return [r for r in records if r.get("role") != "intermediate"]


def skipped_table(skipped: Iterable[Any]) -> Table | None:
    """The files of the results store that no table counts (``results.Skipped``): a torn record would otherwise
    move an average without a word."""
    rows = [[item.path.name, item.reason] for item in skipped]
    if not rows:
        return None
    caption = "These files are left out of every table above; re-run their cells (harness run ...) to replace them."
    return Table(f"{len(rows)} file(s) in records/ skipped", ["file", "why"], rows, caption)


def all_tables(
    records: list[dict[str, Any]], benchmarks: Mapping[str, Any], title: str, skipped: Iterable[Any] = ()
) -> list[Table]:
    """Every table a set of records gives: the leaderboard, benchmark scores, robustness, applied noise, and the
    files of the store that were skipped."""
    from harness.noise import stats_table  # noise reports on its own records; it imports Table from here

    records = target_records(records)
    tables = [leaderboard(records, title), *benchmark_tables(records, benchmarks), robustness_summary(records),
              stats_table(records), skipped_table(skipped)]  # fmt: skip
    return [t for t in tables if t]


#: the record keys that make two records' numbers comparable: a group score averages within one setting only
SETTING_KEYS = ("model_label", "method", "intermediate", "train_language", "train_noise", "condition", "seed")


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
        by_setting.setdefault(tuple(str(r.get(k)) for k in SETTING_KEYS), []).append(r)
    out = []
    for setting, rows in by_setting.items():
        names = list(dict.fromkeys(m for r in rows for m in r["metrics"]))
        metrics = {m: mean([r["metrics"][m] for r in rows if m in r["metrics"]]) for m in names}
        entry: dict[str, Any] = {**dict(zip(SETTING_KEYS, setting)), "score_name": rows[0]["score_name"],
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
    for setting, scores, partial in _benchmark_rows(list(records), members, list(SETTING_KEYS)):
        missing = [m for m in members if m not in scores]
        entry: dict[str, Any] = {**dict(zip(SETTING_KEYS, setting)), "tasks": scores,
                                 "score": mean(list(scores.values())) if not missing else None}  # fmt: skip
        reasons = [f"needs all {len(members)} tasks; missing: {', '.join(missing)}"] if missing else []
        reasons += [f"{family}: {note}" for family, note in partial.items()]
        if reasons:
            entry["reason"] = "; ".join(reasons)
        out.append(entry)
    return out
