"""Retrieval metrics as google-research/xtreme computes them: BUCC F1 (threshold tuned on dev), mAP@k.

Tatoeba is plain accuracy (``acc``) of the retrieved sentence. BUCC follows
``third_party/utils_retrieve.py`` (``bucc_optimize``, ``bucc_extract``) and
``evaluate.py::bucc_f1``; mAP@20 follows ``third_party/utils_lareqa.py::average_precision_at_k`` (LAReQA),
which for Mewsli-X's single gold entity equals ``utils_mewslix.evaluate``'s MRR@20.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import SpecError
from .base import Outcomes, mean_outcomes, ratio_score, register_metric


def best_threshold(candidates: Mapping[tuple[str, str], float], gold: set[tuple[str, str]]) -> float:
    """The score threshold with the best F1 on ``gold``, searched as ``bucc_optimize`` does.

    Candidates are taken best-first (equal scores in their given order); each time F1 improves, the
    threshold moves to the midpoint between this score and the next one. Quirks kept: with no correct
    candidate the threshold stays 0; equal scores give a midpoint equal to them, so extraction (``>=``)
    takes the whole tie. Where the best F1 is reached at the very last candidate, the official loop
    reads past the end of the list (an IndexError); here the threshold is then that last score.
    """
    items = sorted(candidates.items(), key=lambda item: -item[1])
    extracted = correct = 0
    threshold = best_f1 = 0.0
    for i, (pair, score) in enumerate(items):
        extracted += 1
        correct += pair in gold
        if correct > 0:
            precision, recall = correct / extracted, correct / len(gold)
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                threshold = (score + items[i + 1][1]) / 2 if i + 1 < len(items) else score
    return threshold


def _bucc_scores(gold: set[Any], predicted: set[Any]) -> dict[str, float]:
    correct = len(gold & predicted)
    if correct > 0:
        precision, recall = correct / len(predicted), correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


def _kept(prediction: Mapping[str, Any] | None) -> tuple[str, str] | None:
    if prediction and prediction.get("pair") and prediction["score"] >= prediction["threshold"]:
        return tuple(prediction["pair"].split("\t"))
    return None


def _bucc_rows(
    references: Sequence[str | None], predictions: Sequence[Mapping[str, Any] | None]
) -> list[tuple[int, int, int]]:
    """Per source sentence: (its extracted pair is gold, it has an extracted pair, it has a gold pair).

    The sums are ``bucc_f1``'s counts: each sentence mines at most one pair, so
    the extracted set has one pair per sentence that kept one.
    """
    gold = {tuple(r.split("\t")) for r in references if r}
    rows = []
    for reference, prediction in zip(references, predictions):
        pair = _kept(prediction)
        rows.append((int(pair is not None and pair in gold), int(pair is not None), int(bool(reference))))
    return rows


def _bucc_from_counts(sums: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """``_bucc_scores``' arithmetic on count sums: 0 when nothing extracted is correct."""
    correct, predicted, gold = sums[..., 0], sums[..., 1], sums[..., 2]
    some = correct > 0
    precision = np.where(some, correct / np.where(some, predicted, 1), 0.0)
    recall = np.where(some, correct / np.where(some, gold, 1), 0.0)
    f1 = np.where(some, 2 * precision * recall / np.where(some, precision + recall, 1), 0.0)
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


@register_metric(
    "bucc_f1", outcomes=Outcomes(("correct", "predicted", "gold"), _bucc_rows, _bucc_from_counts, ratio_score)
)
def bucc_f1(references: Sequence[str | None], predictions: Sequence[Mapping[str, Any] | None]) -> dict[str, float]:
    """F1 of mined sentence pairs (``evaluate.py::bucc_f1``), after the dev-tuned threshold.

    A reference is a gold pair ``"src_id\\ttgt_id"`` (None for sentences outside the gold); a prediction
    is the pair mined for that sentence with its margin score and the threshold chosen on the dev split:
    ``{"pair", "score", "threshold"}`` (None when nothing was mined). Pairs scoring at least the
    threshold are extracted, as ``bucc_extract`` does.
    """
    gold = {tuple(r.split("\t")) for r in references if r}
    scores = _bucc_scores(gold, {pair for p in predictions if (pair := _kept(p))})
    thresholds = {p["threshold"] for p in predictions if p}
    if thresholds:
        scores["threshold"] = thresholds.pop()
    return scores


def average_precision_at_k(relevant: Sequence[Any], ranked: Sequence[Any], k: int | None) -> float:
    """AP@k of one query (``utils_lareqa.average_precision_at_k``).

    Only the first ``k`` predictions count, a repeated prediction counts once, and the sum is divided by
    ``min(len(relevant), k)``: a query with fewer than ``k`` relevant items can still reach 1.
    """
    if k:
        ranked = list(ranked)[:k]
    targets = set(relevant)
    score = hits = 0.0
    for i, item in enumerate(ranked):
        if item in targets and item not in ranked[:i]:
            hits += 1.0
            score += hits / (i + 1.0)
    if not targets:  # the official scorer divides by zero here; a query with nothing relevant scores 0
        return 0.0
    return score / (min(len(targets), k) if k else len(targets))


def _ap20(references: Sequence[Sequence[Any]], predictions: Sequence[Sequence[Any]], **_: Any) -> list[tuple[float]]:
    """Each query's AP@20 (the summation ``reduction`` only matters for the mean, which a report redoes)."""
    return [(average_precision_at_k(gold, ranked or [], 20),) for gold, ranked in zip(references, predictions)]


@register_metric("map@20", outcomes=mean_outcomes(("map@20",), _ap20))
def map_at_20(
    references: Sequence[Sequence[Any]], predictions: Sequence[Sequence[Any]], reduction: str = "sum"
) -> float:
    """Mean AP@20 in percent (LAReQA's mAP@20; Mewsli-X's MRR@20 with its single gold entity).

    ``reduction`` is the official scorer's mean over queries: ``sum`` divides Python's running sum by the
    count (``utils_mewslix.mean_reciprocal_rank``), ``numpy`` is ``numpy.mean`` with its pairwise summation
    (``utils_lareqa.mean_avg_prec_at_k``); they can differ in the last digits.
    """
    return mean_average_precision(references, predictions, k=20, reduction=reduction)


def mean_average_precision(
    references: Sequence[Sequence[Any]], predictions: Sequence[Sequence[Any]], k: int, reduction: str = "sum"
) -> float:
    if len(references) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if reduction not in ("sum", "numpy"):
        raise SpecError(f"Metric 'map@20': reduction is 'sum' (Mewsli-X) or 'numpy' (LAReQA), not {reduction!r}.")
    if not references:
        return float("nan")
    scores = [average_precision_at_k(gold, ranked or [], k) for gold, ranked in zip(references, predictions)]
    if reduction == "numpy":
        import numpy

        return float(numpy.mean(scores)) * 100
    return sum(scores) / len(scores) * 100
