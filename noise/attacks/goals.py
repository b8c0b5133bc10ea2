"""Goals: what counts as a successful attack, per task type, and the score the search climbs.

- classification, multiple choice: flip the prediction away from the gold label;
  the score is 1 − p(gold), as TextAttack's untargeted classification goal.
- span QA: drive the predicted answer's F1 to 0 (the gold span itself is never
  edited, see ``document.py``); the score is 1 − F1.
- tagging: tag as many words wrongly as possible; the score is the number of
  wrong words plus the mean of 1 − p(gold tag), so a new wrong word always
  counts more than confidence. It never stops early: the budget is spent.

An example is *attackable* when the model is right on it when clean (span QA:
F1 above 0; tagging: any word right), and *broken* when the goal is reached
(tagging: more words wrong than clean). The success rate is broken / attackable.
"""

from __future__ import annotations

from typing import Any, Protocol


class Scored(Protocol):
    """What the model says about one example (``harness.query.Score``, read-only)."""

    @property
    def prediction(self) -> Any: ...
    @property
    def probs(self) -> Any: ...
    @property
    def f1(self) -> float | None: ...


class Goal:
    stops = True  # stop searching an example once it is broken
    graded = True  # the score moves with the model's probabilities (span QA's F1 moves in steps)

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels

    def attackable(self, example: dict[str, Any], clean: Scored) -> bool:
        raise NotImplementedError

    def score(self, example: dict[str, Any], scored: Scored) -> float:
        raise NotImplementedError

    def broken(self, example: dict[str, Any], clean: Scored, scored: Scored) -> bool:
        raise NotImplementedError


class Flip(Goal):
    def attackable(self, example: dict[str, Any], clean: Scored) -> bool:
        return bool(clean.prediction == example["target"])

    def score(self, example: dict[str, Any], scored: Scored) -> float:
        return 1.0 - float(scored.probs[example["target"]])

    def broken(self, example: dict[str, Any], clean: Scored, scored: Scored) -> bool:
        return bool(scored.prediction != example["target"])


class ZeroF1(Goal):
    graded = False

    def attackable(self, example: dict[str, Any], clean: Scored) -> bool:
        return (clean.f1 or 0.0) > 0

    def score(self, example: dict[str, Any], scored: Scored) -> float:
        return 1.0 - (scored.f1 or 0.0)

    def broken(self, example: dict[str, Any], clean: Scored, scored: Scored) -> bool:
        return (scored.f1 or 0.0) == 0


class WrongWords(Goal):
    stops = False

    def wrong(self, example: dict[str, Any], scored: Scored) -> int:
        return sum(p != g for p, g in zip(scored.prediction, example["target"]))

    def attackable(self, example: dict[str, Any], clean: Scored) -> bool:
        return self.wrong(example, clean) < len(example["target"])

    def score(self, example: dict[str, Any], scored: Scored) -> float:
        index = {label: i for i, label in enumerate(self.labels)}
        gold = [probs[index[g]] if g in index else 0.0 for probs, g in zip(scored.probs, example["target"])]
        return self.wrong(example, scored) + sum(1.0 - p for p in gold) / max(1, len(gold))

    def broken(self, example: dict[str, Any], clean: Scored, scored: Scored) -> bool:
        return self.wrong(example, scored) > self.wrong(example, clean)


GOALS: dict[str, type[Goal]] = {"classification": Flip, "multiple_choice": Flip, "span_qa": ZeroF1,
                                "tagging": WrongWords}  # fmt: skip
