"""One self-contained HTML report: sortable, filterable tables, inline plots, the runs' configuration.

The page opens from disk with nothing else: the plots are inline SVG drawn by
matplotlib (the project's plotting library already), the style and the ~40
lines of script are in the page. The script sorts a table when its header is
clicked (numbers by their exact value in ``data-sort``, not the rounded text)
and filters rows by the text typed above it; a URL fragment such as
``#sort=0:3:desc&filter=0:de`` applies the same operations on load, so a
headless browser can check them without a driver. Once drawn it records how
many plots have a visible size in ``<body data-plots>``.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .analysis import Analysis
from .plots import condition_axes
from .report import Table, all_tables, setting_value, skipped_table, target_records, varying_keys
from .stats import Estimate

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table.report{border-collapse:collapse;margin:.3em 0 .2em;font-size:.85em}
table.report caption{text-align:left;font-weight:600;padding:.3em 0}
table.report th{cursor:pointer;background:#f0f0f0;position:sticky;top:0;user-select:none}
table.report th.asc::after{content:" ▲"}table.report th.desc::after{content:" ▼"}
table.report td,table.report th{border:1px solid #ddd;padding:2px 6px;white-space:nowrap}
table.report td[data-sort]{text-align:right}td.sig{font-weight:700;background:#fff4d6}
p.note{font-size:.8em;color:#555;max-width:70em}input.filter{margin-top:1em;font-size:.85em;width:20em}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}.warn{color:#b00}
"""

SCRIPT = """
function cellValue(row, col) {
  const cell = row.cells[col];
  return cell.dataset.sort !== undefined ? parseFloat(cell.dataset.sort) : cell.textContent;
}
function sortTable(table, col, dir) {
  const head = table.tHead.rows[0].cells[col];
  dir = dir || (head.classList.contains('asc') ? 'desc' : 'asc');
  for (const th of table.tHead.rows[0].cells) th.classList.remove('asc', 'desc');
  head.classList.add(dir);
  const rows = Array.from(table.tBodies[0].rows);
  rows.sort((a, b) => {
    const x = cellValue(a, col), y = cellValue(b, col);
    if (typeof x === 'number' && typeof y === 'number') return dir === 'asc' ? x - y : y - x;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return dir === 'asc' ? String(x).localeCompare(y) : String(y).localeCompare(x);
  });
  for (const row of rows) table.tBodies[0].appendChild(row);
}
function filterTable(table, text) {
  text = text.toLowerCase();
  for (const row of table.tBodies[0].rows)
    row.style.display = row.textContent.toLowerCase().includes(text) ? '' : 'none';
}
window.addEventListener('DOMContentLoaded', () => {
  const tables = Array.from(document.querySelectorAll('table.report'));
  tables.forEach((table, t) => {
    Array.from(table.tHead.rows[0].cells).forEach((th, col) => th.addEventListener('click', () => sortTable(table, col)));
    const box = document.createElement('input');
    box.className = 'filter'; box.placeholder = 'filter rows…'; box.id = 'filter-' + t;
    box.addEventListener('input', () => filterTable(table, box.value));
    table.before(box);
  });
  for (const part of decodeURIComponent(location.hash.slice(1)).split('&')) {
    const [op, arg] = part.split('=');
    if (!arg) continue;
    const [t, ...rest] = arg.split(':');
    if (op === 'sort') sortTable(tables[+t], +rest[0], rest[1]);
    if (op === 'filter') { document.getElementById('filter-' + t).value = rest.join(':'); filterTable(tables[+t], rest.join(':')); }
  }
  const drawn = Array.from(document.querySelectorAll('figure svg')).filter(s => s.getBoundingClientRect().width > 0);
  document.body.dataset.plots = drawn.length;
});
"""


def page(
    sections: list[tuple[str, list[dict[str, Any]], bool]],
    analysis: Analysis,
    benchmarks: Mapping[str, Any],
    title: str,
    skipped: Iterable[Any] = (),
) -> str:
    """The whole page: per ``--by`` section its tables and plots, then the store's skipped files, notes and the
    runs' configuration."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    if any(r.get("smoke") for _, records, _ in sections for r in records):
        body.append('<p class="warn">Smoke model (random init): checks the pipeline only; not an XLM-R result.</p>')
    for suffix, records, by_seed in sections:
        tables = all_tables(records, benchmarks, title + suffix, (), analysis, by_seed)
        if suffix:
            body.append(f"<h2>{html.escape(suffix.strip(' ·'))}</h2>")
        body += [t.to_html() for t in tables]
        robustness = next((t for t in tables if t.title.startswith("Robustness")), None)
        leaderboard = tables[0]
        figures = [
            delta_heatmap(robustness),
            noise_curves(robustness, condition_axes(records)),
            language_bars(leaderboard),
        ]
        body += [f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"
                 for svg, caption in (f for f in figures if f)]  # fmt: skip
    body += [t.to_html() for t in (skipped_table(skipped), analysis.notes_table()) if t]
    body.append(configuration(target_records(r for _, records, _ in sections for r in records)).to_html())
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>{''.join(body)}</body></html>\n")  # fmt: skip


def configuration(records: list[dict[str, Any]]) -> Table:
    """Every setting of the runs behind the records, with all the values found (one value: one run setup)."""
    keys = ["model", "model_label", "base_fingerprint", "method", "split", "seed", "sample_seed", "noise_seed",
            "train_noise", "stack", *sorted({k for r in records for k in r.get("settings") or {}})]  # fmt: skip
    table = Table("Run configuration (from the records)", ["setting", "values"], label_columns=2)
    for key in dict.fromkeys(keys):
        values = sorted({str(r[key] if key in r else setting_value(r, key)) for r in records})
        table.rows.append([key, ", ".join(values)])
    table.rows.append(["tasks", ", ".join(sorted({r["family"] for r in records}))])
    table.rows.append(["records", str(len(records))])
    varying = [k for k in varying_keys(records) if k not in ("condition", "intermediate", "seed")]
    table.caption = f"Differ between records: {', '.join(varying)}." if varying else ""
    return table


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _columns(table: Table) -> dict[str, int]:
    return {c: i for i, c in enumerate(table.columns)}


def delta_heatmap(robustness: Table | None) -> tuple[str, str] | None:
    """Intermediate × target task: Δ clean and Δ drop per noise condition (mean over languages), * significant."""
    if robustness is None or "intermediate" not in robustness.columns:
        return None
    col = _columns(robustness)
    panels = [c for c in robustness.columns if c.startswith("Δ ") and (c == "Δ clean" or c.startswith("Δ drop"))]
    rows = [r for r in robustness.rows if r[col["intermediate"]] != "none"]
    if not panels or not rows:
        return None
    intermediates = list(dict.fromkeys(r[col["intermediate"]] for r in rows))
    families = list(dict.fromkeys(r[col["task"]] for r in rows))
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(1.2 + 1.1 * len(families) * len(panels), 1 + 0.6 * len(intermediates)),
                             squeeze=False)  # fmt: skip
    for ax, panel in zip(axes[0], panels):
        grid = [[math.nan] * len(families) for _ in intermediates]
        marks = [[""] * len(families) for _ in intermediates]
        for r in rows:
            e = r[col[panel]]
            if isinstance(e, Estimate):
                i, j = intermediates.index(r[col["intermediate"]]), families.index(r[col["task"]])
                grid[i][j] = e.value
                marks[i][j] = f"{e.value + 0.0:+.1f}".replace("-0.0", "0.0") + ("*" if e.significant else "")
        finite = [abs(v) for row in grid for v in row if not math.isnan(v)] or [1.0]
        limit = max(finite) or 1.0
        cmap = "RdBu_r" if panel.startswith("Δ drop") else "RdBu"  # blue = better: higher score, smaller drop
        ax.imshow(grid, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
        for i, row in enumerate(marks):
            for j, text in enumerate(row):
                dark = not math.isnan(grid[i][j]) and abs(grid[i][j]) > 0.6 * limit
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_xticks(range(len(families)), families, rotation=30, ha="right")
        ax.set_yticks(range(len(intermediates)), intermediates if ax is axes[0][0] else [])
        ax.set_title(panel, fontsize=9)
    return _svg(
        fig
    ), "Δ against no intermediate task (mean over languages); * significant after correction; blue = better."


def noise_curves(robustness: Table | None, rates: Mapping[str, tuple[str, float]]) -> tuple[str, str] | None:
    """Score against noise rate per task, a line per setting (intermediate) and kind of noise, 95% bands.

    ``rates``: each noise condition's (kind, rate), from its records (``plots.condition_axes``)."""
    if robustness is None:
        return None
    col = _columns(robustness)
    conditions = [c for c in robustness.columns[robustness.label_columns :] if c == "clean" or c in rates]
    noisy = [c for c in conditions if c != "clean"]
    if not noisy or "clean" not in conditions:
        return None
    families = list(dict.fromkeys(r[0] for r in robustness.rows))
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(families), figsize=(4.5 * len(families), 3.4), squeeze=False)
    for ax, family in zip(axes[0], families):
        for row in (r for r in robustness.rows if r[0] == family):
            label = " · ".join(str(v) for v in row[1 : robustness.label_columns]) or family
            kinds: dict[str, list[tuple[float, Estimate]]] = {}
            for c in noisy:
                kind, rate = rates[c]
                if isinstance(row[col[c]], Estimate):
                    kinds.setdefault(kind, []).append((rate, row[col[c]]))
            for kind, points in kinds.items():
                clean = row[col["clean"]]
                points = sorted(points, key=lambda p: p[0])
                if isinstance(clean, Estimate):
                    points = [(0.0, clean), *points]
                xs = [p[0] for p in points]
                line = ax.plot(xs, [p[1].value for p in points], marker="o", label=f"{label} · {kind}")[0]
                if all(not math.isnan(p[1].low) for p in points):
                    ax.fill_between(xs, [p[1].low for p in points], [p[1].high for p in points],
                                    color=line.get_color(), alpha=0.15)  # fmt: skip
        ax.set_title(family)
        ax.set_xlabel("noise rate (0 = clean)")
        ax.set_ylabel("score, mean over languages")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    return _svg(fig), "Score against noise rate; bands: 95% bootstrap intervals."


def language_bars(leaderboard: Table) -> tuple[str, str] | None:
    """Per task, each language's score for each setting row (not the drop or Δ rows), with 95% error bars."""
    at = [i for i, c in enumerate(leaderboard.columns) if i >= leaderboard.label_columns and c not in ("avg", "ref.")]
    languages = [leaderboard.columns[i] for i in at]
    rows = [r for r in leaderboard.rows
            if not any(str(v).startswith(("drop ", "Δ ")) for v in r[2 : leaderboard.label_columns])]  # fmt: skip
    families = list(dict.fromkeys((r[0], r[1]) for r in rows))
    if not rows or not languages:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(families), 1, figsize=(max(6, 0.5 * len(languages) * 2), 2.8 * len(families)),
                             squeeze=False)  # fmt: skip
    for ax, (family, metric) in zip(axes[:, 0], families):
        members = [r for r in rows if (r[0], r[1]) == (family, metric)]
        width = 0.8 / len(members)
        for k, row in enumerate(members):
            values = [row[i] for i in at]
            xs = [i + k * width for i, v in enumerate(values) if isinstance(v, Estimate)]
            ests = [v for v in values if isinstance(v, Estimate)]
            errors = [[max(0.0, e.value - e.low) if not math.isnan(e.low) else 0 for e in ests],
                      [max(0.0, e.high - e.value) if not math.isnan(e.high) else 0 for e in ests]]  # fmt: skip
            label = " · ".join(str(v) for v in row[2 : leaderboard.label_columns]) or family
            ax.bar(xs, [e.value for e in ests], width, yerr=errors, capsize=2, label=label)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(languages))], languages)
        ax.set_title(f"{family} · {metric}", fontsize=9)
        ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    return _svg(fig), "Per-language scores with 95% bootstrap intervals."
