"""Span-QA EM and F1, computed exactly as the official scorers compute them.

- ``squad``: SQuAD v1.1's scorer, which google-research/xtreme uses for XQuAD and
  TyDiQA-GoldP (``third_party/evaluate_squad.py``): lower-case, drop ASCII
  punctuation, drop English articles, collapse whitespace; bag-of-tokens F1.
- ``mlqa``: MLQA's scorer (``third_party/evaluate_mlqa.py``): the same steps with
  every Unicode punctuation mark, the answer language's articles, and for Chinese
  one token per CJK character.
- ``squad_v2``: SQuAD v2.0's scorer (``evaluate-v2.0.py``), where an unanswerable
  question's only correct answer is the empty string.

References are the gold answer texts of each question (a list); predictions are
answer strings. Both EM and F1 take the best gold answer per question, sum over
questions in order and scale to 100 at the end, as the scorers do, so the
numbers agree to the last digit. Quirks kept on purpose (and pinned by tests):

- v1.1 and MLQA score an empty prediction with F1 0 even when the gold answer
  normalises to nothing (then EM is 1): ``f1`` returns 0 before comparing
  empty token lists;
- MLQA's Arabic article rule deletes *every* ``ال``, inside words too (its
  first alternative ``\\sال^`` can never match);
- MLQA's Chinese segmentation splits only U+4E00..U+9FA5, so other Han
  characters (extension A, U+9FA6..U+9FFF) stay glued to their neighbours.

A split in which no question has a gold answer (XTREME's download strips the
answers of its evaluation files) scores NaN rather than 0.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache

from ..errors import SpecError
from .base import mean_outcomes, register_metric

Normalizer = Callable[[str], str]

_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCT = frozenset(string.punctuation)

#: MLQA's per-language article patterns (``None``: the language has no articles)
MLQA_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": _EN_ARTICLES,
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "ar": re.compile(r"\sال^|ال"),
    "zh": None,
}
_MLQA_WHITESPACE_LANGS = ("en", "es", "hi", "vi", "de", "ar")
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def normalize_squad(text: str) -> str:
    """SQuAD v1.1's ``normalize_answer`` (also v2.0's)."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCT)
    return " ".join(_EN_ARTICLES.sub(" ", text).split())


@cache
def unicode_punctuation() -> frozenset[str]:
    """MLQA's ``PUNCT``: every code point in a Unicode ``P*`` category, plus ASCII punctuation.

    Like the official script, it scans ``range(sys.maxunicode)`` with this
    Python's ``unicodedata``; built on first use because the scan takes a moment.
    """
    marks = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}
    return frozenset(marks | _ASCII_PUNCT)


def mixed_segmentation(text: str) -> list[str]:
    """MLQA's Chinese tokens: each CJK character and punctuation mark alone, other runs split on whitespace."""
    punct = unicode_punctuation()
    tokens: list[str] = []
    run = ""
    for char in text:
        if _CJK.search(char) or char in punct:
            tokens.extend(run.split())
            run = ""
            tokens.append(char)
        else:
            run += char
    tokens.extend(run.split())
    return tokens


def mlqa_normalizer(language: str) -> Normalizer:
    """MLQA's ``normalize_answer`` for one answer language."""
    if language not in MLQA_ARTICLES:
        raise SpecError(
            f"Metric 'mlqa' has no normalisation for language {language!r}; MLQA's scorer knows "
            f"{', '.join(MLQA_ARTICLES)}. Use metric 'squad' for other languages."
        )
    articles = MLQA_ARTICLES[language]
    split = str.split if language in _MLQA_WHITESPACE_LANGS else mixed_segmentation

    def normalize(text: str) -> str:
        punct = unicode_punctuation()
        text = "".join(ch for ch in text.lower() if ch not in punct)
        if articles is not None:
            text = articles.sub(" ", text)
        return " ".join(t for t in split(text) if t.strip() != "")

    return normalize


def token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    """Bag-of-tokens F1 (0 when nothing is shared, including when either side is empty)."""
    common = Counter(prediction_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _check(references: Sequence[Sequence[str]], predictions: Sequence[str]) -> None:
    if len(references) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")


def question_scores(
    references: Sequence[Sequence[str]], predictions: Sequence[str], normalize: Normalizer, metric: str
) -> list[tuple[bool, float]] | None:
    """Each question's (exact match, F1) against its best gold answer, as the v1.1 and MLQA scorers compute
    them; None for an unlabelled split (XTREME strips its evaluation answers): nothing to score."""
    _check(references, predictions)
    if not any(references):
        return None
    scores = []
    for i, (golds, prediction) in enumerate(zip(references, predictions)):
        if not golds:
            raise SpecError(
                f"Metric {metric!r}: question {i} has no gold answer, which this scorer cannot score (the official "
                f"script fails on it). Unanswerable questions (SQuAD v2) need metric 'squad_v2'."
            )
        normalized = normalize(prediction)
        exact = max(normalized == normalize(gold) for gold in golds)
        scores.append((exact, max(token_f1(normalized.split(), normalize(gold).split()) for gold in golds)))
    return scores


def em_f1(
    references: Sequence[Sequence[str]], predictions: Sequence[str], normalize: Normalizer, metric: str
) -> dict[str, float]:
    """``evaluate()`` of the v1.1 and MLQA scorers, with their normaliser: sums over questions in order."""
    scores = question_scores(references, predictions, normalize, metric)
    if scores is None:
        return {"exact_match": float("nan"), "f1": float("nan")}
    exact_match = total = 0
    f1 = 0.0
    for exact, f in scores:
        total += 1
        exact_match += exact
        f1 += f
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


#: per question (exact match, F1): both scorers' EM and F1 are 100 × the mean over questions
_QA_COLUMNS = ("exact_match", "f1")


@register_metric(
    "squad",
    outcomes=mean_outcomes(_QA_COLUMNS, lambda refs, preds: question_scores(refs, preds, normalize_squad, "squad")),
)
def squad(references: Sequence[Sequence[str]], predictions: Sequence[str]) -> dict[str, float]:
    """SQuAD v1.1 EM/F1 (XTREME's ``evaluate_squad.py``; XQuAD, TyDiQA-GoldP, SQuAD v1.1)."""
    return em_f1(references, predictions, normalize_squad, "squad")


def _mlqa_questions(refs: Sequence[Sequence[str]], preds: Sequence[str], language: str) -> list | None:
    return question_scores(refs, preds, mlqa_normalizer(language.split("-")[0]), "mlqa")


@register_metric("mlqa", outcomes=mean_outcomes(_QA_COLUMNS, _mlqa_questions))
def mlqa(references: Sequence[Sequence[str]], predictions: Sequence[str], language: str) -> dict[str, float]:
    """MLQA EM/F1 (XTREME's ``evaluate_mlqa.py``) in the answer language.

    Answers are spans of the context, so for MLQA's cross-lingual pairs, named
    ``<context>-<question>`` (``de-en``), the context language normalises.
    """
    return em_f1(references, predictions, mlqa_normalizer(language.split("-")[0]), "mlqa")


def _v2_f1(prediction: str, gold: str) -> float:
    gold_tokens, prediction_tokens = normalize_squad(gold).split(), normalize_squad(prediction).split()
    if not gold_tokens or not prediction_tokens:
        return int(gold_tokens == prediction_tokens)  # no-answer agrees with no-answer
    return token_f1(prediction_tokens, gold_tokens)


def _v2_questions(references: Sequence[Sequence[str]], predictions: Sequence[str]) -> list[tuple[int, float]]:
    _check(references, predictions)
    scores = []
    for golds, prediction in zip(references, predictions):
        answers = [gold for gold in golds if normalize_squad(gold)] or [""]
        exact = max(int(normalize_squad(gold) == normalize_squad(prediction)) for gold in answers)
        scores.append((exact, max(_v2_f1(prediction, gold) for gold in answers)))
    return scores


@register_metric("squad_v2", outcomes=mean_outcomes(_QA_COLUMNS, _v2_questions))
def squad_v2(references: Sequence[Sequence[str]], predictions: Sequence[str]) -> dict[str, float]:
    """SQuAD v2.0 EM/F1 (``evaluate-v2.0.py`` with no no-answer probabilities, i.e. threshold 1.0)."""
    scores = _v2_questions(references, predictions)
    exact_scores, f1_scores = [e for e, _ in scores], [f for _, f in scores]
    if not exact_scores:
        return {"exact_match": float("nan"), "f1": float("nan")}
    total = len(exact_scores)
    return {"exact_match": 100.0 * sum(exact_scores) / total, "f1": 100.0 * sum(f1_scores) / total}
