"""Tagging metrics: seqeval span F1 as XTREME's ``evaluate.py`` computes it, and word accuracy.

XTREME scores both PAN-X and UD-POS with ``seqeval.metrics.f1_score(labels,
predictions)`` in its default (conlleval-compatible) mode, times 100. That mode
reads the first character of every tag as its chunk prefix, so POS tags are
scored as "entities" too: ``NOUN`` is prefix ``N`` with type ``OUN``, runs of
one tag merge into a single span, and ``INTJ``/``SCONJ`` act as ``I``/``S``
prefixes. The score is therefore not word accuracy even for POS; we call
seqeval itself rather than re-deriving those rules, and report ``token_acc``
beside it for POS.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from . import register_metric


def _check(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> None:
    if len(references) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} sentences")
    for i, (gold, pred) in enumerate(zip(references, predictions)):
        if len(gold) != len(pred):
            raise ValueError(f"sentence {i}: {len(pred)} predicted tags for {len(gold)} words")


@register_metric("seqeval")
def seqeval_f1(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> dict[str, float]:
    """``f1``, ``precision``, ``recall`` (0-100) exactly as ``evaluate.py``'s ``f1`` returns them."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    _check(references, predictions)
    labels = [list(s) for s in references]
    preds = [list(s) for s in predictions]
    with warnings.catch_warnings():  # "NOUN seems not to be NE tag", and 0/0 when nothing is predicted
        warnings.simplefilter("ignore")
        f1 = f1_score(labels, preds)
        precision = precision_score(labels, preds)
        recall = recall_score(labels, preds)
    return {"f1": float(f1 * 100), "precision": float(precision * 100), "recall": float(recall * 100)}


@register_metric("token_acc")
def token_accuracy(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> float:
    """Share of words tagged correctly, over all words of all sentences (POS accuracy), 0-100."""
    _check(references, predictions)
    total = sum(len(s) for s in references)
    if not total:
        return float("nan")
    correct = sum(p == g for gold, pred in zip(references, predictions) for p, g in zip(pred, gold))
    return correct / total * 100
