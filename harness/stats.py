"""Intervals and paired tests computed from per-example outcomes, never from aggregates.

The data of one statistic is a list of *strata* (languages). A stratum holds,
for each compared *cell* (a model under a condition), an array of per-example
statistics of shape ``(seeds, examples, columns)`` with rows aligned on example
ids across cells and seeds, and the metric's ``score(sums, n)`` (see
``harness.metrics.Outcomes``): every resample recomputes the metric from summed
statistics with the scorer's arithmetic, so seqeval's span F1 or BUCC's F1 is
re-derived, not averaged.

A statistic is ``combine(values)`` over the cells' values (``values[..., c]``):
a score (one cell), a difference (two), the difference in drop (four), a
relative drop. Over languages it is ``combine`` of the cells' mean over
languages, which for a linear ``combine`` is the mean of per-language values
(XTREME's macro average).

- Intervals: ``scipy.stats.bootstrap`` (percentile) with one sample of example
  indices per language, so examples are resampled within languages and all
  compared cells share the resample (paired); with several training seeds one
  more sample of seed indices, so the interval covers seeds and examples
  together. scipy draws from one seeded generator: a report is reproducible.
- Tests: paired approximate randomisation (``scipy.stats.permutation_test``'s
  p-value, vectorised here): each example's outcomes swap sides (all its
  conditions and seeds together) with probability one half.
- Multiple comparisons: Holm (step-down, controls the family-wise error) or
  Benjamini–Hochberg (``scipy.stats.false_discovery_control``).

scipy's bootstrap is used on *index arrays* rather than on the statistics
themselves because the statistic is not a function of one array of numbers: it
sums several columns per cell, recombines them non-linearly per language, then
averages languages.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Score = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (column sums (..., k), example counts (...)) -> values (...)
Combine = Callable[[np.ndarray], np.ndarray]  # cell values (..., cells) -> statistic (...)

CORRECTIONS = ("holm", "bh", "none")
CORRECTION_NAMES = {"holm": "Holm–Bonferroni", "bh": "Benjamini–Hochberg", "none": "no correction"}


@dataclass
class Stratum:
    """One language: per cell a ``(seeds, examples, columns)`` array, rows aligned on example ids."""

    cells: list[np.ndarray]
    score: Score

    @property
    def n(self) -> int:
        return self.cells[0].shape[1]

    @property
    def seeds(self) -> int:
        return self.cells[0].shape[0]

    def values(self, counts: np.ndarray) -> np.ndarray:
        """Each cell's score per resample and seed: ``counts`` (resamples, examples) → (resamples, seeds, cells)."""
        out = []
        for cell in self.cells:
            out.append(self.score(_weighted_sums(counts, cell), counts.sum(axis=1)[:, None]))
        return np.stack(out, axis=-1)


def _weighted_sums(weights: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """``weights`` (rows, examples) times a cell's (seeds, examples, columns) → (rows, seeds, columns), as one
    matrix product (einsum would loop)."""
    seeds, n, k = cell.shape
    return (weights @ cell.transpose(1, 0, 2).reshape(n, seeds * k)).reshape(-1, seeds, k)


@dataclass
class Estimate:
    """A number with its 95% interval, its spread over seeds, and (for a comparison) its test."""

    value: float
    low: float = float("nan")
    high: float = float("nan")
    std: float = float("nan")  # over training seeds (nan with one seed)
    seeds: int = 1
    p: float = float("nan")  # approximate randomisation, two-sided
    p_adjusted: float = float("nan")
    significant: bool = False

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def to_dict(self) -> dict[str, float | int | bool | list[float] | None]:
        clean = lambda x: None if x is None or np.isnan(x) else float(x)  # noqa: E731
        out: dict[str, float | int | bool | list[float] | None] = {"value": clean(self.value)}
        if not np.isnan(self.low):
            out["ci95"] = [float(self.low), float(self.high)]
        if self.seeds > 1:
            out.update(std=clean(self.std), seeds=self.seeds)
        if not np.isnan(self.p):
            out.update(p=float(self.p), p_adjusted=clean(self.p_adjusted), significant=self.significant)
        return out


def _counts(indices: np.ndarray, n: int) -> np.ndarray:
    """Resampled example indices (resamples, n) → how often each example was drawn (resamples, n)."""
    rows = indices.shape[0]
    flat = (indices + n * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)


def _seed_weights(indices: np.ndarray, seeds: int) -> np.ndarray:
    return _counts(indices, seeds) / seeds


def statistic_of(strata: Sequence[Stratum], combine: Combine, per_language: bool) -> Callable[..., np.ndarray]:
    """The resampled statistic as scipy's vectorised resamplers call it: index arrays in, one value per row out.

    With several seeds the first sample is the seed indices; then one sample of example indices per stratum.
    """
    seeds = strata[0].seeds

    def statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        samples = tuple(np.atleast_2d(s) for s in samples)
        weights = _seed_weights(samples[0], seeds) if seeds > 1 else np.ones((samples[0].shape[0], 1))
        per_stratum = [st.values(_counts(idx, st.n)) for st, idx in zip(strata, samples[1:] if seeds > 1 else samples)]
        means = np.stack([np.einsum("bsc,bs->bc", v, weights) for v in per_stratum], axis=1)  # (rows, strata, cells)
        return combine(means[:, 0, :]) if per_language else combine(means.mean(axis=1))

    return statistic


def point(strata_values: np.ndarray, combine: Combine) -> tuple[float, float]:
    """The statistic on the official per-(language, seed, cell) scores, and its standard deviation over seeds.

    ``strata_values``: (languages, seeds, cells).
    """
    value = float(combine(strata_values.mean(axis=(0, 1))))
    if strata_values.shape[1] < 2:
        return value, float("nan")
    per_seed = [float(combine(strata_values[:, s, :].mean(axis=0))) for s in range(strata_values.shape[1])]
    return value, float(np.std(per_seed, ddof=1))


def interval(
    strata: Sequence[Stratum], combine: Combine, seed: int, resamples: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``combine`` of the cells' mean over ``strata`` (one stratum: a language)."""
    if any(st.n == 0 for st in strata):
        return float("nan"), float("nan")
    from scipy import stats as scipy_stats  # here: it takes a second to import

    samples = [np.arange(st.n) for st in strata]
    if strata[0].seeds > 1:
        samples = [np.arange(strata[0].seeds), *samples]
    with warnings.catch_warnings():  # a resample distribution with one value (a constant model) is fine here
        warnings.simplefilter("ignore")
        result = scipy_stats.bootstrap(
            samples, statistic_of(strata, combine, per_language=len(strata) == 1), vectorized=True,
            n_resamples=resamples, confidence_level=level, method="percentile", random_state=np.random.default_rng(seed),
            batch=max(1, 2_000_000 // max(1, sum(st.n for st in strata))),
        )  # fmt: skip
    low, high = result.confidence_interval
    return float(low), float(high)


def randomisation_test(strata: Sequence[Stratum], sides: int, combine: Combine, seed: int, resamples: int) -> float:
    """Two-sided p-value of ``combine`` (of the cells' mean over strata) under paired approximate randomisation.

    The cells of each stratum form two sides of equal size (``cells[:sides]``
    against ``cells[sides:]``, e.g. [with-clean, with-noisy] against
    [none-clean, none-noisy]); under the null hypothesis each example's
    outcomes are exchangeable between the sides, so a permutation swaps all of
    one example's cells of side A with side B's, in every seed at once.

    The p-value is ``scipy.stats.permutation_test``'s (two-sided: twice the
    smaller tail, with the +1 correction of a randomised test; every
    permutation when there are no more of them than ``resamples``), but the
    swap masks are drawn and scored all at once: scipy's paired permutations
    loop over resamples in Python, 50 times slower on a 15-language grid.
    """
    sizes = [st.n for st in strata]
    total = sum(sizes)
    if total == 0:
        return float("nan")
    offsets = np.cumsum([0, *sizes])

    def statistic(swapped: np.ndarray) -> np.ndarray:
        means = []
        for st, start, end in zip(strata, offsets[:-1], offsets[1:]):
            mask = swapped[:, start:end].astype(float)
            cells = []
            for c, cell in enumerate(st.cells):
                other = st.cells[(c + sides) % (2 * sides)]
                sums = cell.sum(axis=1)[None] + _weighted_sums(mask, other - cell)
                cells.append(st.score(sums, np.full(sums.shape[:-1], st.n)).mean(axis=1))
            means.append(np.stack(cells, axis=-1))
        return combine(np.mean(means, axis=0))

    observed = float(statistic(np.zeros((1, total), dtype=bool))[0])
    exact = total < 63 and 2**total <= resamples
    if exact:
        every = np.arange(2**total)[:, None] >> np.arange(total)
        batches: list[np.ndarray] = [(every[i : i + 4096] & 1).astype(bool) for i in range(0, len(every), 4096)]
    else:
        rng = np.random.default_rng(seed)
        step = max(1, 2_000_000 // total)
        batches = [rng.random((min(step, resamples - i), total)) < 0.5 for i in range(0, resamples, step)]
    null = np.concatenate([statistic(b) for b in batches])
    gamma = abs(observed) * 1e-14  # scipy's tolerance for ties in floating point
    adjustment = 0 if exact else 1
    less = (np.sum(null <= observed + gamma) + adjustment) / (len(null) + adjustment)
    greater = (np.sum(null >= observed - gamma) + adjustment) / (len(null) + adjustment)
    return float(min(1.0, 2 * min(less, greater)))


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: the k-th smallest times (m − k + 1), kept monotone, capped at 1."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def adjust(pvalues: Sequence[float], method: str) -> np.ndarray:
    """Adjusted p-values for a family of comparisons (NaN entries, untested, stay NaN and do not count)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), np.nan)
    tested = ~np.isnan(p)
    if not tested.any():
        return out
    if method == "holm":
        out[tested] = holm(p[tested])
    elif method == "bh":
        from scipy import stats as scipy_stats

        out[tested] = scipy_stats.false_discovery_control(p[tested], method="bh")
    else:
        out[tested] = p[tested]
    return out


def worst_case(cells: np.ndarray, example_score: Callable[[np.ndarray], np.ndarray] | None, higher: bool) -> np.ndarray:
    """HELM's worst case per example over conditions: ``cells`` (conditions, seeds, examples, columns) → one row
    per (seed, example) from the condition that did worst on it, or, without an ``example_score``, each
    column's worst value (an accuracy example counts as correct only if correct under every condition)."""
    if example_score is None:
        return cells.min(axis=0) if higher else cells.max(axis=0)
    scores = example_score(cells)  # (conditions, seeds, examples)
    pick = scores.argmin(axis=0) if higher else scores.argmax(axis=0)
    return np.take_along_axis(cells, pick[None, ..., None], axis=0)[0]
