"""Planning a run: which tasks, which English data trains which model, with which hyperparameters.

Tasks that share English training data (every language of XNLI, say) share one
*training job*: they have the same training identity, so one model is trained
for all of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .config import RunConfig
from .data import data_note, has_split, hub_path, local_patterns
from .errors import DataError
from .metrics import get_metric
from .mlm import MlmMix
from .models import BaseId
from .preflight import check_languages
from .registry import TaskIndex
from .task import DocSelection, Task
from .training import TrainArgs

#: the smoke preset trains on a seeded sample of at most this many docs unless --max-train-examples says otherwise:
#: it checks the pipeline, and a full English training set (21k UD-POS sentences: ~4000 steps at the preset's
#: epochs) takes the tiny model half an hour or more per task on a shared 2-core CPU
SMOKE_TRAIN_LIMIT = 2000


def smoke_train_limit(config: RunConfig) -> int:
    """The smoke preset's cap on training docs: ``--limit N`` caps training at N too (a quick check is quick
    end to end: TyDiQA's 2000 English docs are 9000 features), never above ``SMOKE_TRAIN_LIMIT``; a share
    (``--limit 0.1``) leaves the cap as it is."""
    limit = config.limit if isinstance(config.limit, int) else None
    return min(limit or SMOKE_TRAIN_LIMIT, SMOKE_TRAIN_LIMIT)


@dataclass
class TrainingJob:
    """The tasks that share one trained model, and the English data it is trained on."""

    tasks: list[Task]
    split: str  # "" when there is nothing to train (zero-shot retrieval)
    selection: DocSelection
    note: str = ""
    eval_holdout: bool = False  # evaluate on the other half of the split trained on
    examples: list[dict[str, Any]] = field(default_factory=list)
    noisy_examples: list[dict[str, Any]] | None = None  # --train-noise: what the model is fine-tuned on instead
    mlm: MlmMix | None = None  # a stage's first job: masked-LM batches mixed into the stage (``mnli+mlm``)

    @property
    def lead(self) -> Task:
        return self.tasks[0]

    @property
    def family(self) -> str:
        return self.lead.family

    @property
    def head_name(self) -> str:
        """The name of this job's head in a stored artefact: its training identity, the same for every family
        trained on the same data, so a model trained for XQuAD serves MLQA too."""
        return self.lead.training_identity(self.split) if self.split else self.family

    @property
    def trainable(self) -> bool:
        return bool(self.split) and self.lead.type.trainable

    @property
    def training_examples(self) -> list[dict[str, Any]]:
        return self.examples if self.noisy_examples is None else self.noisy_examples

    @property
    def train_language(self) -> str | None:
        """What records say the model was fine-tuned in: ``de``, or ``de,ru`` for a multilingual set."""
        return ",".join(self.lead.training_languages) if self.trainable else None

    def load(self, data_dir: Any) -> None:
        """Render the training examples, always in the task's training language(s)."""
        if self.split:
            self.examples = self.lead.training_examples(self.split, data_dir, self.selection)


def train_language_variants(tasks: list[Task], languages: list[str] | None) -> list[Task]:
    """``--train-language de,ru,en``: every trainable task once per training language (the source-language
    axis); tasks with nothing to train (Tatoeba) once."""
    if not languages:
        return tasks
    out: list[Task] = []
    for lang in languages:
        out += [t.with_train_languages([lang]) for t in tasks if t.cfg.training_split and t.type.trainable]
    return out + [t for t in tasks if not (t.cfg.training_split and t.type.trainable)]


def make_task(index: TaskIndex, name: str, config: RunConfig) -> Task:
    """A runtime task: its spec, its table row (the group it belongs to), its mixture members."""
    cfg = index.task(name)
    if config.retrieval_layer is not None and cfg.task_type == "retrieval":
        cfg = replace(cfg, retrieval=replace(cfg.retrieval, layer=config.retrieval_layer))
    if config.seqeval != "installed" and any(m["metric"] == "seqeval" for m in cfg.metric_list or []):
        metric_list = [{**m, "kwargs": {**(m.get("kwargs") or {}), "version": config.seqeval}}
                       if m["metric"] == "seqeval" else m for m in cfg.metric_list]  # fmt: skip
        cfg = replace(cfg, metric_list=metric_list)
    members = [make_task(index, m, config) for m in cfg.mixture]
    return Task(cfg, family=index.family(name), members=members)


def resolve_tasks(names: list[str], config: RunConfig, index: TaskIndex) -> list[Task]:
    """Task names, groups and tags → per-language tasks, filtered by ``--languages``."""
    tasks: list[Task] = []
    for name in names:
        for task_name in index.expand(name):
            if all(t.name != task_name for t in tasks):
                tasks.append(make_task(index, task_name, config))
    if config.languages:
        check_languages(names, config.languages, {t.language for t in tasks})
        tasks = [t for t in tasks if t.language in config.languages]
    return tasks


def check_metrics(tasks: list[Task]) -> None:
    """Every task's metrics exist, checked before anything is trained rather than when the first score is due."""
    for task in tasks:
        for entry in task.metric_list:
            where = task.cfg.source.where("metric_list") if task.cfg.source else task.name
            get_metric(entry["metric"], f"{where}, task {task.cfg.task!r}")  # a dotted path or !function: imported


def eval_split_of(task: Task, config: RunConfig) -> str:
    split = task.cfg.validation_split if config.split == "validation" else task.cfg.test_split
    if split is None:
        raise DataError(f"Task {task.name!r} has no {config.split} split; use --split validation.")
    return split


def skip_missing_languages(tasks: list[Task], config: RunConfig) -> tuple[list[Task], dict[str, list[str]]]:
    """Drop languages whose evaluation file is not under ``--data-dir``; returns what is kept and, per family, what not.

    A local download often holds a subset of a family's languages (../shared/data has 15 of UD-POS's 38), so
    those are skipped with a note. A family with no local language at all is skipped too when it came with a
    benchmark (``--tasks xtreme`` over a download without MLQA), so that the rest is scored and results.json
    says why it has none. Languages named with ``--languages``, and a family named itself (``--tasks mlqa``)
    with no local language, are kept, so that loading them fails with the error that names the missing file.
    """
    if config.data_dir is None or config.languages:
        return tasks, {}
    present = {t.name: has_split(t.cfg, eval_split_of(t, config), config.data_dir) for t in tasks}
    named = set(config.tasks)
    families = {t.family for t in tasks if present[t.name]}
    kept: list[Task] = []
    skipped: dict[str, list[str]] = {}
    for task in tasks:
        if present[task.name] or (task.family not in families and (task.family in named or task.name in named)):
            kept.append(task)
        else:
            skipped.setdefault(task.family, []).append(task.language)
    return kept, skipped


def training_split(task: Task, config: RunConfig, smoke: bool) -> tuple[str | None, str]:
    """The split a task trains on (in its training languages), and a note when that is not its training split.

    When the training split is also evaluated (``--train-split validation``, or
    the smoke fallback when a local training file is missing), the split is cut
    into two seeded halves by doc id: one half trains, the other is evaluated in
    every language. XTREME's dev sets are parallel, so no evaluated doc has its
    translation in the training half.
    """
    cfg = task.cfg
    split = config.train_split or cfg.training_split
    languages = task.training_languages
    langs = ",".join(languages)
    missing = []
    if split is not None:
        missing = [
            lang for lang in languages if not has_split(task.training_source(split, lang), split, config.data_dir, lang)
        ]
    if not missing:
        holdout = split is not None and split in (cfg.validation_split, cfg.test_split)
        return split, f"training on a seeded half of {langs} {split!r}; the other half is evaluated" if holdout else ""
    dev_halves = all(has_split(cfg, cfg.validation_split, config.data_dir, lang) for lang in languages)
    if smoke and config.train_split is None and dev_halves:
        return cfg.validation_split, (
            f"no {' '.join(missing)} training file for {split!r} under {config.data_dir}; the smoke model trains on a "
            f"seeded half of the {langs} {cfg.validation_split!r} split and is evaluated on the other half"
        )
    assert split is not None  # languages are missing only from a split
    lang = missing[0]
    source = task.training_source(split, lang)
    data_dir = config.data_dir
    patterns = local_patterns(source, split, data_dir, lang) if split in source.data_files and data_dir else []
    files = ", ".join(map(str, patterns)) or "-"
    hub = hub_path(source, split, lang)
    raise DataError(
        f"Task {cfg.task!r}: its {lang} training split {split!r} is not under {config.data_dir} "
        f"(looked for {files}). Supply the file (XTREME's scripts/download_data.sh writes the English ones), "
        + (f"leave out --data-dir to load {hub} from the hub, " if hub else "")
        + f"or pass --train-split {cfg.validation_split} to fine-tune on a held-out half of the {lang} dev set."
        + data_note(source, split, lang)
    )


def plan_training(tasks: list[Task], config: RunConfig, smoke: bool) -> list[TrainingJob]:
    """Group tasks by training identity; each group is one job that trains one model."""
    jobs: dict[str, TrainingJob] = {}
    for task in tasks:
        split, note = training_split(task, config, smoke)
        identity = task.training_identity(split) if split else f"zero-shot:{task.family}"
        if identity in jobs:
            jobs[identity].tasks.append(task)
            continue
        cfg = task.cfg
        holdout = split is not None and split in (cfg.validation_split, cfg.test_split)
        eval_split = cfg.validation_split if config.split == "validation" else cfg.test_split
        limit = config.max_train_examples or (smoke_train_limit(config) if smoke else None)
        selection = DocSelection(holdout="train" if holdout else None, limit=limit, seed=config.sample_seed)
        jobs[identity] = TrainingJob([task], split or "", selection, note, eval_holdout=holdout and split == eval_split)
    return list(jobs.values())


def train_args(task: Task, base: BaseId, config: RunConfig) -> TrainArgs:
    """Spec defaults, then the base preset's needs (tiny), then the command line."""
    d = {**asdict(task.cfg.training), **base.training_overrides}
    lr = d["lora_learning_rate"] if config.method == "lora" else d["learning_rate"]
    return TrainArgs(
        epochs=config.epochs if config.epochs is not None else d["epochs"],
        learning_rate=config.learning_rate if config.learning_rate is not None else lr,
        batch_size=config.train_batch_size or d["batch_size"],
        warmup_ratio=d["warmup_ratio"],
        weight_decay=d["weight_decay"],
        max_length=config.max_length if config.max_length is not None else d["max_length"],
        seed=config.seed,
    )
