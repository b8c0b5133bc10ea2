"""A task at run time: its spec, its task type, and its docs rendered into examples.

An *example* is what the model sees, after templating: ``{"id", "index",
"text", "text_pair", "choices", "target", ...}`` (the fields of the task type).
Noise wrappers act on examples, so they touch model inputs, never raw columns.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import datasets

from .data import load_docs, source_identity, split_language
from .errors import SpecError
from .spec import SOURCE_KEYS, TaskConfig, stable_hash
from .tasktypes import TaskType, get_task_type
from .templating import render

#: example field -> spec key; lm-eval's singular ``doc_to_choice`` fills the ``choices`` field
SPEC_KEYS = {"choices": "doc_to_choice"}


#: spec keys that do not change what a model learns from the training split
EVAL_ONLY_KEYS = (
    "task",
    "task_alias",
    "tag",
    "language",
    "languages",
    "validation_split",
    "test_split",
    "metric_list",
    "noise_fields",
    "metadata",
)


@dataclass(frozen=True)
class DocSelection:
    """Which docs of a split to use: a seeded half held out for training, and/or a seeded sample."""

    holdout: str | None = None  # "train" or "eval": which half of a split shared with training
    limit: int | float | None = None  # a number of docs, or a share of them (0 < x < 1: rounded up)
    seed: int = 0

    def apply(self, docs: datasets.Dataset, ids: list[str]) -> list[int]:
        rows = list(range(len(docs)))
        if self.holdout:
            keep = 0 if self.holdout == "train" else 1
            rows = [r for r in rows if _half(ids[r], self.seed) == keep]
        return self.sample(rows)

    def sample(self, rows: list[int]) -> list[int]:
        """A seeded sample of ``limit`` rows (a share: of these rows), in their original order; a share draws
        exactly the rows that its number of rows would."""
        count = min(len(rows), self.count(len(rows)))
        if count < len(rows):
            rows = sorted(random.Random(f"limit:{self.seed}").sample(rows, count))
        return rows

    def count(self, total: int) -> int:
        """How many of ``total`` rows the limit keeps."""
        if isinstance(self.limit, float):
            return math.ceil(self.limit * total)
        return total if self.limit is None else self.limit


def hook_source(cfg: TaskConfig) -> str | None:
    return cfg.process_docs.source() if cfg.process_docs is not None else None


def _half(doc_id: str, seed: int) -> int:
    """A doc's half, from a hash of its id: parallel datasets split identically in every language."""
    return int(stable_hash([seed, doc_id], 8), 16) % 2


@dataclass
class Task:
    """One task (one evaluation language), optionally wrapped by a noise condition."""

    cfg: TaskConfig
    family: str = ""  # the group whose row this task fills in tables (xnli for xnli_de)
    noise: Any = None  # a noise.NoiseSpec, set by harness.noise.wrap
    members: list[Task] = field(default_factory=list)  # the tasks of a ``mixture``
    #: the languages fine-tuned on, when not the spec's ``train_language`` (several: one multilingual set)
    train_languages: list[str] = field(default_factory=list)
    type: TaskType = field(init=False)

    def __post_init__(self) -> None:
        where = self.cfg.source.where("task_type") if self.cfg.source else f"Task {self.cfg.task!r}"
        self.type = get_task_type(self.cfg.task_type, where)
        self.family = self.family or self.cfg.task
        if self.train_languages and self.members:
            raise SpecError(
                f"Task {self.cfg.task!r} trains on a mixture of other tasks' training data; it cannot be trained "
                f"in {', '.join(self.train_languages)}. Name the member tasks instead (e.g. mnli@de)."
            )
        for member in self.members:
            if (member.cfg.task_type, member.cfg.label_list) != (self.cfg.task_type, self.cfg.label_list):
                raise SpecError(
                    f"Task {self.cfg.task!r}: mixture member {member.cfg.task!r} must have the same task_type and "
                    f"label_list ({member.cfg.task_type}, {member.cfg.label_list} vs {self.cfg.task_type}, "
                    f"{self.cfg.label_list})."
                )

    @property
    def name(self) -> str:
        return self.cfg.task if self.noise is None else f"{self.cfg.task}@{self.noise}"

    @property
    def language(self) -> str:
        return self.cfg.language

    @property
    def metric_list(self) -> list[dict[str, Any]]:
        return self.cfg.metric_list or [{"metric": m} for m in self.type.default_metrics]

    @property
    def noise_fields(self) -> list[str]:
        return self.cfg.noise_fields or list(self.type.noise_fields)

    def fingerprint(self) -> str:
        """What identifies this task's evaluation examples (a noise wrapper adds its spec and seed)."""
        return self.cfg.fingerprint()

    @property
    def training_languages(self) -> list[str]:
        return self.train_languages or [self.cfg.train_language]

    def with_train_languages(self, languages: list[str]) -> Task:
        """This task fine-tuned in ``languages`` instead (the spec's own ``train_language`` alone is no change)."""
        own = languages == [self.cfg.train_language]
        return Task(self.cfg, self.family, self.noise, self.members, [] if own else list(languages))

    def training_source(self, split: str, lang: str) -> TaskConfig:
        """The spec that reads ``split`` for training in ``lang``: its ``translate_train`` source when ``split`` is
        the training split and ``lang`` not the spec's training language, else the task's own; an error where
        that would read the training language's data under another language's name (ANLI's one file)."""
        cfg, translated = self.cfg, self.cfg.translate_train
        if lang == cfg.train_language:
            return cfg
        if translated is None or split != cfg.training_split:
            if source_identity(cfg, split, lang) == source_identity(cfg, split, cfg.train_language):
                raise SpecError(
                    f"Task {cfg.task!r} has no {lang} training data: its {split!r} split reads the same "
                    f"{cfg.train_language} data in every language, and its spec names no translate_train source. "
                    f"Add a translate_train block naming the translated files to "
                    f"{cfg.source.path if cfg.source else 'its YAML'} (as tasks/xnli and tasks/pawsx do)."
                )
            return cfg
        return replace(
            cfg,
            train_language=lang,
            dataset_path=translated.dataset_path,
            dataset_name=translated.dataset_name,
            dataset_kwargs=translated.dataset_kwargs,
            hub_splits={split: translated.hub_split},
            data_files={split: translated.data_files} if translated.data_files is not None else {},
            data_format=translated.data_format or cfg.data_format,
            data_kwargs=cfg.data_kwargs if translated.data_kwargs is None else translated.data_kwargs,
            data_note=translated.data_note,
            process_docs=translated.process_docs or cfg.process_docs,
        )

    def training_identity(self, split: str | None = None) -> str:
        """Hash of what shapes training on ``split`` (default: the training split), in the training language(s).

        Evaluation-only keys are left out, and the data source counts as rendered
        for training, so all languages of a family share one model, and so do
        XQuAD and MLQA (both fine-tuned on SQuAD) although their test files differ.
        """
        split = split or self.cfg.training_split
        source: Any = source_identity(self.cfg, split, self.cfg.train_language) if split else None
        if split and self.train_languages:  # only then, so that the keys of English-trained models stay as they were
            sources = [(lang, self.training_source(split, lang)) for lang in self.train_languages]
            source = [[lang, source_identity(cfg, split, lang), hook_source(cfg)] for lang, cfg in sources]
        own = [self.cfg.fingerprint(exclude=EVAL_ONLY_KEYS + SOURCE_KEYS), source, split, self.cfg.version]
        return stable_hash([*own, *(m.training_identity() for m in self.members)])

    def training_examples(self, split: str, data_dir: Path | None, selection: DocSelection) -> list[dict[str, Any]]:
        """The examples ``split`` gives in every training language; several languages are concatenated (ids
        prefixed by language), each with the same selection, so parallel data gives the same docs in each."""
        languages = self.training_languages
        pooled: list[dict[str, Any]] = []
        for lang in languages:
            source = Task(self.training_source(split, lang), self.family, members=self.members)
            for example in source.examples(split, data_dir, selection, lang=lang):
                pooled.append(example if len(languages) == 1 else {**example, "id": f"{lang}:{example['id']}"})
        return [{**e, "index": i} for i, e in enumerate(pooled)]

    def docs(self, split: str, data_dir: Path | None, lang: str | None = None) -> datasets.Dataset:
        return load_docs(self.cfg, split, data_dir, lang)

    def doc_ids(self, docs: datasets.Dataset) -> list[str]:
        if self.cfg.doc_to_id is None:
            return [str(i) for i in range(len(docs))]
        where = f"{self.cfg.task}: doc_to_id"
        return [str(render(self.cfg.doc_to_id, doc, where=where)) for doc in docs]

    def examples(
        self, split: str, data_dir: Path | None, selection: DocSelection = DocSelection(), lang: str | None = None
    ) -> list[dict[str, Any]]:
        """Render the selected docs of ``split`` into examples (``index`` = position in the list).

        ``lang`` defaults to the split's language (``train_language`` for the training split).
        """
        if self.members and split == self.cfg.training_split:
            return self.mixture_examples(data_dir, selection)
        if self.cfg.labels_from_data and not self.cfg.label_list:
            self.cfg.label_list = self.training_labels(data_dir)
        lang = lang or split_language(self.cfg, split)
        docs = self.docs(split, data_dir, lang)
        ids = self.doc_ids(docs)
        rows = selection.apply(docs, ids)
        if not rows:
            raise SpecError(
                f"Task {self.cfg.task!r}, language {lang!r}, split {split!r}: no docs left to use "
                f"(the split has {len(docs)})."
            )
        chosen = docs.select(rows)
        return [self.render(doc, ids[r], i) for i, (doc, r) in enumerate(zip(chosen, rows))]

    def mixture_examples(self, data_dir: Path | None, selection: DocSelection) -> list[dict[str, Any]]:
        """The members' training examples, concatenated (ids prefixed by member), then sampled."""
        if selection.holdout:
            raise SpecError(
                f"Task {self.cfg.task!r} trains on a mixture of other tasks' training splits; "
                f"--train-split does not apply to it."
            )
        pooled = []
        for member in self.members:
            for example in member.examples(
                member.cfg.training_split or "", data_dir, DocSelection(seed=selection.seed)
            ):
                pooled.append({**example, "id": f"{member.cfg.task}:{example['id']}"})
        rows = selection.sample(list(range(len(pooled))))
        return [{**pooled[r], "index": i} for i, r in enumerate(rows)]

    def training_labels(self, data_dir: Path | None) -> list[str]:
        """``labels_from_data``: the sorted set of the training split's gold labels (tag lists flattened)."""
        if self.cfg.training_split is None:
            raise SpecError(f"Task {self.cfg.task!r}: labels_from_data needs a training_split to read labels from.")
        labels: set[str] = set()
        for doc in self.docs(self.cfg.training_split, data_dir):
            target = render(self.cfg.doc_to_target, doc, where=f"{self.cfg.task}: doc_to_target")
            labels.update(str(t) for t in (target if isinstance(target, list) else [target]))
        return sorted(labels)

    def render(self, doc: dict[str, Any], doc_id: str, index: int) -> dict[str, Any]:
        example: dict[str, Any] = {"id": doc_id, "index": index}
        for name, required in self.type.fields.items():
            key = SPEC_KEYS.get(name, f"doc_to_{name}")
            template = getattr(self.cfg, key)
            if template is None:
                if required:
                    raise SpecError(f"Task {self.cfg.task!r} ({self.cfg.task_type}) needs {key!r} in its YAML.")
                example[name] = None
                continue
            where = f"{self.cfg.source.where(key) if self.cfg.source else self.cfg.task}: {key} (doc {doc_id})"
            example[name] = render(template, doc, where=where)
        return self.type.prepare(self.cfg, example)
