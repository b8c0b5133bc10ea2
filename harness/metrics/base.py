"""The metric registry and what every metric module builds on (``Metric``, ``Outcomes``).

Apart from the package's ``__init__`` (which imports the metric modules to register them), so that a metric
module imports these without importing the package that imports it.
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
