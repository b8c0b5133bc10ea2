"""``harness run``: the whole pipeline on one screen.

    specs ─► tasks ─► examples (per language, per condition)
                          │
          base encoder (loaded once) + trained head/adapter (trained once, stored)
                          │
          features (cached) ─► predictions ─► metrics ─► records ─► tables

Tasks that share English training data (all languages of XNLI, say) share one
trained model: they have the same *training identity*, so the model is trained
once, stored under a content-addressed key, and reused by every later run with
the same base, spec version, hyperparameters and seed. Each evaluated cell
(task × language × condition) is one record in the results store; a finished
cell is never recomputed, so a crashed run resumes.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.adapters.lora import LoraHost, lora_config
from harness.adapters.store import ArtefactStore
from harness.noise import noisy_variants, parse, parse_conditions, stats_table, wrap

from . import __version__
from .data import has_split, local_patterns
from .errors import DataError, HarnessError
from .evaluation import EvalContext, auto_batch_size, predict_features
from .features import featurize
from .metrics import compute, headline
from .models import DEFAULT_MODEL, SMOKE_PRESETS, Base, load_base, load_encoder, resolve_device, resolve_dtype
from .registry import TaskIndex
from .report import aggregate, leaderboard
from .results import CellStore, environment, write_atomic, write_json, write_samples
from .spec import stable_hash
from .task import DocSelection, Task
from .training import Stream, TaskModel, TrainArgs, train

#: the smoke preset trains on a seeded sample of at most this many docs unless --max-train-examples says otherwise:
#: it checks the pipeline, and a full English training set (21k UD-POS sentences: ~4000 steps at the preset's
#: 6 epochs) takes the tiny model half an hour or more per task on a shared 2-core CPU
SMOKE_TRAIN_LIMIT = 2000


@dataclass
class RunConfig:
    """Everything ``harness run`` takes; recorded whole in the run's result file."""

    tasks: list[str]
    model: str = DEFAULT_MODEL
    method: str = "full"
    data_dir: Path | None = None
    include_paths: list[Path] = field(default_factory=list)
    output: Path = Path("runs")
    adapter_dir: Path | None = None
    languages: list[str] | None = None
    split: str = "validation"
    train_split: str | None = None
    limit: int | None = None
    max_train_examples: int | None = None
    epochs: float | None = None
    learning_rate: float | None = None
    batch_size: int | str = "auto"  # evaluation; results never depend on it
    train_batch_size: int | None = None  # a hyperparameter: part of the trained model's key
    max_length: int | None = None
    retrieval_layer: int | None = None
    lora_rank: int = 8
    lora_alpha: int = 16
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"
    log_samples: bool = False
    resume: bool = True
    noise: list[str] = field(default_factory=list)  # conditions evaluated besides clean, e.g. ["typo:0.1"]
    train_noise: str | None = None  # noise on the training data (the classic robustness baseline)


@dataclass
class TrainingJob:
    """The tasks that share one trained model, and how that model is trained."""

    tasks: list[Task]
    split: str
    selection: DocSelection
    note: str = ""
    eval_holdout: bool = False  # evaluate on the other half of the split trained on
    examples: list[dict[str, Any]] = field(default_factory=list)
    noisy_examples: list[dict[str, Any]] | None = None  # --train-noise: what the model is fine-tuned on instead

    @property
    def lead(self) -> Task:
        return self.tasks[0]

    @property
    def family(self) -> str:
        return self.lead.family


@dataclass
class Cell:
    task: Task
    job: TrainingJob
    condition: str
    examples: list[dict[str, Any]]
    noise: dict[str, Any] | None = None  # the condition and the error rates it applied
    key: str = ""


# ----------------------------------------------------------------------------- planning


def make_task(index: TaskIndex, name: str, config: RunConfig) -> Task:
    """A runtime task: its spec, its table row (the group it belongs to), its mixture members."""
    cfg = index.task(name)
    if config.retrieval_layer is not None and cfg.task_type == "retrieval":
        cfg = replace(cfg, retrieval=replace(cfg.retrieval, layer=config.retrieval_layer))
    parents = index.parent_groups(name)
    members = [make_task(index, m, config) for m in cfg.mixture]
    return Task(cfg, family=parents[0] if parents else name, members=members)


def resolve_tasks(config: RunConfig, index: TaskIndex) -> list[Task]:
    """Task names, groups and tags → per-language tasks, filtered by ``--languages``."""
    tasks: list[Task] = []
    for name in config.tasks:
        for task_name in index.expand(name):
            if all(t.name != task_name for t in tasks):
                tasks.append(make_task(index, task_name, config))
    if config.languages:
        available = sorted({t.language for t in tasks})
        unknown = [lang for lang in config.languages if lang not in available]
        if unknown:
            raise HarnessError(
                f"Unknown language(s) {', '.join(unknown)} for tasks {', '.join(config.tasks)}; "
                f"they cover: {', '.join(available)}."
            )
        tasks = [t for t in tasks if t.language in config.languages]
    return tasks


def plan_training(tasks: list[Task], config: RunConfig, smoke: bool) -> list[TrainingJob]:
    """Group tasks by training identity and decide which English split each group trains on.

    When the training split is also evaluated (``--train-split validation``, or
    the smoke fallback when a local training file is missing), the split is cut
    into two seeded halves by doc id: one half trains, the other is evaluated in
    every language. XTREME's dev sets are parallel, so no evaluated doc has its
    translation in the training half.
    """
    jobs: dict[str, TrainingJob] = {}
    for task in tasks:
        identity = task.training_identity()
        if identity in jobs:
            jobs[identity].tasks.append(task)
            continue
        cfg = task.cfg
        split = config.train_split or cfg.training_split
        eval_split = cfg.validation_split if config.split == "validation" else cfg.test_split
        note = ""
        if split is not None and not has_split(cfg, split, config.data_dir):
            if smoke and config.train_split is None and has_split(cfg, cfg.validation_split, config.data_dir):
                note = (
                    f"no {cfg.train_language} training file for {split!r} under {config.data_dir}; the smoke model "
                    f"trains on a seeded half of {cfg.validation_split!r} and is evaluated on the other half"
                )
                split = cfg.validation_split
            else:
                files = (
                    ", ".join(map(str, local_patterns(cfg, split, config.data_dir))) if split in cfg.data_files else "-"
                )
                raise DataError(
                    f"Task {cfg.task!r}: its {cfg.train_language} training split {split!r} is not under "
                    f"{config.data_dir} (expected {files}). Supply the file (XTREME's "
                    f"download_data.sh writes it), leave out --data-dir to use the hub, or pass "
                    f"--train-split {cfg.validation_split} to fine-tune on a held-out half of the English dev set."
                )
        holdout = split is not None and split in (cfg.validation_split, cfg.test_split)
        if holdout and not note:
            note = f"training on a seeded half of {split!r}; the other half is evaluated"
        limit = config.max_train_examples or (SMOKE_TRAIN_LIMIT if smoke else None)
        selection = DocSelection(holdout="train" if holdout else None, limit=limit, seed=config.seed)
        jobs[identity] = TrainingJob([task], split or "", selection, note, eval_holdout=holdout and split == eval_split)
    return list(jobs.values())


def eval_split_of(task: Task, config: RunConfig) -> str:
    split = task.cfg.validation_split if config.split == "validation" else task.cfg.test_split
    if split is None:
        raise DataError(f"Task {task.name!r} has no {config.split} split; use --split validation.")
    return split


def skip_missing_languages(tasks: list[Task], config: RunConfig) -> tuple[list[Task], dict[str, list[str]]]:
    """Drop languages whose evaluation file is not under ``--data-dir``; returns what is kept and, per family, what not.

    A local download often holds a subset of a family's languages (../shared/data has 15 of UD-POS's 38), so
    those are skipped with a note. Languages named with ``--languages``, or a family with no local language at
    all, are kept, so that loading them fails with the error that names the missing file.
    """
    if config.data_dir is None or config.languages:
        return tasks, {}
    present = {t.name: has_split(t.cfg, eval_split_of(t, config), config.data_dir) for t in tasks}
    families = {t.family for t in tasks if present[t.name]}
    kept: list[Task] = []
    skipped: dict[str, list[str]] = {}
    for task in tasks:
        if present[task.name] or task.family not in families:
            kept.append(task)
        else:
            skipped.setdefault(task.family, []).append(task.language)
    return kept, skipped


def train_args(task: Task, base: Base, config: RunConfig) -> TrainArgs:
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


# ----------------------------------------------------------------------------- the run


class Runner:
    """Holds the run's resident state: the base encoder, the LoRA host, the stores."""

    def __init__(self, config: RunConfig, console: Console | None = None) -> None:
        self.config = config
        self.console = console or Console(stderr=True)
        self.index = TaskIndex(config.include_paths)
        self.device = resolve_device(config.device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        self.artefacts = ArtefactStore(config.adapter_dir)
        self.cells = CellStore(config.output)
        self.timings: dict[str, float] = {}
        self.events: list[str] = []
        # bad noise specs fail here, before any data is read or model trained
        self.conditions = parse_conditions(config.noise)
        self.train_noise = parse(config.train_noise) if config.train_noise else None

    def say(self, message: str) -> None:
        self.events.append(message)
        self.console.print(message)

    def run(self) -> dict[str, Any]:
        start = time.perf_counter()
        config = self.config
        tasks, skipped = skip_missing_languages(resolve_tasks(config, self.index), config)
        for family, languages in skipped.items():
            self.say(f"[yellow]{family}[/]: no local files for {' '.join(languages)} under {config.data_dir}; skipped")
        smoke = config.model in SMOKE_PRESETS
        jobs = plan_training(tasks, config, smoke)
        for job in jobs:
            if job.note:
                self.say(f"[yellow]{job.family}[/]: {job.note}")
            job.examples = job.lead.examples(job.split, config.data_dir, job.selection) if job.split else []
            if self.train_noise is not None:
                job.noisy_examples = wrap(job.lead, self.train_noise, config.seed).perturb(job.examples, job.split)
        cells = [Cell(task, job, "clean", self.eval_examples(task, job)) for job in jobs for task in job.tasks]
        cells += [
            Cell(v.task, c.job, v.condition, v.examples, v.record)
            for c in list(cells)
            for v in noisy_variants(c.task, c.examples, self.conditions, config.seed)
        ]
        self.timings["prepare_data_s"] = time.perf_counter() - start

        base = load_base(config.model, self.tiny_corpus(jobs) if smoke else None)
        self.timings["load_model_s"] = time.perf_counter() - start - self.timings["prepare_data_s"]
        host = LoraHost(base.encoder) if config.method == "lora" else None
        records = []
        for job in jobs:
            model, artefact = self.trained_model(job, base, host)
            for cell in (c for c in cells if c.job is job):
                records.append(self.evaluate_cell(cell, model, artefact, base))
        self.timings["total_s"] = time.perf_counter() - start
        return self.finish(tasks, records, base)

    def tiny_corpus(self, jobs: list[TrainingJob]) -> list[str]:
        """The smoke preset's tokenizer text: training inputs and whole evaluation splits (no --limit),
        so the tiny model depends on the run's tasks but not on how many docs are scored."""
        texts = [t for job in jobs for t in _texts(job.examples)]
        for job in jobs:
            for task in job.tasks:
                texts += _texts(task.examples(eval_split_of(task, self.config), self.config.data_dir))
        return texts

    def eval_examples(self, task: Task, job: TrainingJob) -> list[dict[str, Any]]:
        split = eval_split_of(task, self.config)
        holdout = "eval" if job.eval_holdout else None
        selection = DocSelection(holdout=holdout, limit=self.config.limit, seed=self.config.seed)
        return task.examples(split, self.config.data_dir, selection)

    # -- training ---------------------------------------------------------------

    def trained_model(self, job: TrainingJob, base: Base, host: LoraHost | None) -> tuple[TaskModel, dict[str, Any]]:
        """The job's model: loaded from the store when this exact training was done before."""
        task, config = job.lead, self.config
        args = train_args(task, base, config)
        if not job.split or not task.type.trainable:
            return self.untrained_model(job, base, host, args)
        examples = job.examples if job.noisy_examples is None else job.noisy_examples
        spec = {
            "base": base.fingerprint,
            "method": config.method,
            "task": task.training_identity(),
            "train_split": job.split,
            "train_selection": asdict(job.selection),
            "train_examples": stable_hash(examples),
            # only when set, so that the keys of models trained on clean data stay as they were
            **({"train_noise": [str(self.train_noise), config.seed]} if self.train_noise else {}),
            "args": args.to_dict(),
            "lora": {"rank": config.lora_rank, "alpha": config.lora_alpha} if config.method == "lora" else None,
        }
        key = stable_hash(spec, 20)
        artefact = {"key": key, "args": args.to_dict(), "train_split": job.split, "note": job.note}
        started = time.perf_counter()
        torch.manual_seed(config.seed)
        head = task.type.make_head(base.hidden_size, task.cfg)
        if self.artefacts.has(key):
            meta = self.artefacts.verify(key)
            encoder = self.load_trained_encoder(key, host)
            if head is not None:
                head.load_state_dict(_load_head(self.artefacts.path(key)))
            artefact.update(reused=True, train_stats=meta.get("train_stats"), seconds=time.perf_counter() - started)
            self.say(
                f"[green]{job.family}[/]: reused trained model {key} ({artefact['seconds']:.1f}s; "
                f"trained {meta.get('created', '?')} in {meta.get('train_stats', {}).get('seconds', '?')}s)"
            )
            return TaskModel(encoder, head, task.type), artefact
        if host is not None:
            host.add(key, lora_config(config.lora_rank, config.lora_alpha))
            encoder = host.activate([key], train=key)
        else:
            encoder = copy.deepcopy(base.encoder)
        model = TaskModel(encoder, head, task.type)
        features = featurize(task.type, examples, base.tokenizer, args.max_length, task.cfg)
        with self.progress() as progress:
            bar = progress.add_task(f"train {job.family} ({config.method})", total=None)
            stats = train(
                [Stream(model, features)],
                args,
                self.device,
                self.dtype,
                base.tokenizer.pad_token_id,
                on_step=lambda s, n, loss: progress.update(
                    bar, completed=s, total=n, description=f"train {job.family} loss {loss:.3f}"
                ),
            )
        meta = {
            "spec": spec,
            "role": task.cfg.role,
            "task": task.cfg.task,
            "family": job.family,
            "version": task.cfg.version,
            "base_model": base.name,
            "method": config.method,
            "seed": config.seed,
            "train_stats": stats,
            "harness_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.artefacts.save(key, meta, lambda d: self.save_trained(d, key, model, host))
        artefact.update(reused=False, train_stats=stats, seconds=time.perf_counter() - started)
        self.say(
            f"[green]{job.family}[/]: trained {config.method} model {key} in {stats['seconds']:.1f}s "
            f"({stats['steps']} steps on {stats['examples']} examples, loss {stats['first_loss']:.3f} → "
            f"{stats['final_loss']:.3f})"
        )
        return model, artefact

    def untrained_model(
        self, job: TrainingJob, base: Base, host: LoraHost | None, args: TrainArgs
    ) -> tuple[TaskModel, dict[str, Any]]:
        """Tasks with nothing to train (Tatoeba, BUCC) read the encoder as it is, as Phang et al. did."""
        task = job.lead
        torch.manual_seed(self.config.seed)
        head = task.type.make_head(base.hidden_size, task.cfg)
        encoder = base.encoder if host is None else host.activate([])
        key = stable_hash({"base": base.fingerprint, "untrained": task.training_identity()}, 20)
        artefact = {"key": key, "args": args.to_dict(), "train_split": None, "note": job.note, "reused": False}
        self.say(f"[green]{job.family}[/]: no training; evaluating the encoder as it is")
        return TaskModel(encoder, head, task.type), artefact

    def save_trained(self, folder: Path, key: str, model: TaskModel, host: LoraHost | None) -> None:
        from safetensors.torch import save_file

        if host is not None:
            host.save(key, folder / "adapter")
        else:
            model.encoder.save_pretrained(folder / "encoder")
        if model.head is not None:
            save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, str(folder / "head.safetensors"))

    def load_trained_encoder(self, key: str, host: LoraHost | None) -> torch.nn.Module:
        folder = self.artefacts.path(key)
        if host is not None:
            host.load(key, folder / "adapter")
            return host.activate([key])
        return load_encoder(str(folder / "encoder"))

    # -- evaluation -------------------------------------------------------------

    def evaluate_cell(self, cell: Cell, model: TaskModel, artefact: dict[str, Any], base: Base) -> dict[str, Any]:
        task, config = cell.task, self.config
        max_length = artefact["args"]["max_length"]
        cell.key = stable_hash(
            [
                artefact["key"],
                task.fingerprint(),
                cell.condition,
                config.split,
                stable_hash(cell.examples),
                max_length,
            ],
            20,
        )
        if config.resume and (done := self.cells.get(cell.key)) is not None:
            return done
        started = time.perf_counter()
        features = featurize(task.type, cell.examples, base.tokenizer, max_length, task.cfg)
        tokenized = time.perf_counter()
        batch_size = (
            config.batch_size
            if isinstance(config.batch_size, int)
            else auto_batch_size(model, features, self.device, self.dtype, base.tokenizer.pad_token_id)
        )
        with self.progress() as progress:
            bar = progress.add_task(f"eval {task.name}", total=len(features))
            outputs = predict_features(
                model,
                features,
                batch_size,
                self.device,
                self.dtype,
                base.tokenizer.pad_token_id,
                on_batch=lambda n: progress.advance(bar, n),
            )
        context = EvalContext(
            task, eval_split_of(task, config), config.data_dir, model, base.tokenizer, max_length, batch_size,
            self.device, self.dtype, self.progress,
        )  # fmt: skip
        predictions = task.type.predict_in_context(context, outputs, features, cell.examples)
        references = [task.type.reference(e) for e in cell.examples]
        metrics = compute(task.metric_list, references, predictions, language=task.language)
        score_name, score, table_metrics = headline(metrics)
        record = {
            "key": cell.key,
            "task": task.cfg.task,
            "family": task.family,
            "language": task.language,
            "condition": cell.condition,
            "noise": cell.noise,
            "train_noise": str(self.train_noise) if self.train_noise else None,
            "model": config.model,
            "model_label": base.label,
            "smoke": base.smoke,
            "base_fingerprint": base.fingerprint,
            "method": config.method,
            "intermediate": "none",
            "seed": config.seed,
            "split": eval_split_of(task, config),
            "metrics": metrics,
            "score": score,
            "score_name": score_name,
            "table_metrics": table_metrics,
            "n": len(cell.examples),
            "doc_ids": [e["id"] for e in cell.examples] if config.limit is not None else None,
            "artefact": artefact,
            "spec": task.cfg.to_dict(),
            "timings": {
                "tokenize_s": tokenized - started,
                "predict_s": time.perf_counter() - tokenized,
                "batch_size": batch_size,
            },
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if config.log_samples:
            samples = [
                {
                    "id": e["id"],
                    **{k: e.get(k) for k in task.type.fields},
                    "prediction": task.type.show(p, task.cfg),
                    "correct": task.type.reference(e) == p,
                }
                for e, p in zip(cell.examples, predictions)
            ]
            write_samples(config.output / "samples" / f"{task.cfg.task}@{cell.condition}.jsonl", samples)
        self.cells.put(cell.key, record)
        return record

    def progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )

    # -- results ----------------------------------------------------------------

    def group_scores(self, tasks: list[Task], records: list[dict[str, Any]]) -> dict[str, Any]:
        """Each group's aggregate (mean over its languages, as XTREME-R averages), per condition."""
        groups: dict[str, Any] = {}
        for family in dict.fromkeys(t.family for t in tasks):
            if self.index.entry(family).kind != "group":
                continue
            group = self.index.group(family)
            rows = [r for r in records if r["family"] == family]
            metrics = [m["metric"] for m in group.aggregate_metric_list] or [rows[0]["score_name"]]
            groups[family] = {"tasks": group.task, "scores": aggregate(rows, metrics)}
        return groups

    def finish(self, tasks: list[Task], records: list[dict[str, Any]], base: Base) -> dict[str, Any]:
        config = self.config
        table = leaderboard(records, title=f"{base.label} · {config.method} · seed {config.seed} · {config.split}")
        noise_table = stats_table(records)
        run_id = (
            datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + stable_hash([r["key"] for r in records], 6)
        )
        result = {
            "run_id": run_id,
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
            "model": {"name": base.name, "label": base.label, "fingerprint": base.fingerprint, "smoke": base.smoke},
            "environment": environment(),
            "tasks": {t.cfg.task: t.cfg.to_dict() for t in tasks},
            "groups": self.group_scores(tasks, records),
            "results": records,
            "table": {"columns": table.columns, "rows": table.rows},
            "timings": self.timings,
            "events": self.events,
        }
        run_dir = config.output / run_id
        write_json(run_dir / "results.json", result)
        write_atomic(run_dir / "results.md", "\n".join(t.to_markdown() for t in (table, noise_table) if t))
        result["table_obj"] = table
        result["noise_table_obj"] = noise_table
        result["run_dir"] = run_dir
        return result


def _texts(examples: list[dict[str, Any]]) -> list[str]:
    """Model-input text of examples (for the tiny preset's tokenizer); never labels."""
    out: list[str] = []
    for e in examples:
        for name in ("text", "text_pair", "choices", "context", "question", "tokens"):
            value = e.get(name)
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, list):
                out.append(" ".join(str(v) for v in value))
    return out


def _load_head(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "head.safetensors"))
