"""The table every report is made of, in each output format: terminal (rich), Markdown, CSV, LaTeX, JSON, HTML.

A module of its own so that everything that makes tables (the report, the statistics, the attack and noise
reports) imports it without importing the report, which imports them. The formats are written by hand rather
than with a table library: each needs the same three things (a number, its ±, a mark), which a few lines per
format say more simply than adapting a library's cell model.
"""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table as RichTable

from .jsonio import dumps
from .stats import Estimate


class InLanguage(float):
    """A score in a language the model was fine-tuned in (not zero-shot there): marked ``†`` in tables."""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    caption: str = ""
    label_columns: int = 1  # leading text columns; the rest are numbers

    def cell(self, value: Any) -> str:
        """A number as shown: one decimal; an estimate with ± half its interval and * when significant."""
        if isinstance(value, Estimate):
            text = self.cell(value.value)
            if text and not math.isnan(value.low):
                text += f" ±{value.half_width:.1f}"
            return text + ("*" if value.significant else "")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float):
            mark = "†" if isinstance(value, InLanguage) else ""
            return f"{value + 0.0:.1f}".replace("-0.0", "0.0") + mark  # no negative zero in a table of differences
        return str(value)

    def to_rich(self, width: int | None = None) -> list[RichTable]:
        """Terminal tables; wide ones are cut into several, each repeating the label and average columns."""
        fixed = self.label_columns + 1  # labels, then the average
        widths = [max([len(c), *(len(self.cell(r[i])) for r in self.rows)]) + 3 for i, c in enumerate(self.columns)]
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
        """Numbers as plain columns; intervals, seed spreads and tests (where there are any) in columns of their own."""
        uncertain = lambda v: isinstance(v, Estimate) and not (math.isnan(v.low) and math.isnan(v.std))  # noqa: E731
        extra = [i for i in range(len(self.columns)) if any(uncertain(r[i]) for r in self.rows)]
        suffixes = ("ci95_low", "ci95_high", "seed_std", "p", "p_adjusted", "significant")
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([*self.columns, *(f"{self.columns[i]} {s}" for i in extra for s in suffixes)])
        for row in self.rows:
            cells = [_plain(v.value if isinstance(v, Estimate) else v) for v in row]
            for i in extra:
                e = row[i] if isinstance(row[i], Estimate) else Estimate(math.nan)
                tested = not math.isnan(e.p)
                cells += [_plain(e.low), _plain(e.high), _plain(e.std), _plain(e.p), _plain(e.p_adjusted),
                          int(e.significant) if tested else ""]  # fmt: skip
            writer.writerow(cells)
        return buf.getvalue()

    def to_latex(self) -> str:
        """A booktabs table in a float with its caption: ``value{\\scriptsize ±half-width}``, ``$^{*}$`` marks."""
        spec = "l" * self.label_columns + "r" * (len(self.columns) - self.label_columns)

        def cell(v: Any) -> str:
            if not isinstance(v, Estimate):
                return _latex_escape(self.cell(v))
            text = self.cell(v.value)
            if text and not math.isnan(v.low):
                text += r"{\scriptsize$\pm$" + f"{v.half_width:.1f}" + "}"
            return text + (r"$^{*}$" if v.significant else "")

        caption = _latex_escape(self.title + (". " + self.caption if self.caption else ""))
        lines = [r"\begin{table}", r"\centering", r"\begin{tabular}{" + spec + "}", r"\toprule",
                 " & ".join(_latex_escape(c) for c in self.columns) + r" \\", r"\midrule"]  # fmt: skip
        lines += [" & ".join(cell(v) for v in row) + r" \\" for row in self.rows]
        lines += [r"\bottomrule", r"\end{tabular}", r"\caption{" + caption + "}", r"\end{table}"]
        return "\n".join(lines) + "\n"

    def json_rows(self) -> list[list[Any]]:
        """Rows with each estimate as a dict (its value, interval, test), for a JSON file."""
        return [[v.to_dict() if isinstance(v, Estimate) else _plain(v) for v in row] for row in self.rows]

    def to_json(self) -> dict[str, Any]:
        """Every number with its interval (and test): rows as column → value."""
        value = lambda v: v.to_dict() if isinstance(v, Estimate) else _plain(v) if v != "" else v  # noqa: E731
        return {"title": self.title, "caption": self.caption, "columns": self.columns,
                "rows": [{c: value(v) for c, v in zip(self.columns, row)} for row in self.rows]}  # fmt: skip

    def to_html(self) -> str:
        """A table the HTML page's script sorts (``data-sort``) and filters; intervals and tests in tooltips."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(self._html_cell(v) for v in row) + "</tr>" for row in self.rows)
        note = f'<p class="note">{html.escape(self.caption)}</p>' if self.caption else ""
        return (f'<table class="report"><caption>{html.escape(self.title)}</caption><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>{note}\n")  # fmt: skip

    def _html_cell(self, v: Any) -> str:
        number = v.value if isinstance(v, Estimate) else v
        sort = f' data-sort="{number!r}"' if isinstance(number, float) and not math.isnan(number) else ""
        tip, cls = "", ""
        if isinstance(v, Estimate):
            parts = [f"95% CI [{v.low:.2f}, {v.high:.2f}]"] if not math.isnan(v.low) else []
            parts += [f"std over {v.seeds} seeds {v.std:.2f}"] if v.seeds > 1 else []
            parts += [f"p = {v.p:.4f}, adjusted {v.p_adjusted:.4f}"] if not math.isnan(v.p) else []
            tip = f' title="{html.escape("; ".join(parts))}"' if parts else ""
            cls = ' class="sig"' if v.significant else ""
        return f"<td{sort}{tip}{cls}>{html.escape(self.cell(v))}</td>"

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"
        return {"markdown": self.to_markdown, "csv": self.to_csv, "latex": self.to_latex, "html": self.to_html}[fmt]()


FORMATS = ("markdown", "csv", "latex", "json", "html")


def _plain(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


def _latex_escape(text: str) -> str:
    for char in "&%$#_{}":
        text = text.replace(char, "\\" + char)
    return text.replace("±", r"$\pm$").replace("Δ", r"$\Delta$").replace("−", "-")
