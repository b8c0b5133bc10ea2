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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table as RichTable

from .metrics import mean


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
            return f"{value:.1f}"
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


def _with_drops(cells: dict[tuple[str, ...], dict[str, float]], at: int) -> dict[tuple[str, ...], dict[str, float]]:
    """Rows ordered clean first, each noisy row followed by its drop (clean − noisy) row.

    ``at`` is the position of the condition in the row keys.
    """
    families = list(dict.fromkeys(k[0] for k in cells))
    conditions = list(dict.fromkeys(k[at] for k in cells))
    out: dict[tuple[str, ...], dict[str, float]] = {}
    for key in sorted(
        cells, key=lambda k: (families.index(k[0]), k[:at] + k[at + 1 :], k[at] != "clean", conditions.index(k[at]))
    ):
        out[key] = cells[key]
        clean = cells.get((*key[:at], "clean", *key[at + 1 :]))
        if clean is not None and key[at] != "clean":
            out[(*key[:at], f"drop {key[at]}", *key[at + 1 :])] = {
                lang: clean[lang] - score for lang, score in cells[key].items() if lang in clean
            }
    return out


def leaderboard(records: Iterable[dict[str, Any]], title: str = "Zero-shot cross-lingual results") -> Table:
    """Rows: family × varying settings; columns: languages, then the average over them.

    With noise conditions, each noisy row is followed by its drop from the clean row.
    """
    records = list(records)
    varying = [
        k
        for k in ("model_label", "method", "intermediate", "train_noise", "condition", "seed")
        if len({str(r.get(k)) for r in records}) > 1
    ]
    languages = sorted({r["language"] for r in records}, key=lambda lang: (lang != "en", lang))
    cells: dict[tuple[str, ...], dict[str, float]] = {}
    for r in records:
        # a row per metric the record asks to show (QA: EM and F1), else its score
        for metric in r.get("table_metrics") or [r["score_name"]]:
            row_key = (r["family"], metric, *_setting(r, varying))
            cells.setdefault(row_key, {})[r["language"]] = r["metrics"].get(metric, r["score"])
    if "condition" in varying:
        cells = _with_drops(cells, 2 + varying.index("condition"))
    table = Table(title, ["task", "metric", *varying, "avg", *languages], label_columns=2 + len(varying))
    for row_key, by_lang in cells.items():
        family, metric, *setting = row_key
        avg = mean([by_lang[lang] for lang in languages if lang in by_lang])
        table.rows.append([family, metric, *setting, avg, *[by_lang.get(lang) for lang in languages]])
    notes = ["drop = clean − noisy (points)."] if "condition" in varying else []
    smoke = sorted({r["model_label"] for r in records if r.get("smoke")})
    if smoke:
        notes.append(f"{', '.join(smoke)}: random-init, checks the pipeline only; not an XLM-R result.")
    table.caption = " ".join(notes)
    return table


def aggregate(records: Iterable[dict[str, Any]], metrics: list[str]) -> dict[str, dict[str, float]]:
    """A group's score per condition: the macro mean of each metric over its tasks (languages)."""
    out: dict[str, dict[str, float]] = {}
    by_condition: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_condition.setdefault(r["condition"], []).append(r)
    for condition, rows in by_condition.items():
        out[condition] = {m: mean([r["metrics"][m] for r in rows if m in r["metrics"]]) for m in metrics}
    return out
