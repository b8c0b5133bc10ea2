"""From result records to estimates: every score and comparison with its interval and test.

A *cell* here is one table row's setting (task family, intermediate,
condition, ...) in one language; its records are its training seeds. A
*contrast* combines cells: a score, a difference (intermediate vs none, clean
vs noisy), the difference in drop, a relative drop. ``Analysis.estimate``
computes a contrast for one language or for the mean over languages: the point
value from the records' official scores, the interval and the paired test from
the per-example outcomes stored beside the records (``CellStore.outcomes``),
joined on example ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import HarnessError
from .metrics import QA_SCORE, Metric, get_metric, metrics_from_sums
from .results import CellStore
from .stats import Combine, Estimate, Stratum, adjust, interval, point, randomisation_test, worst_case
from .tables import Table

Key = tuple[str, ...]  # (family, metric, *setting values)


def direction(record: dict[str, Any]) -> int:
    """+1 when higher scores are better, −1 when lower are: the ``higher_is_better`` of the record's metrics."""
    return -1 if (record.get("higher_is_better") or {}) and not any(record["higher_is_better"].values()) else 1


def metric_value(record: dict[str, Any], metric: str) -> float:
    return float(record["metrics"].get(metric, record["score"] if metric == record["score_name"] else np.nan))


def _metrics(record: dict[str, Any]) -> list[Metric] | None:
    """The record's metrics as this process knows them; None when one is not (a plugin's, not loaded here)."""
    try:
        return [get_metric(entry["metric"]) for entry in record["spec"]["metric_list"]]
    except HarnessError:
        return None


@dataclass
class Analysis:
    """Estimates over a set of records; outcomes are read once per record and kept."""

    store: CellStore | None
    seed: int = 0
    resamples: int = 1000
    correction: str = "holm"
    notes: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    _outcomes: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def outcomes(self, record: dict[str, Any]) -> dict[str, Any] | None:
        key = record.get("key")
        if self.store is None or not key:
            return None
        if key not in self._outcomes:
            known = not record.get("outcomes") or _metrics(record) is not None
            self._outcomes[key] = self.store.outcomes(key) if record.get("outcomes") and known else None
            if not known:
                self.notes.append(f"{record['family']}: a metric of its spec is not known to this process (a plugin "
                                  f"not loaded here?): its numbers have no interval or test.")  # fmt: skip
            elif self._outcomes[key] is None:
                self.missing.add(key)
        return self._outcomes[key]

    def notes_table(self) -> Table | None:
        """What the numbers above could not include, said once (None when nothing)."""
        notes = list(dict.fromkeys(self.notes))
        if self.missing:
            notes.append(f"{len(self.missing)} record(s) have no per-example outcomes (written before outcomes were "
                         f"kept, a metric without them, an unlabelled split, or a missing outcomes file): their "
                         f"numbers have no interval or test. Re-run with --no-resume to add them.")  # fmt: skip
        if not notes:
            return None
        return Table("Notes", ["note"], [[n] for n in notes], label_columns=1)

    def score_fn(self, record: dict[str, Any], metric: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        metric_list = record["spec"]["metric_list"]
        columns = sorted(record["outcomes"])

        def score(sums: np.ndarray, n: np.ndarray) -> np.ndarray:
            values = metrics_from_sums(metric_list, {c: sums[..., i] for i, c in enumerate(columns)}, n)
            if metric == QA_SCORE:
                return (values["exact_match"] + values["f1"]) / 2
            return values[metric]

        return score

    def stratum(self, cells: Sequence[Sequence[dict[str, Any]]], metric: str) -> Stratum | None:
        """One language: each cell's seeds' outcomes on the examples every cell and seed has, or None when some
        record has no outcomes (a user's own metric, an unlabelled split, records from before outcomes)."""
        loaded = [[o for r in seeds if (o := self.outcomes(r)) is not None] for seeds in cells]
        if any(len(o) < len(s) for o, s in zip(loaded, cells)) or len({len(s) for s in cells}) != 1:
            return None
        first = loaded[0][0]
        common = set(first["id"])
        for seeds in loaded:
            for o in seeds:
                common &= set(o["id"])
        ids = [i for i in first["id"] if i in common]
        if len(ids) < max(len(o["id"]) for seeds in loaded for o in seeds):
            self.notes.append(f"{cells[0][0]['task']}: compared on the {len(ids)} examples every compared cell has.")
        columns = sorted(cells[0][0]["outcomes"])
        arrays = []
        for seeds in loaded:
            per_seed = []
            for o in seeds:
                assert o is not None
                row = {i: n for n, i in enumerate(o["id"])}
                take = [row[i] for i in ids]
                per_seed.append(np.array([o["columns"][c] for c in columns], dtype=float).T[take])
            arrays.append(np.stack(per_seed))
        return Stratum(arrays, self.score_fn(cells[0][0], metric))

    def estimate(
        self,
        cells: Sequence[dict[str, list[dict[str, Any]]]],
        metric: str,
        languages: Sequence[str],
        combine: Combine,
        sides: int = 0,
    ) -> Estimate | None:
        """``combine`` of the cells' scores (each cell: language → its seeds' records) over ``languages``.

        ``sides`` > 0 makes it a paired comparison of ``cells[:sides]`` against
        ``cells[sides:]``, tested by approximate randomisation.
        """
        languages = [lang for lang in languages if all(lang in c for c in cells)]
        if not languages:
            return None
        seeds = {len(c[lang]) for c in cells for lang in languages}
        if len(seeds) != 1:
            return None
        values = np.array([[[metric_value(r, metric) for r in c[lang]] for c in cells] for lang in languages])
        value, std = point(values.transpose(0, 2, 1), combine)
        estimate = Estimate(value, std=std, seeds=seeds.pop())
        strata = [self.stratum([c[lang] for c in cells], metric) for lang in languages]
        if all(s is not None for s in strata) and self.resamples > 0:
            ready = [s for s in strata if s is not None]
            estimate.low, estimate.high = interval(ready, combine, self.seed, self.resamples)
            if sides:
                estimate.p = randomisation_test(ready, sides, combine, self.seed, self.resamples)
        return estimate

    def worst(
        self, conditions: Sequence[dict[str, list[dict[str, Any]]]], metric: str, languages: Sequence[str]
    ) -> Estimate | None:
        """HELM's worst case over ``conditions`` (clean first): each example scored by its worst condition."""
        languages = [lang for lang in languages if all(lang in c for c in conditions)]
        if not languages:
            return None
        per_language, strata = [], []
        for lang in languages:
            stratum = self.stratum([c[lang] for c in conditions], metric)
            if stratum is None:
                return None
            record = conditions[0][lang][0]
            outcomes = self._decomposition(record)
            higher = direction(record) > 0
            cells = np.stack(stratum.cells)
            rows = worst_case(cells, outcomes, higher)
            strata.append(Stratum([rows], stratum.score))
            n = np.full(rows.shape[0], rows.shape[1])
            per_language.append(stratum.score(rows.sum(axis=1), n))
        values = np.array(per_language)[:, :, None]  # (languages, seeds, 1)
        value, std = point(values, lambda v: v[..., 0])
        estimate = Estimate(value, std=std, seeds=values.shape[1])
        if self.resamples > 0:
            estimate.low, estimate.high = interval(strata, lambda v: v[..., 0], self.seed, self.resamples)
        return estimate

    @staticmethod
    def _decomposition(record: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray] | None:
        """The per-example score that ranks conditions for the worst case, over all of a record's columns."""
        columns = sorted(record["outcomes"])
        scorers = []
        for metric in _metrics(record) or []:
            outcomes = metric.outcomes
            if outcomes is None or outcomes.example_score is None:
                continue
            at = [columns.index(f"{metric.name}:{c}") for c in outcomes.columns]
            scorers.append((at, outcomes.example_score))
        if not scorers:
            return None
        at, score = scorers[0]
        return lambda stats: score(stats[..., at])

    def correct(self, estimates: Sequence[Estimate]) -> int:
        """Adjust the p-values of one table's comparisons together; marks the significant ones; returns how many."""
        tested = [e for e in estimates if not np.isnan(e.p)]
        for e, p in zip(tested, adjust([e.p for e in tested], self.correction)):
            e.p_adjusted = float(p)
            e.significant = bool(p < 0.05)
        return len(tested)
