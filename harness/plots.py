"""Robustness curves: each task's score (mean over languages) against the noise rate.

The figure a paper on noisy zero-shot transfer shows: one panel per task, one
line per setting (intermediate task, method, ...) and kind of noise, starting at
the clean score (rate 0). A sweep (``--noise typo:0.05,typo:0.1,typo:0.2``) gives
a curve; a single level gives a slope from clean.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from .errors import HarnessError
from .paths import write_atomic
from .report import condition_averages, target_records, varying_keys

Curves = dict[str, dict[str, list[tuple[float, float]]]]


def noise_axis(noise: dict[str, Any] | None) -> tuple[str, float]:
    """(kind of noise, total rate) of a record's ``noise``: ``typo:0.1+drop:0.05`` → (``typo+drop``, 0.15);
    clean and attacks (no rate axis) → ("", 0).

    Read from the steps the record holds, never by parsing its condition name: a
    report must work where the perturbation is unknown (a plugin not loaded here).
    """
    from harness.noise.spec import Step

    if not noise or not noise.get("steps"):
        return "", 0.0
    steps = [Step.from_record(step) for step in noise["steps"]]
    options = str(noise["spec"]).split("+")[len(steps) :]  # after the steps: fields=, answers=... (other kinds)
    return "+".join([s.structure for s in steps] + options), sum(s.rate for s in steps)


def condition_axes(records: list[dict[str, Any]]) -> dict[str, tuple[str, float]]:
    """Each noise condition of the records → its (kind, rate) axis; clean and attacks have none."""
    axes = {r["condition"]: noise_axis(r.get("noise")) for r in records}
    return {condition: axis for condition, axis in axes.items() if axis[0]}


def robustness_curves(records: list[dict[str, Any]]) -> Curves:
    """task family → line label → [(rate, score)] sorted by rate, clean first."""
    records = target_records(records)
    settings = [k for k in varying_keys(records) if k != "condition"]
    axes = condition_axes(records)
    curves: Curves = {}
    for (family, *setting), by_condition in condition_averages(records, settings).items():
        lines: dict[str, list[tuple[float, float]]] = {}
        for condition, score in by_condition.items():
            kind, rate = axes.get(condition, ("", 0.0))
            if kind and not math.isnan(score):
                lines.setdefault(kind, []).append((rate, score))
        clean = by_condition.get("clean")
        for kind, points in lines.items():
            start = [(0.0, clean)] if clean is not None and not math.isnan(clean) else []
            label = " · ".join([*setting, kind])
            curves.setdefault(family, {})[label] = start + sorted(points)
    return {family: lines for family, lines in curves.items() if lines}


def plot_robustness(records: list[dict[str, Any]], path: Path) -> Path:
    """Write the curves to ``path`` (.png, .pdf or .svg: matplotlib picks the format by the suffix)."""
    curves = robustness_curves(records)
    if not curves:
        raise HarnessError(
            "Nothing to plot: these records have no noise condition with a score. "
            "Run with `--noise typo` (or a sweep, `--noise typo:0.05,typo:0.1,typo:0.2`) first."
        )
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    smoke = any(r.get("smoke") for r in records)
    columns = min(3, len(curves))
    rows = math.ceil(len(curves) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    for ax, (family, lines) in zip(axes.flat, curves.items()):
        for label, points in lines.items():
            ax.plot(*zip(*points), marker="o", label=label)
        ax.set_title(family)
        ax.set_xlabel("noise rate (0 = clean)")
        ax.set_ylabel("score, mean over languages")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in axes.flat[len(curves) :]:
        ax.set_visible(False)
    if smoke:
        fig.suptitle("smoke model: checks the pipeline only,\nnot an XLM-R result", color="tab:red", fontsize="medium")
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    write_atomic(path, image.getvalue())
    return path
