"""Metrics, registered by name and computed exactly as the official XTREME scorers do.

A metric takes the gold references and the predictions of one task/language and
returns a number (or a dict of named numbers, e.g. SQuAD's ``exact_match`` and
``f1``) on XTREME's 0-100 scale. Keeping the scorer's arithmetic (same order of
operations, same normalisation) is what makes our numbers match
google-research/xtreme's ``evaluate.py`` digit for digit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError

MetricFn = Callable[..., "float | dict[str, float]"]


@dataclass(frozen=True)
class Metric:
    name: str
    fn: MetricFn
    higher_is_better: bool = True
    #: the scorer a metric follows where the number depends on it (seqeval's release), given its kwargs
    scorer: Callable[..., str] | None = None

    @property
    def takes_language(self) -> bool:
        """Whether ``fn`` wants the task's language (MLQA normalises answers per language)."""
        return "language" in inspect.signature(self.fn).parameters


METRICS: dict[str, Metric] = {}


def register_metric(
    name: str, higher_is_better: bool = True, scorer: Callable[..., str] | None = None
) -> Callable[[MetricFn], MetricFn]:
    def wrap(fn: MetricFn) -> MetricFn:
        METRICS[name] = Metric(name, fn, higher_is_better, scorer)
        return fn

    return wrap


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise SpecError(f"Unknown metric {name!r} in metric_list; known metrics: {', '.join(sorted(METRICS))}.")
    return METRICS[name]


@register_metric("acc")
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
        kwargs = dict(entry.get("kwargs") or {})
        metric = get_metric(entry["metric"])
        if metric.takes_language:
            kwargs.setdefault("language", language)
        value = metric.fn(references, predictions, **kwargs)
        if isinstance(value, dict):
            scores.update(value)
        else:
            scores[entry["metric"]] = value
    return scores


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
