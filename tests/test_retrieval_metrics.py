"""Retrieval scorers against hand-computed answers, pinning google-research/xtreme's behaviour.

BUCC: ``utils_retrieve.bucc_optimize`` / ``bucc_extract`` and ``evaluate.py::bucc_f1``. mAP@20:
``utils_lareqa.average_precision_at_k`` (LAReQA) and ``utils_mewslix.mean_reciprocal_rank`` (Mewsli-X).
"""

from __future__ import annotations

import pytest

from harness.metrics import compute
from harness.metrics.retrieval import average_precision_at_k, best_threshold, bucc_f1, map_at_20


def pair(i: int, j: int) -> tuple[str, str]:
    return (f"de-{i}", f"en-{j}")


def predicted(candidates: dict[tuple[str, str], float], threshold: float) -> list[dict]:
    return [{"pair": "\t".join(p), "score": s, "threshold": threshold} for p, s in candidates.items()]


def refs(gold: set[tuple[str, str]]) -> list[str]:
    return ["\t".join(p) for p in sorted(gold)] + [None]


def test_threshold_moves_to_the_midpoint_after_each_f1_improvement() -> None:
    # best-first: 0.9 ok (F1 .4), 0.8 ok (F1 .667), 0.7 wrong (.571), 0.6 ok (F1 .75 best), 0.5 wrong (.667)
    candidates = {pair(1, 1): 0.9, pair(2, 2): 0.8, pair(3, 9): 0.7, pair(4, 4): 0.6, pair(6, 6): 0.5}
    gold = {pair(1, 1), pair(2, 2), pair(4, 4), pair(5, 5)}
    assert best_threshold(candidates, gold) == pytest.approx((0.6 + 0.5) / 2)
    scores = bucc_f1(refs(gold), predicted(candidates, 0.55))
    # kept: the four pairs >= 0.55, three of them gold; 3 of the 4 gold pairs found
    assert scores == {"f1": pytest.approx(75.0), "precision": 75.0, "recall": 75.0, "threshold": 0.55}


def test_tied_scores_are_extracted_together() -> None:
    # F1 peaks after the first of two equal scores; the midpoint equals the tie, and >= takes both
    candidates = {pair(1, 1): 0.8, pair(2, 9): 0.8, pair(3, 9): 0.5}
    gold = {pair(1, 1), pair(7, 7)}
    threshold = best_threshold(candidates, gold)
    assert threshold == 0.8
    assert bucc_f1(refs(gold), predicted(candidates, threshold))["f1"] == pytest.approx(50.0)


def test_no_correct_candidate_keeps_threshold_zero_and_scores_zero() -> None:
    candidates = {pair(1, 2): 0.9, pair(2, 1): 0.4}
    assert best_threshold(candidates, {pair(1, 1)}) == 0
    assert bucc_f1(refs({pair(1, 1)}), predicted(candidates, 0))["f1"] == 0


def test_best_f1_at_the_last_candidate_keeps_it() -> None:
    # The official loop reads items[i + 1] here and raises IndexError; the last score keeps every candidate.
    candidates = {pair(1, 9): 0.9, pair(2, 2): 0.3}
    assert best_threshold(candidates, {pair(2, 2)}) == 0.3


def test_bucc_f1_counts_each_pair_once_and_ignores_empty_predictions() -> None:
    gold = ["a\tx", "b\ty", None]
    preds = [{"pair": "a\tx", "score": 2.0, "threshold": 1.0}, {"pair": "a\tx", "score": 2.0, "threshold": 1.0}, None]
    assert bucc_f1(gold, preds)["f1"] == pytest.approx(2 * 1.0 * 0.5 / 1.5 * 100)


def test_average_precision_hand_computed() -> None:
    # hits at ranks 1 and 3 of 3 relevant: (1/1 + 2/3) / 3
    assert average_precision_at_k(["a", "b", "c"], ["a", "x", "b", "y"], 20) == pytest.approx((1 + 2 / 3) / 3)


def test_fewer_relevant_than_k_divides_by_the_relevant_count() -> None:
    assert average_precision_at_k(["a"], ["x", "a"], 20) == pytest.approx(0.5)


def test_more_relevant_than_k_divides_by_k() -> None:
    relevant = [f"r{i}" for i in range(25)]
    assert average_precision_at_k(relevant, relevant, 20) == pytest.approx(1.0)


def test_only_the_first_k_predictions_count_and_repeats_count_once() -> None:
    assert average_precision_at_k(["a"], ["x"] * 20 + ["a"], 20) == 0
    assert average_precision_at_k(["a", "b"], ["a", "a", "b"], 20) == pytest.approx((1 + 2 / 3) / 2)


def test_map_at_20_equals_mewslix_mrr_with_one_gold_entity() -> None:
    references = [["Q1"], ["Q2"], ["Q3"], ["Q4"]]
    predictions = [["Q1", "Q9"], ["Q9", "Q8", "Q2"], ["Q9"] * 20 + ["Q3"], []]  # ranks 1, 3, >20, missing
    mrr = (1 + 1 / 3 + 0 + 0) / 4 * 100
    assert map_at_20(references, predictions) == pytest.approx(mrr)
    assert compute([{"metric": "map@20"}], references, predictions) == {"map@20": pytest.approx(mrr)}
