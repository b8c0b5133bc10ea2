"""The model-query interface: one trained model, named explicitly, scoring new examples.

Everything that needs the model on text no condition produced in advance (an
attack's candidates) asks it here. A ``ModelQuery`` names its model whole (the
base, the adapter stack and the head of the task's family, from a ``Trained``)
and sets exactly that model up at the start of every call, so no caller depends
on which adapters another caller left active: calls that interleave models give
the answers they give in order. Scores come back per example (``Score``):
class probabilities, the predicted answer and its F1, per-word label
probabilities. Calls are batched by length with evaluation's own loop, counted
(``queries``), cached by exact input (a text is never scored twice), and may be
capped (``budget``); features are made in memory, never written to the feature
cache (a candidate is scored once; caching it would fill the disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .adapters.bank import Trained
from .errors import HarnessError
from .evaluation import auto_batching, iter_outputs
from .features import encode_features
from .metrics import compute
from .models import Base
from .spec import stable_hash
from .task import Task


class QueryBudgetError(HarnessError):
    """A query would go past the budget the caller set."""


@dataclass(frozen=True)
class Score:
    """What the model says about one example.

    ``prediction``: the label or choice index (classification, multiple choice),
    the answer text (span QA), the label name of each word (tagging).
    ``probs``: the class probabilities (classification, multiple choice), one
    list of label probabilities per word (tagging), None (span QA).
    ``f1``: span QA only, the predicted answer's F1 (0 to 1) against the gold answers.
    """

    prediction: Any
    probs: Any = None
    f1: float | None = None


class ModelQuery:
    """Scores examples of ``task`` under one trained model; counts, caches and caps its queries."""

    def __init__(self, trained: Trained, task: Task, base: Base, device: torch.device, dtype: torch.dtype,
                 batch_size: int | str = "auto", max_length: int | None = None,
                 budget: int | None = None) -> None:  # fmt: skip
        if task.type.name == "retrieval":
            raise HarnessError(f"Task {task.cfg.task!r}: retrieval has no per-example scores to query.")
        self.trained, self.task, self.base = trained, task, base
        self.device, self.dtype, self.batch_size = device, dtype, batch_size
        self.max_length = max_length or int(trained.info["args"]["max_length"])
        self.budget = budget
        self.queries = 0  # examples the model has scored (cache hits are free)
        self._cache: dict[str, Score] = {}
        self._fields = [*task.type.fields, "target"]

    def __call__(self, examples: list[dict[str, Any]]) -> list[Score]:
        """The score of every example, in order; one batched pass over those not scored before."""
        keys = [stable_hash([e.get(f) for f in self._fields], 24) for e in examples]
        todo = {k: e for k, e in zip(keys, examples) if k not in self._cache}
        if self.budget is not None and self.queries + len(todo) > self.budget:
            raise QueryBudgetError(
                f"{self.task.cfg.task}: {len(todo)} more queries would exceed the budget of {self.budget} "
                f"({self.queries} used)."
            )
        if todo:
            fresh = [{**e, "index": i} for i, e in enumerate(todo.values())]
            self._cache.update(zip(todo, self._score(fresh)))
            self.queries += len(fresh)
        return [self._cache[k] for k in keys]

    def _score(self, examples: list[dict[str, Any]]) -> list[Score]:
        task, tokenizer = self.task, self.base.tokenizer
        features = encode_features(task.type, examples, tokenizer, self.max_length, task.cfg)
        model = self.trained.model(task.family, task.type, self.base)  # this call's adapters and head, set here
        if isinstance(self.batch_size, int):
            batch_size, max_tokens = self.batch_size, None
        else:  # evaluation's choice for this device, probed once per architecture and remembered there
            batch_size, max_tokens = auto_batching(model, features, self.device, self.dtype, tokenizer.pad_token_id)
        outputs: list[Any] = [None] * len(features)
        for indices, (batch,) in iter_outputs(model, features, batch_size, self.device, self.dtype,
                                              tokenizer.pad_token_id, max_tokens=max_tokens, scores=True):  # fmt: skip
            for i, out in zip(indices, batch):
                outputs[i] = out
        return self._fold(outputs, features, examples)

    def _fold(self, outputs: list[Any], features: Any, examples: list[dict[str, Any]]) -> list[Score]:
        """Per-feature scores folded into one ``Score`` per example."""
        task = self.task
        owners = features["example_index"][:]
        if task.type.name == "span_qa":
            answers = task.type.predict(outputs, features, examples, task.cfg)
            return [Score(a, f1=answer_f1(task, e, a)) for e, a in zip(examples, answers)]
        if task.type.name == "tagging":
            words: list[list[Any]] = [[None] * len(e["tokens"]) for e in examples]
            for out, owner, first in zip(outputs, owners, features["first_word"][:]):
                words[owner][first : first + len(out)] = out
            labels = task.cfg.label_list
            return [Score([labels[max(range(len(p)), key=p.__getitem__)] for p in w], w) for w in words]
        probs: list[Any] = [None] * len(examples)
        for out, owner in zip(outputs, owners):
            probs[owner] = out
        return [Score(max(range(len(p)), key=p.__getitem__), p) for p in probs]


def answer_f1(task: Task, example: dict[str, Any], answer: str) -> float:
    """The F1 (0 to 1) of one predicted answer by the task's own QA metric (SQuAD's, or MLQA's normaliser)."""
    metrics = compute(task.metric_list, [task.type.reference(example)], [answer], language=task.language)
    return float(metrics["f1"]) / 100.0
