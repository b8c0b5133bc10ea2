"""Noise wrappers: a task and a noise spec make a derived task, ``xnli_de@typo:0.1``.

The derived task has the same spec, docs and task type; its examples are the
clean ones noised (``structure.py``), and its fingerprint covers the noise spec
and seed, so caches and result records keep it apart from the clean task and
from every other condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import split_language
from ..spec import stable_hash
from ..task import DocSelection, Task
from .dictionaries import MissingDictionary
from .guards import Guard, guard_for
from .measure import error_rates
from .perturbation import NoiseError
from .spec import NoiseSpec, parse
from .structure import perturb_examples

#: bump when a perturbation changes what it does to a text (the fingerprint of every noisy task changes)
NOISE_VERSION = 2


@dataclass
class NoisyTask(Task):
    """``task@spec``: the task's docs, noised per doc and field with a generator derived from ``seed``."""

    seed: int = 0

    @property
    def spec(self) -> NoiseSpec:
        return self.noise

    @property
    def fields(self) -> list[str]:
        fields = list(self.spec.fields) if self.spec.fields else self.noise_fields
        if not fields:
            raise NoiseError(
                f"Task {self.cfg.task!r} ({self.cfg.task_type}) names no fields to noise: set noise_fields in its "
                f"YAML, or add fields=a/b to the noise condition ({self.spec})."
            )
        return fields

    @property
    def guard(self) -> Guard:
        """The words this condition protects in this task's language (``guards.py``)."""
        return guard_for(self.spec.protect, self.spec.protect_list, self.language, self.type.name)

    @property
    def watched(self) -> Guard:
        """The words whose hits the record counts: the protected ones, or with ``protect=none`` those the task
        type protects by default (so switching a guard off shows what it was keeping)."""
        guard = self.guard
        return guard if guard.active else guard_for(None, None, self.language, self.type.name)

    def fingerprint(self) -> str:
        return stable_hash([self.cfg.fingerprint(), str(self.spec), self.seed, NOISE_VERSION])

    def examples(
        self, split: str, data_dir: Path | None, selection: DocSelection | None = None, lang: str | None = None
    ) -> list[dict[str, Any]]:
        return self.perturb(super().examples(split, data_dir, selection or DocSelection(), lang), split, lang)

    def perturb(
        self, examples: list[dict[str, Any]], split: str | None = None, lang: str | None = None
    ) -> list[dict[str, Any]]:
        """Noised copies of this task's (clean) examples of ``split`` in ``lang`` (default: the split's language,
        without a split the evaluation language)."""
        language = lang or (split_language(self.cfg, split) if split else self.language)
        return perturb_examples(
            examples,
            self.spec,
            task=self.cfg.task,
            task_type=self.type.name,
            fields=self.fields,
            language=language,
            seed=self.seed,
        )

    def noise_record(self, clean: list[dict[str, Any]], noisy: list[dict[str, Any]]) -> dict[str, Any]:
        """What a result record says about the noise: the condition, and the error rates applied."""
        skipped = list(self.spec.bind(self.language).skipped_on_tokens) if self.type.name == "tagging" else []
        return {
            "spec": str(self.spec),
            "steps": [{"name": s.name, "rate": s.rate, **dict(s.args)} for s in self.spec.steps],
            "seed": self.seed,
            "fields": self.fields,
            "version": NOISE_VERSION,
            **error_rates(clean, noisy, self.fields, self.type.name, self.watched, self.language),
            "skipped": skipped,
        }


def wrap(task: Task, spec: NoiseSpec | str, seed: int = 0) -> NoisyTask:
    """The noisy variant of ``task`` (e.g. ``xnli_de@typo:0.1``)."""
    return NoisyTask(task.cfg, task.family, noise=parse(spec) if isinstance(spec, str) else spec, seed=seed)


@dataclass
class Variant:
    task: NoisyTask
    examples: list[dict[str, Any]]
    record: dict[str, Any]
    skipped: str | None = None  # why this language cannot take the condition (no dictionary): nothing is scored

    @property
    def condition(self) -> str:
        return str(self.task.spec)


def noisy_variants(task: Task, clean: list[dict[str, Any]], specs: list[NoiseSpec], seed: int) -> list[Variant]:
    """One noisy variant of ``task``'s evaluation examples per condition, with its noise statistics; a language
    with no dictionary for a ``codeswitch`` step is a variant that says so (its clean examples, never scored)."""
    out = []
    for spec in specs:
        noisy_task = wrap(task, spec, seed)
        try:
            noisy = noisy_task.perturb(clean)
        except MissingDictionary as exc:
            out.append(Variant(noisy_task, clean, {"spec": str(spec)}, skipped=str(exc)))
            continue
        out.append(Variant(noisy_task, noisy, noisy_task.noise_record(clean, noisy)))
    return out
