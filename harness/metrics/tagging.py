"""Tagging metrics: seqeval span F1 as XTREME's ``evaluate.py`` computes it, and word accuracy.

XTREME scores both PAN-X and UD-POS with ``seqeval.metrics.f1_score(labels,
predictions)`` in its default (conlleval-compatible) mode, times 100. That mode
reads the first character of every tag as its chunk prefix, so POS tags are
scored as "entities" too: ``NOUN`` is prefix ``N`` with type ``OUN``, runs of
one tag merge into a single span, and ``INTJ``/``SCONJ`` act as ``I``/``S``
prefixes. The score is therefore not word accuracy even for POS; we call
seqeval itself rather than re-deriving those rules, and report ``token_acc``
beside it for POS.

Which seqeval matters for POS tags. Releases up to 0.0.13 (September 2020; 0.0.12
was current from June 2019) take a tag's type as the text after its last hyphen,
the whole tag when it has none (``CCONJ``); from 0.0.19 (October 2020) on it is the
text after the first character (``CONJ``), so gold ``CCONJ`` and predicted
``SCONJ`` are the same entity (100) under 1.x and different ones (0) under 0.0.12.
XTREME (March 2020; its install script runs an unpinned ``pip install seqeval``)
was published when 0.0.12 was current, so its UD-POS numbers followed the 0.0.12
rule; XTREME-R (2021) came after 1.x. PAN-X's ``B-``/``I-`` tags score the same
under both. The installed seqeval (1.x, matching evaluate.py run today) is the
default; ``version: "0.0.12"`` (``--seqeval 0.0.12``) applies the 0.0.12 rule,
written here because two seqeval releases cannot be installed side by side, with
seqeval's own chunk-boundary rules (unchanged between the two). Every tagging
record says which one scored it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..errors import SpecError
from .base import Outcomes, ratio_score, register_metric


def _sentence_spans(
    references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], version: str = "installed"
) -> list[tuple[int, int, int]]:
    """Per sentence: (correct spans, predicted spans, gold spans), from seqeval's own ``get_entities`` (or the
    0.0.12 rule's ``entities_0012``).

    seqeval scores a corpus by joining its sentences with an ``O`` between them,
    so no span crosses a sentence and the corpus counts are these counts' sums;
    both versions then divide the summed counts the same way.
    """
    from seqeval.metrics.sequence_labeling import get_entities

    _check(references, predictions)
    entities = (lambda tags: entities_0012([tags])) if version == SEQEVAL_0012 else get_entities
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for gold, pred in zip(references, predictions):
            true, found = set(entities(list(gold))), set(entities(list(pred)))
            rows.append((len(true & found), len(found), len(true)))
    return rows


def _seqeval_from_counts(sums: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    """Micro precision, recall and F1 (0-100) by seqeval's own division code, one value per row of counts."""
    from seqeval.metrics.v1 import _precision_recall_fscore_support

    flat = sums.reshape(-1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision, recall, f1, _ = _precision_recall_fscore_support(
            [[]],
            [[]],
            average=None,
            warn_for=(),
            extract_tp_actual_correct=lambda *_: (flat[:, 1], flat[:, 0], flat[:, 2]),
        )
    shape = sums.shape[:-1]
    return {"f1": f1.reshape(shape) * 100, "precision": precision.reshape(shape) * 100,
            "recall": recall.reshape(shape) * 100}  # fmt: skip


def _words(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    _check(references, predictions)
    return [(sum(p == g for p, g in zip(pred, gold)), len(gold)) for gold, pred in zip(references, predictions)]


def _token_acc_from_counts(sums: np.ndarray, n: np.ndarray) -> dict[str, np.ndarray]:
    correct, total = sums[..., 0], sums[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"token_acc": np.where(total > 0, correct / total * 100, np.nan)}


SPAN_OUTCOMES = Outcomes(("correct", "predicted", "gold"), _sentence_spans, _seqeval_from_counts, ratio_score)
WORD_OUTCOMES = Outcomes(("correct", "words"), _words, _token_acc_from_counts,
                         lambda s: np.where(s[..., 1] > 0, s[..., 0] / np.maximum(s[..., 1], 1), 1.0))  # fmt: skip


def _check(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> None:
    if len(references) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} sentences")
    for i, (gold, pred) in enumerate(zip(references, predictions)):
        if len(gold) != len(pred):
            raise ValueError(f"sentence {i}: {len(pred)} predicted tags for {len(gold)} words")


#: the seqeval release whose POS-tag rule ``version="0.0.12"`` reproduces
SEQEVAL_0012 = "0.0.12"


def seqeval_scorer(version: str = "installed") -> str:
    """The scorer a ``seqeval`` number followed, e.g. ``seqeval 1.2.2`` (recorded in every tagging record)."""
    from importlib.metadata import version as installed

    if version == SEQEVAL_0012:
        return f"seqeval {SEQEVAL_0012} rule (harness, with seqeval {installed('seqeval')}'s chunk boundaries)"
    return f"seqeval {installed('seqeval')}"


def entities_0012(sentences: Sequence[Sequence[str]]) -> set[tuple[str, int, int]]:
    """``get_entities`` of seqeval 0.0.12 (default, prefix mode): a tag's type is the text after its last
    hyphen (``NOUN`` -> ``NOUN``, ``B-PER`` -> ``PER``); the chunk boundaries are seqeval's own."""
    from seqeval.metrics.sequence_labeling import end_of_chunk, start_of_chunk

    flat = [tag for sentence in sentences for tag in [*sentence, "O"]]
    chunks, prev_tag, prev_type, begin = set(), "O", "", 0
    for i, chunk in enumerate([*flat, "O"]):
        tag, type_ = chunk[0], chunk.split("-")[-1]
        if end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.add((prev_type, begin, i - 1))
        if start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def _prf_0012(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> tuple[float, ...]:
    gold, found = entities_0012(references), entities_0012(predictions)
    correct = len(gold & found)
    p = correct / len(found) if found else 0
    r = correct / len(gold) if gold else 0
    return 2 * p * r / (p + r) if p + r > 0 else 0, p, r


@register_metric("seqeval", scorer=seqeval_scorer, outcomes=SPAN_OUTCOMES)
def seqeval_f1(
    references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]], version: str = "installed"
) -> dict[str, float]:
    """``f1``, ``precision``, ``recall`` (0-100) exactly as ``evaluate.py``'s ``f1`` returns them, with the
    installed seqeval or (``version="0.0.12"``) with seqeval 0.0.12's rule for tags without a hyphen."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    _check(references, predictions)
    labels = [list(s) for s in references]
    preds = [list(s) for s in predictions]
    if version == SEQEVAL_0012:
        f1, precision, recall = _prf_0012(labels, preds)
    elif version != "installed":
        raise SpecError(f"Metric 'seqeval': version is 'installed' or {SEQEVAL_0012!r}, not {version!r}.")
    else:
        with warnings.catch_warnings():  # "NOUN seems not to be NE tag", and 0/0 when nothing is predicted
            warnings.simplefilter("ignore")
            f1 = f1_score(labels, preds)
            precision = precision_score(labels, preds)
            recall = recall_score(labels, preds)
    return {"f1": float(f1 * 100), "precision": float(precision * 100), "recall": float(recall * 100)}


@register_metric("token_acc", outcomes=WORD_OUTCOMES)
def token_accuracy(references: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> float:
    """Share of words tagged correctly, over all words of all sentences (POS accuracy), 0-100."""
    _check(references, predictions)
    total = sum(len(s) for s in references)
    if not total:
        return float("nan")
    correct = sum(p == g for gold, pred in zip(references, predictions) for p, g in zip(pred, gold))
    return correct / total * 100
