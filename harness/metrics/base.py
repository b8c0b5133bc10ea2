"""The metric registry and what every metric module builds on (``Metric``, ``Outcomes``).

Apart from the package's ``__init__`` (which imports the metric modules to register them), so that a metric
module imports these without importing the package that imports it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

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


METRICS: dict[str, Metric] = {}


def register_metric(
    name: str,
    higher_is_better: bool = True,
    scorer: Callable[..., str] | None = None,
    outcomes: Outcomes | None = None,
) -> Callable[[MetricFn], MetricFn]:
    def wrap(fn: MetricFn) -> MetricFn:
        METRICS[name] = Metric(name, fn, higher_is_better, outcomes, scorer)
        return fn

    return wrap


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise SpecError(f"Unknown metric {name!r} in metric_list; known metrics: {', '.join(sorted(METRICS))}.")
    return METRICS[name]
