"""Metrics, registered by name and computed exactly as the official XTREME scorers do.

A metric takes the gold references and the predictions of one task/language and
returns a number (or a dict of named numbers, e.g. SQuAD's ``exact_match`` and
``f1``) on XTREME's 0-100 scale. Keeping the scorer's arithmetic (same order of
operations, same normalisation) is what makes our numbers match
google-research/xtreme's ``evaluate.py`` digit for digit.

Every built-in metric also comes as per-example statistics that add up (its
``Outcomes``), so a report can recompute the metric on any resample of the
examples: a bootstrap must redo the corpus arithmetic (seqeval's span counts,
BUCC's precision and recall), not average per-example scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import retrieval, squad, tagging  # noqa: F401  (each registers its metrics)
from .base import (  # noqa: F401  (the registry is part of the package's interface)
    METRICS,
    Metric,
    MetricFn,
    Outcomes,
    get_metric,
    mean_outcomes,
    ratio_score,
    register_metric,
)


@register_metric(
    "acc", outcomes=mean_outcomes(("acc",), lambda refs, preds: [(int(p == g),) for p, g in zip(preds, refs)])
)
def accuracy(references: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Accuracy in percent, as ``evaluate.py``'s ``accuracy`` computes it."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not predictions:
        return float("nan")
    correct = sum([int(p == gold) for p, gold in zip(predictions, references)])
    return float(correct) / len(predictions) * 100


def compute(
    metric_list: list[dict[str, Any]],
    references: Sequence[Any],
    predictions: Sequence[Any],
    language: str | None = None,
) -> dict[str, float]:
    """All metrics of a task's ``metric_list``, flattened to ``name -> value``.

    Metrics whose function has a ``language`` parameter get the task's evaluated language.
    """
    scores: dict[str, float] = {}
    for entry in metric_list:
        metric = get_metric(entry["metric"])
        value = metric.fn(references, predictions, **_kwargs(entry, metric, language))
        if isinstance(value, dict):
            scores.update(value)
        else:
            scores[metric.name] = value
    return scores


def _kwargs(entry: dict[str, Any], metric: Metric, language: str | None) -> dict[str, Any]:
    kwargs = dict(entry.get("kwargs") or {})
    if metric.takes_language:
        kwargs.setdefault("language", language)
    return kwargs


def example_outcomes(
    metric_list: list[dict[str, Any]], references: Sequence[Any], predictions: Sequence[Any], language: str | None
) -> dict[str, list[float]] | None:
    """Per-example statistics of every metric of a task (``"metric:column" -> one value per example``).

    None when a metric has no ``Outcomes`` (a user's own metric) or the split is
    unlabelled (its score is NaN): a report then shows the score without an interval.
    """
    columns: dict[str, list[float]] = {}
    for entry in metric_list:
        metric = get_metric(entry["metric"])
        if metric.outcomes is None:
            return None
        rows = metric.outcomes.per_example(references, predictions, **_kwargs(entry, metric, language))
        if rows is None:
            return None
        for i, column in enumerate(metric.outcomes.columns):
            columns[f"{metric.name}:{column}"] = [row[i] for row in rows]
    return columns


def metrics_from_sums(
    metric_list: list[dict[str, Any]], sums: dict[str, np.ndarray], n: np.ndarray
) -> dict[str, np.ndarray]:
    """Each metric's values from column sums over ``n`` examples (arrays of any shape: one per resample)."""
    values: dict[str, np.ndarray] = {}
    for entry in metric_list:
        metric = get_metric(entry["metric"])
        assert metric.outcomes is not None
        stacked = np.stack([sums[f"{metric.name}:{c}"] for c in metric.outcomes.columns], axis=-1)
        values.update(metric.outcomes.combine(stacked, n))
    return values


def scorers(metric_list: list[dict[str, Any]]) -> dict[str, str]:
    """Which scorer each metric of a task followed, where the number depends on it (recorded per cell)."""
    out = {}
    for entry in metric_list:
        metric = get_metric(entry["metric"])
        if metric.scorer is not None:
            out[entry["metric"]] = metric.scorer(**(entry.get("kwargs") or {}))
    return out


def mean(values: Sequence[float]) -> float:
    """XTREME's macro average: ``sum / len`` over languages (or tasks)."""
    return sum(values) / len(values) if values else float("nan")


#: span-QA metrics; XTREME's QA task score is (avg EM + avg F1) / 2 (``evaluate.py``)
QA_METRICS = ("exact_match", "f1")
QA_SCORE = "em_f1_mean"


def headline(metrics: dict[str, float]) -> tuple[str, float, list[str]]:
    """One cell's score as XTREME ranks it, and the metrics a leaderboard shows for it.

    QA cells score (EM + F1) / 2, whose mean over languages is XTREME's QA task
    score, and show both EM and F1; other cells score and show their first metric.
    """
    if all(m in metrics for m in QA_METRICS):
        return QA_SCORE, (metrics["exact_match"] + metrics["f1"]) / 2, list(QA_METRICS)
    name = next(iter(metrics))
    return name, metrics[name], [name]


def task_score(records: Sequence[dict[str, Any]]) -> float:
    """A task's XTREME score from its per-language records, in ``evaluate.py``'s order of operations.

    QA: ``(mean EM + mean F1) / 2`` (not the mean of per-language halves, which
    can differ in the last digit); any other task: the mean of its scores.
    """
    if records and all(r["score_name"] == QA_SCORE for r in records):
        return (mean([r["metrics"]["exact_match"] for r in records]) + mean([r["metrics"]["f1"] for r in records])) / 2
    return mean([r["score"] for r in records])
