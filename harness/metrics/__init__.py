"""Metrics, registered by name and computed exactly as the official XTREME scorers do.

A metric takes the gold references and the predictions of one task/language and
returns a number (or a dict of named numbers, e.g. SQuAD's ``exact_match`` and
``f1``) on XTREME's 0-100 scale. Keeping the scorer's arithmetic (same order of
operations, same normalisation) is what makes our numbers match
google-research/xtreme's ``evaluate.py`` digit for digit.
"""

from __future__ import annotations

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


METRICS: dict[str, Metric] = {}


def register_metric(name: str, higher_is_better: bool = True) -> Callable[[MetricFn], MetricFn]:
    def wrap(fn: MetricFn) -> MetricFn:
        METRICS[name] = Metric(name, fn, higher_is_better)
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
    metric_list: list[dict[str, Any]], references: Sequence[Any], predictions: Sequence[Any]
) -> dict[str, float]:
    """All metrics of a task's ``metric_list``, flattened to ``name -> value``."""
    scores: dict[str, float] = {}
    for entry in metric_list:
        kwargs = dict(entry.get("kwargs") or {})
        value = get_metric(entry["metric"]).fn(references, predictions, **kwargs)
        if isinstance(value, dict):
            scores.update(value)
        else:
            scores[entry["metric"]] = value
    return scores


def mean(values: Sequence[float]) -> float:
    """XTREME's macro average: ``sum / len`` over languages (or tasks)."""
    return sum(values) / len(values) if values else float("nan")


# Importing the modules registers their metrics.
from . import retrieval, tagging  # noqa: E402,F401
