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

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..plugins import Registry

MetricFn = Callable[..., "float | dict[str, float]"]


@dataclass(frozen=True)
class Outcomes:
    """A corpus metric as per-example statistics whose sums over any multiset of examples give the metric.

    ``per_example(references, predictions, **kwargs)`` gives one row of
    ``columns`` per example, computed by the scorer's own code; ``combine(sums,
    n)`` turns column sums (shape ``(..., len(columns))``) over ``n`` examples
    into the metric's named values with the scorer's arithmetic, vectorised.
    ``example_score`` ranks one example's row for HELM's worst case (which
    condition was worst for it); without it every column is its own per-example
    score and the worst case takes each column's minimum.
    """

    columns: tuple[str, ...]
    per_example: Callable[..., Sequence[Sequence[float]] | None]
    combine: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]
    example_score: Callable[[np.ndarray], np.ndarray] | None = None


def mean_outcomes(names: tuple[str, ...], per_example: Callable[..., Sequence[Sequence[float]] | None]) -> Outcomes:
    """Outcomes of a metric that is 100 × the mean of per-example values (accuracy, EM, F1, mAP)."""
    return Outcomes(names, per_example, lambda sums, n: {m: sums[..., i] / n * 100 for i, m in enumerate(names)})


def ratio_score(stats: np.ndarray) -> np.ndarray:
    """An example's ``2·hits / (predicted + gold)`` (1 when it has neither): its share of a span/pair F1."""
    hits, predicted, gold = stats[..., 0], stats[..., 1], stats[..., 2]
    total = predicted + gold
    return np.where(total > 0, 2 * hits / np.where(total > 0, total, 1), 1.0)


@dataclass(frozen=True)
class Metric:
    name: str
    fn: MetricFn
    higher_is_better: bool = True
    outcomes: Outcomes | None = None
    #: the scorer a metric follows where the number depends on it (seqeval's release), given its kwargs
    scorer: Callable[..., str] | None = None

    @property
    def takes_language(self) -> bool:
        """Whether ``fn`` wants the task's language (MLQA normalises answers per language)."""
        return "language" in inspect.signature(self.fn).parameters


def _metric(obj: Any) -> Metric:
    """A metric named by dotted path or ``!function``: a registered one, or a plain function (no outcomes: its
    scores get no interval)."""
    if isinstance(obj, Metric):
        return obj
    if not callable(obj):
        raise TypeError("a metric is a function metric(references, predictions, **kwargs) -> float | dict")
    return Metric(obj.__name__, obj)


#: the metrics a spec's ``metric_list`` names; a plugin adds one with ``@register_metric("name")``
METRICS: Registry[Metric] = Registry("metric", convert=_metric)


def register_metric(
    name: str,
    higher_is_better: bool = True,
    scorer: Callable[..., str] | None = None,
    outcomes: Outcomes | None = None,
) -> Callable[[MetricFn], MetricFn]:
    def wrap(fn: MetricFn) -> MetricFn:
        METRICS.add(name, Metric(name, fn, higher_is_better, outcomes, scorer), defined_by=fn)
        return fn

    return wrap


def get_metric(name: Any, where: str = "") -> Metric:
    """The metric a ``metric_list`` entry names: a registered name, a dotted path or a ``!function`` hook."""
    return METRICS.resolve(name, where)


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


# Importing the modules registers their metrics.
from . import retrieval, squad, tagging  # noqa: E402,F401
