"""Tagging scores as google-research/xtreme's evaluate.py computes them (seqeval, default mode, x100).

Every expected value below is worked out by hand from seqeval's chunking rules, including the quirks
XTREME inherits: I- tags start entities, POS tags are read as a one-letter prefix plus a type, and
sentences are joined with an "O" between them.
"""

from __future__ import annotations

import math

import pytest

from harness.metrics import compute, get_metric

seqeval = get_metric("seqeval").fn
token_acc = get_metric("token_acc").fn


def test_entity_f1_counts_exact_spans_only():
    # gold PER(0-1) LOC(3); predicted PER(0-1) ORG(3): 1 of 2 right each way
    scores = seqeval([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    assert scores == {"f1": 50.0, "precision": 50.0, "recall": 50.0}
    assert list(scores) == ["f1", "precision", "recall"]  # f1 first: it is the task's headline score


def test_precision_recall_and_f1_over_several_sentences():
    # gold: PER(0-1) LOC(2) | ORG(4); predicted: PER(0) LOC(2) | ORG(4) ORG(5) -> 2 right of 4 predicted, 3 gold
    gold = [["B-PER", "I-PER", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "B-LOC"], ["B-ORG", "B-ORG"]]
    scores = seqeval(gold, pred)
    precision, recall = 2 / 4, 2 / 3
    assert scores["precision"] == pytest.approx(50.0)
    assert scores["recall"] == pytest.approx(200 / 3)
    assert scores["f1"] == pytest.approx(2 * precision * recall / (precision + recall) * 100)


def test_an_i_tag_without_b_starts_an_entity():
    # default (non-strict) mode: O I-PER I-PER is the entity PER(1-2), the same as O B-PER I-PER
    assert seqeval([["O", "I-PER", "I-PER", "O"]], [["O", "B-PER", "I-PER", "O"]])["f1"] == 100.0
    # a type change inside a run splits it: B-PER I-ORG is PER(0) and ORG(1)
    assert seqeval([["B-PER", "B-ORG"]], [["B-PER", "I-ORG"]])["f1"] == 100.0


def test_entities_never_cross_sentences():
    # ["B-PER"], ["I-PER"] are two PER entities (an O is put between sentences), not one
    assert seqeval([["B-PER"], ["I-PER"]], [["B-PER"], ["B-PER"]])["f1"] == 100.0
    assert seqeval([["B-PER", "I-PER"]], [["B-PER", "B-PER"]])["f1"] == 0.0


def test_pos_tags_are_scored_as_entities_not_words():
    # NOUN = prefix N + type OUN; a run of equal tags is one span. gold OUN(0-1) ERB(2); predicted OUN(0) ERB(1-2)
    gold, pred = [["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]]
    assert seqeval(gold, pred)["f1"] == 0.0
    assert token_acc(gold, pred) == pytest.approx(200 / 3)


def test_sconj_reads_as_a_single_token_prefix():
    # SCONJ is prefix S (a one-token entity) with type CONJ, and CCONJ (prefix C) has the same type: after an
    # S chunk it opens no new chunk, so the prediction holds CONJ(0) and a dangling CONJ(0-1).
    # gold CONJ(0) CONJ(1); predicted CONJ(0) CONJ(0-1): 1 of 2 each way.
    assert seqeval([["SCONJ", "SCONJ"]], [["SCONJ", "CCONJ"]])["f1"] == 50.0


def test_nothing_predicted_or_nothing_to_find_scores_zero():
    assert seqeval([["B-PER"]], [["O"]])["f1"] == 0.0
    assert seqeval([["O", "O"]], [["O", "O"]])["f1"] == 0.0  # seqeval's 0/0 is 0, as in XTREME


def test_token_accuracy_counts_words_over_all_sentences():
    assert token_acc([["A", "B"], ["C"]], [["A", "X"], ["C"]]) == pytest.approx(200 / 3)
    assert math.isnan(token_acc([[]], [[]]))


def test_metric_list_flattens_to_named_scores():
    scores = compute([{"metric": "seqeval"}, {"metric": "token_acc"}], [["NOUN", "VERB"]], [["NOUN", "VERB"]])
    assert scores == {"f1": 100.0, "precision": 100.0, "recall": 100.0, "token_acc": 100.0}


def test_misaligned_predictions_are_an_error():
    with pytest.raises(ValueError, match="2 predicted tags for 3 words"):
        seqeval([["O", "O", "O"]], [["O", "O"]])
    with pytest.raises(ValueError, match="1 predictions for 2 sentences"):
        token_acc([["O"], ["O"]], [["O"]])
