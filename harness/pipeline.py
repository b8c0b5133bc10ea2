"""``harness run``: the whole pipeline on one screen. Plan, then execute.

    specs ─► tasks ─► jobs (English training data) and cells (language × condition)      Runner.prepare
                          │
    units: train each intermediate stage ─► train each target on each stage ─► evaluate   Runner.units
           each cell under its models (content keys, dependencies; serialisable)
                          │
    an executor runs them where it likes: this process, Ray actors, SLURM jobs             harness.executors
    execute(unit): the base encoder loaded once per process, trained stages kept           Runner.execute
                          │
          records (one per cell and model, in the results store) ─► tables                Runner.finish

Every target is trained on top of every requested intermediate stage (``none``
is always one of them: the baseline), and every cell is scored under each of
those models in one unit (mixed-adapter batches). Trained stages are
content-addressed in the artefact store and every scored (cell, model) is a
record in the results store, so a rerun skips what is done; both stores are
safe to share between processes (``harness.locks``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Task as ProgressTask
from rich.text import Text

from harness.adapters.bank import ModelBank, Trained, stage_key
from harness.adapters.lora import LoraHost
from harness.adapters.store import ArtefactStore
from harness.noise import NoiseSpec, noisy_variants, parse, parse_conditions, wrap

from .attacking import attack_cells, check_dictionaries
from .cells import Cell, Evaluator, record_key, sample_rows, samples_path
from .config import NO_INTERMEDIATE, RunConfig, parse_stage
from .errors import HarnessError
from .hub import SMOKE_PRESETS
from .jsonio import loads
from .mlm import MlmMix, held_out_text, read_corpus
from .models import Base, identify_base, load_base, resolve_device, resolve_dtype
from .paths import cache_root, remove_stale_temps
from .planning import (
    TrainingJob,
    check_metrics,
    eval_split_of,
    plan_training,
    resolve_tasks,
    skip_missing_languages,
    smoke_train_limit,
    train_args,
    train_language_variants,
)
from .plugins import load_plugins
from .preflight import check_run
from .registry import TaskIndex
from .replay import save_run
from .report import Table, all_tables, benchmark_scores, group_scores, target_records
from .results import CellStore, environment, write_samples
from .sample import data_setting
from .spec import stable_hash
from .task import DocSelection, Task

__all__ = ["RunConfig", "Runner", "Unit", "execute"]


@dataclass(frozen=True)
class Unit:
    """One unit of work: small, picklable, named by content key, runnable in any process that can read the data.

    A worker re-plans the run from ``config`` (deterministic, no model needed) and checks that the unit's key is
    the one it computes, so a driver and a worker that disagree (other data, other base) fail loudly.
    """

    kind: str  # "train" (an intermediate stage, or a target on a stage) | "eval" (a cell under its models)
    key: str  # the trained stage's artefact key; for "eval", the hash of the cell's record keys
    label: str  # what a person reads in progress displays and --dry-run
    config: RunConfig
    stage: str = NO_INTERMEDIATE  # "train": the intermediate stage (trained itself, or the one under the target)
    job: int | None = None  # "train": the target job trained on ``stage`` (None: the intermediate stage itself)
    cell: int | None = None  # "eval": which cell
    deps: tuple[str, ...] = ()  # keys of the units that must be done first
    outputs: tuple[str, ...] = ()  # what exists once it is done: the artefact key, or the record keys
    work: float = 0.0  # examples × epochs (train) or examples × models (eval): the estimate of work left


class RateColumn(ProgressColumn):
    """Steps (training) or features (evaluation) per second; rich's own speed column formats bytes."""

    def render(self, task: ProgressTask) -> Text:
        return Text(f"{task.speed:,.1f}/s" if task.speed else "", style="progress.data.speed")


#: this process's runners, one per run configuration: each keeps its planned data and trained stages
_RUNNERS: dict[str, Runner] = {}
#: this process's base encoders (and LoRA host), loaded once per (model, method) and kept for every unit
_RESIDENT: dict[tuple[str, str, str], tuple[Base, LoraHost | None]] = {}


def execute(unit: Unit) -> bool:
    """Run ``unit`` in this process (whatever executor sent it); False when another process had already done it."""
    runner = _RUNNERS.get(stable_hash(asdict(unit.config)))
    if runner is None:
        runner = Runner(unit.config)
        runner.prepare()
    return runner.execute(unit)


def cell_name(cell: Cell) -> str:
    """``xnli_de@clean``, ``xnli_de@typo:0.1`` (a noisy task's own name), ``xnli_de@attack:charflip:...``."""
    if cell.attack is not None:
        return f"{cell.task.name}@{cell.condition}"
    return cell.task.name + "@clean" * (cell.noise is None)


class Runner:
    """One run configuration: its plan (data, units) and, once a unit runs here, the resident models."""

    def __init__(self, config: RunConfig, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        load_plugins(config.plugins)  # before anything names what they register (a worker loads them here)
        self.index = TaskIndex(config.include_paths)
        self.config = config = check_run(config, self.index)  # every argument mistake, before data or models
        self.device = resolve_device(config.device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        self.smoke = config.model in SMOKE_PRESETS
        self.timings: dict[str, float] = {}
        self.skipped: dict[str, list[str]] = {}  # family -> languages without local files, not run
        self.unscorable: dict[str, str] = {}  # family -> why it was not trained: no cell could be scored
        self.store = ArtefactStore(config.adapter_dir)
        self.events: list[str] = []
        self.conditions = parse_conditions(config.noise)
        self.train_noise = parse(config.train_noise) if config.train_noise else None
        self.trained: dict[tuple[str, int | None], Trained] = {}  # (stage, target job) -> model, this process
        self.stages: dict[str, list[TrainingJob]] = {}
        self.bank: ModelBank | None = None
        self.evaluator: Evaluator | None = None

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """A status line with a spinner while a step that can take seconds runs (on a terminal; nothing in a log)."""
        if not what:
            yield
            return
        with self.console.status(what):
            yield

    def say(self, message: str) -> None:
        self.events.append(message)
        self.console.print(message)

    def run(self) -> dict[str, Any]:
        """Plan and execute this configuration in this process (``harness run`` with one seed and method)."""
        from .executors import LocalExecutor

        start = time.perf_counter()
        units = self.prepare().units()
        LocalExecutor(self.console).run(units)
        self.timings["total_s"] = time.perf_counter() - start
        return self.finish()

    # -- planning ------------------------------------------------------------------------------

    def prepare(self) -> Runner:
        """Tasks, training jobs, intermediate stages and cells with their (noised) examples; no model is loaded."""
        start, config = time.perf_counter(), self.config
        self.remove_stale_temps()
        with self.step(f"Reading the data of {', '.join(config.tasks)}"):
            tasks, skipped = skip_missing_languages(resolve_tasks(config.tasks, config, self.index), config)
            self.skipped = skipped
            check_metrics(tasks)
            for family, languages in skipped.items():
                self.say(f"[yellow]{family}[/]: no local files for {' '.join(languages)} under {config.data_dir}; "
                         f"skipped")  # fmt: skip
            self.tasks = tasks
            self.jobs = self.plan(train_language_variants(tasks, config.train_languages), noisy=True)
            if (
                self.smoke
                and config.max_train_examples is None
                and any(job.trainable and len(job.examples) >= smoke_train_limit(config) for job in self.jobs)
            ):
                self.say(f"smoke model: training capped at {smoke_train_limit(config)} examples per task "
                         f"({'--limit' if config.limit else 'the preset'}; --max-train-examples N sets it)")  # fmt: skip
            clean = [self.clean_cell(task, job) for job in self.jobs for task in job.tasks]
            clean = self.skip_unscorable(clean)
            self.stages = {name: self.stage_jobs(name, clean) for name in self.intermediate_names()}
        noises = [c for c in self.conditions if isinstance(c, NoiseSpec)]
        with self.step(f"Noising {len(clean)} cells under {', '.join(str(n) for n in noises)}" if noises else ""):
            cells = clean + [Cell(v.task, c.job, v.condition, v.examples, v.record, scored=c.scored, skipped=v.skipped)
                             for c in clean for v in noisy_variants(c.task, c.examples, noises, config.noise_seed)]  # fmt: skip
        cells += attack_cells(clean, self.conditions)  # their examples are made per model, when evaluated
        check_dictionaries(cells, config.data_dir)
        for cell in cells:
            if cell.skipped:
                self.say(f"[yellow]{cell.task.name}[/] under {cell.condition}: skipped ({cell.skipped})")
        self.cells = sorted(cells, key=lambda c: self.jobs.index(c.job))  # a job's cells together: its models stay
        with self.step("Building the tiny smoke model (once per machine, from the corpus shipped in the package)"
                       if self.smoke else f"Identifying base model {config.model}"):  # fmt: skip
            self.base_id = identify_base(config.model, model_args=config.model_args)
        _RUNNERS[stable_hash(asdict(config))] = self
        self.timings["prepare_data_s"] = time.perf_counter() - start
        return self

    def skip_unscorable(self, clean: list[Cell]) -> list[Cell]:
        """Training jobs none of whose evaluation cells can be scored (no gold labels: XTREME's download blanks
        TyDiQA's dev answers) are not trained, and their cells not evaluated, unless --train-unscorable: said
        now, at planning (so in --dry-run too), and in the tables' caption. Returns the cells kept."""
        for job in list(self.jobs):
            cells = [c for c in clean if c.job is job]
            if not job.trainable or any(c.scorable for c in cells):
                continue
            languages = " ".join(dict.fromkeys(c.task.language for c in cells))
            reason = (f"no gold labels in its {eval_split_of(job.lead, self.config)} data ({languages}): no cell "
                      f"can be scored")  # fmt: skip
            if self.config.train_unscorable:
                self.say(f"[yellow]{job.family}[/]: {reason}; trained anyway (--train-unscorable), its rows stay empty")
                continue
            self.say(f"[yellow]{job.family}[/]: {reason}, so it is not trained (--train-unscorable trains it anyway)")
            self.unscorable[job.family] = reason
            self.jobs = [j for j in self.jobs if j is not job]
        return [c for c in clean if any(c.job is j for j in self.jobs)]

    def units(self) -> list[Unit]:
        """The plan: train each intermediate stage, each target on each stage, then evaluate each cell under
        the models of its job (one per stage), in an order that is also a valid execution order."""
        config, base, tag = self.config, self.base_id, f"{self.config.method}, seed {self.config.seed}"
        below = {name: self.stage_key(name) for name in self.stages}
        units = []
        for name, jobs in self.stages.items():
            if jobs:  # a task to train (not none, not a stored @KEY)
                work = sum(len(j.training_examples) * train_args(j.lead, base, config).epochs for j in jobs)
                key = str(below[name])
                units.append(Unit("train", key, f"train {name} ({tag})", config, name, outputs=(key,), work=work))
        for j, job in enumerate(self.jobs):
            targets = {name: stage_key(base, config, [job], key) for name, key in below.items()}
            epochs = train_args(job.lead, base, config).epochs
            tag = f"{config.method}, seed {config.seed}" + (f", trained in {job.train_language}"
                                                            if job.lead.train_languages else "")  # fmt: skip
            units += [Unit("train", key, f"train {job.family} on {name} ({tag})", config, name, j,
                           deps=(str(below[name]),) if self.stages[name] else (), outputs=(key,),
                           work=len(job.training_examples) * epochs)
                      for name, key in targets.items() if job.trainable]  # fmt: skip
            max_length = train_args(job.lead, base, config).max_length
            for c, cell in enumerate(self.cells):
                if cell.job is job:
                    keys = tuple(record_key(cell, key, config.split, max_length) for key in targets.values())
                    deps = tuple(targets.values()) if job.trainable else tuple(k for k in below.values() if k)
                    units.append(Unit("eval", stable_hash(keys, 20), f"eval {cell_name(cell)} "
                                      f"×{len(keys)} ({tag})", config, cell=c, deps=deps, outputs=keys,
                                      work=len(cell.examples) * len(keys)))  # fmt: skip
        return units

    def stage_key(self, name: str) -> str | None:
        """An intermediate stage's key: None for the bare base, the key itself for a stored ``@KEY``."""
        if name == NO_INTERMEDIATE:
            return None
        return name[1:] if name.startswith("@") else stage_key(self.base_id, self.config, self.stages[name], None)

    def train(self, name: str) -> dict[str, Any]:
        """``harness train``: one intermediate stage, trained or reused, with its dev scores."""
        jobs = self.stage_jobs(name, [])
        if not jobs:
            raise HarnessError("harness train needs an intermediate task, e.g. --task mnli.")
        self.stages = {name: jobs}
        self.remove_stale_temps()
        stage = self.intermediate(name)
        bank = self.resident()[1]
        meta = bank.store.meta(stage.key)
        table = Table(f"{name}: {meta['method']} {meta['role']} model {stage.key} · dev scores", ["task", "metric",
                      "score"], label_columns=2)  # fmt: skip
        for task, metrics in meta.get("dev_metrics", {}).items():
            table.rows += [[task, metric, value] for metric, value in metrics.items()]
        return {"key": stage.key, "store": bank.store.root, "table": table, "meta": meta}

    def plan(self, tasks: list[Task], noisy: bool = False) -> list[TrainingJob]:
        """Training jobs with their English examples (noised with --train-noise for targets)."""
        jobs = plan_training(tasks, self.config, self.smoke)
        for job in jobs:
            if job.note:
                self.say(f"[yellow]{job.family}[/]: {job.note}")
            job.load(self.config.data_dir)
            if noisy and self.train_noise is not None and job.split:
                job.noisy_examples = wrap(job.lead, self.train_noise, self.config.noise_seed).perturb(
                    job.examples, job.split
                )
        return jobs

    def stage_jobs(self, name: str, cells: list[Cell]) -> list[TrainingJob]:
        """An intermediate stage's training jobs; ``+mlm`` puts the masked-LM mix on the first."""
        jobs = self.plan(self.intermediate_tasks(name))
        if jobs and name != NO_INTERMEDIATE and not name.startswith("@") and parse_stage(name)[1]:
            jobs[0].mlm = self.mlm_mix(name, cells)
        return jobs

    def mlm_mix(self, name: str, cells: list[Cell]) -> MlmMix:
        """The unlabelled text of a ``+mlm`` stage: ``--mlm-corpus``, or for the smoke model the target tasks'
        non-English evaluation docs that are never evaluated (their input text only, never their labels)."""
        config = self.config
        if config.mlm_corpus is not None:
            corpus = read_corpus(config.mlm_corpus, config.mlm_languages, config.mlm_max_lines)
            source = f"{config.mlm_corpus} ({', '.join(f'{k}.txt' for k in corpus)})"
        elif self.smoke and cells:
            evaluated = {e["id"] for c in cells for e in c.examples}
            splits = {(c.task.cfg.task, eval_split_of(c.task, config)): c.task for c in cells if c.condition == "clean"}
            docs = [(task.language, e) for (_, split), task in splits.items()
                    if task.language in (config.mlm_languages or [task.language])
                    for e in task.examples(split, config.data_dir)]  # fmt: skip
            corpus = held_out_text(docs, evaluated)
            source = (f"the input text (no labels) of the target tasks' {', '.join(sorted(corpus))} evaluation docs "
                      f"that are not evaluated")  # fmt: skip
            if not corpus:
                raise HarnessError(f"{name}: every non-English doc of the target tasks is evaluated, so none is left "
                                   f"as unlabelled masked-LM text; pass --limit N or --mlm-corpus DIR.")  # fmt: skip
        else:
            raise HarnessError(
                f"{name} mixes masked-LM batches on unlabelled multilingual text into the stage: pass --mlm-corpus "
                f"DIR, a folder with one <lang>.txt per language (e.g. Wikipedia or CC-100 excerpts)."
            )
        mix = MlmMix(corpus, source, config.mlm_ratio, config.mlm_rate)
        lines = sum(len(v) for v in corpus.values())
        self.say(f"[yellow]{name}[/]: masked-LM text: {lines} lines in {len(corpus)} languages from {source}")
        return mix

    def intermediate_names(self) -> list[str]:
        """``--intermediate`` values, with the ``none`` baseline always first."""
        names = [n for n in self.config.intermediates if n != NO_INTERMEDIATE]
        return [NO_INTERMEDIATE, *dict.fromkeys(names)]

    def intermediate_tasks(self, name: str) -> list[Task]:
        """The tasks of one intermediate stage: none, a task, a multi-task set ``a+b``, a task in other
        languages ``mnli@de,ru``, or a stored ``@key``."""
        if name == NO_INTERMEDIATE or name.startswith("@"):
            return []
        if name == "all-intermediate":
            name = "+".join(t for t in self.index.expand("intermediate") if not self.index.task(t).mixture)
        english = replace(self.config, languages=None)  # intermediate tasks are English, whatever --languages says
        tasks = []
        for part, languages in parse_stage(name)[0]:
            found = resolve_tasks([part], english, self.index)  # one task (check_run)
            tasks += [t.with_train_languages(languages) if languages else t for t in found]
        return tasks

    def clean_cell(self, task: Task, job: TrainingJob) -> Cell:
        """A task's clean evaluation cell: its examples, or the ``--limit`` sample of them.

        Retrieval among the split's own sentences (Tatoeba, BUCC) keeps the whole split as its pool and
        scores the sample's queries only, so a limited score estimates the full-pool one; ``--limit-pool``
        asks for the old, cheaper pool of the sampled sentences, which records and tables then say.
        """
        holdout = "eval" if job.eval_holdout else None
        limit, seed = self.config.limit, self.config.sample_seed
        if limit is None or self.config.limit_pool or not task.type.pools_split(task.cfg):
            examples = task.examples(eval_split_of(task, self.config), self.config.data_dir,
                                     DocSelection(holdout=holdout, limit=limit, seed=seed))  # fmt: skip
            return Cell(task, job, "clean", examples)
        examples = task.examples(eval_split_of(task, self.config), self.config.data_dir,
                                 DocSelection(holdout=holdout, seed=seed))  # fmt: skip
        return Cell(task, job, "clean", examples, scored=DocSelection(limit=limit, seed=seed).sample(
            list(range(len(examples)))))  # fmt: skip

    def remove_stale_temps(self) -> None:
        """What killed runs left half-written (temporaries whose writer is dead), removed before this run writes."""
        output, cache = self.config.output, cache_root()
        folders = [self.store.root, output / "records", output / "predictions", output / "samples",
                   output / "plans", cache / "features", cache / "tiny"]  # fmt: skip
        removed = [path for folder in folders for path in remove_stale_temps(folder)]
        if removed:
            self.say(f"Removed {len(removed)} temporary file(s) left by killed runs: "
                     f"{', '.join(str(p) for p in removed[:3])}{' ...' if len(removed) > 3 else ''}")  # fmt: skip

    # -- executing units (in whatever process holds the resident base) --------------------------

    def execute(self, unit: Unit) -> bool:
        """Train one stage or score one cell; False when another process had already done it.

        Checks that this process planned the same keys as the driver."""
        evaluator = self.resident()[2]
        written = evaluator.written
        if unit.kind == "train":
            stage = self.intermediate(unit.stage) if unit.job is None else self.target(unit.stage, unit.job)
            keys, computed = [stage.key], not stage.info["reused"]
        else:
            assert unit.cell is not None  # an "eval" unit names its cell
            cell = self.cells[unit.cell]
            models = [(name, self.target(name, self.jobs.index(cell.job))) for name in self.stages]
            keys = [record["key"] for record in evaluator.evaluate(cell, models)]
            computed = evaluator.written > written
        if tuple(keys) != unit.outputs:
            raise HarnessError(
                f"Unit {unit.label!r}: this process computed {', '.join(keys)}, the plan says "
                f"{', '.join(unit.outputs)}. The driver and this worker see different data, task specs or base "
                f"model; give every worker the same --data-dir, --include-path and harness version."
            )
        return computed

    def resident(self) -> tuple[Base, ModelBank, Evaluator]:
        """The base encoder (loaded once per process and model), this run's model bank and evaluator."""
        if self.bank is None or self.evaluator is None:
            started, config = time.perf_counter(), self.config
            resident = (config.model, stable_hash(config.model_args), config.method)
            if resident not in _RESIDENT:
                with self.step(f"Loading base model {config.model}"):
                    base = load_base(config.model, model_args=config.model_args)
                _RESIDENT[resident] = (base, LoraHost(base.encoder) if config.method == "lora" else None)
            base, host = _RESIDENT[resident]
            self.bank = ModelBank(base, self.store, config, self.device, self.dtype, self.say, self.progress, host)
            self.evaluator = Evaluator(config, base, CellStore(config.output), self.device, self.dtype, self.say,
                                       self.progress)  # fmt: skip
            self.timings["load_model_s"] = time.perf_counter() - started
        return self.bank.base, self.bank, self.evaluator

    def target(self, name: str, job: int) -> Trained:
        """The target model of training job ``job`` on intermediate stage ``name``, trained or loaded once here.

        Only the current job's targets stay in memory (a full fine-tuned target is a whole encoder)."""
        if (name, job) not in self.trained:
            for old in [k for k in self.trained if k[1] is not None and k[1] != job]:
                del self.trained[old]
            bank = self.resident()[1]
            self.trained[name, job] = bank.obtain([self.jobs[job]], self.intermediate(name), "target")
        return self.trained[name, job]

    def intermediate(self, name: str) -> Trained:
        """One intermediate stage, trained (and scored on its own dev data) or loaded, once per process."""
        if (name, None) in self.trained:
            return self.trained[name, None]
        _, bank, evaluator = self.resident()
        jobs = self.stages[name] if name in self.stages else self.stage_jobs(name, [])
        if name == NO_INTERMEDIATE:
            stage = bank.bare()
        elif name.startswith("@"):
            stage = bank.stored(name[1:])
        else:

            def dev(stage: Trained) -> dict[str, dict[str, float]]:  # scored before it is stored, saved with it
                cells = [self.clean_cell(job.lead, job) for job in jobs]
                return {c.job.family: evaluator.evaluate(c, [(NO_INTERMEDIATE, stage)])[0]["metrics"] for c in cells}

            stage = bank.obtain(jobs, bank.bare(), "intermediate", dev)
        self.trained[name, None] = stage
        return stage

    def progress(self) -> Progress:
        """A transient bar on a terminal; nothing in a log file (rich would leave a blank line per bar there)."""
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=self.console,
                        transient=True, disable=not self.console.is_terminal)  # fmt: skip

    # -- results -------------------------------------------------------------------------------

    def group_scores(self, tasks: list[Task], records: list[dict[str, Any]]) -> dict[str, Any]:
        """Each task family's scores (``report.group_scores``) and each benchmark's the run touches
        (``report.benchmark_scores``), per setting; a family or benchmark without a number says why."""
        records = target_records(records)
        groups: dict[str, Any] = {}
        for family in dict.fromkeys([*(t.family for t in tasks), *self.skipped]):
            if self.index.entry(family).kind != "group":
                continue
            rows = [r for r in records if r["family"] == family]
            run = [t.language for t in tasks if t.family == family]
            groups[family] = {"tasks": self.index.group(family).task, "scores": group_scores(rows, run)}
            if family in self.skipped:
                groups[family]["skipped_languages"] = self.skipped[family]
            if not rows:
                groups[family]["reason"] = (
                    f"no local files for any of its languages under {self.config.data_dir}: not run"
                    if family in self.skipped and not run
                    else f"{self.unscorable[family]}: not trained"
                    if family in self.unscorable
                    else "no records: none of its cells was scored in this run"
                )
        families = set(groups)
        for name, members in self.index.benchmarks().items():
            if families & set(members):
                groups[name] = {"tasks": list(members), "languages": members,
                                "scores": benchmark_scores(records, members)}  # fmt: skip
        return groups

    def records(self) -> list[dict[str, Any]]:
        """This configuration's records, in plan order (a cell's models in ``--intermediate`` order)."""
        store = CellStore(self.config.output)
        keys = [key for unit in self.units() if unit.kind == "eval" for key in unit.outputs]
        records = [store.get(key) for key in keys]
        found = [record for record in records if record is not None]
        if len(found) < len(keys):
            raise HarnessError(
                f"{len(keys) - len(found)} of {len(keys)} records are missing under {store.dir} after the run."
            )
        return found

    def fill_samples(self, records: list[dict[str, Any]]) -> None:
        """``--log-samples`` on a resumed run: a cell recorded without it gets its samples file from its stored
        predictions (no model needed); an attack cell, whose text is made per model as it is scored, says why not."""
        store = CellStore(self.config.output)
        cells = {key: self.cells[unit.cell] for unit in self.units() if unit.kind == "eval" for key in unit.outputs}  # type: ignore[index]
        without = []
        for record in records:
            path, cell = samples_path(self.config.output, record), cells[record["key"]]
            if path.exists() or record.get("skipped"):  # a skipped cell has no predictions: nothing to show
                continue
            if cell.attack is not None:
                without.append(f"{record['task']}@{record['condition']}")
                continue
            examples = cell.scored_examples
            lines = store.predictions_path(record["key"]).read_text(encoding="utf-8").splitlines()
            write_samples(path, sample_rows(cell.task, examples, [loads(line) for line in lines]))
        if without:
            self.say(f"[yellow]--log-samples[/]: no samples file for {', '.join(dict.fromkeys(without))}: scored "
                     f"before without it, and an attack's text is made per model while it is scored; pass "
                     f"--no-resume to score them again with their samples.")  # fmt: skip

    def finish(self) -> dict[str, Any]:
        config, base, records, tasks = self.config, self.base_id, self.records(), self.tasks
        if config.log_samples:
            self.fill_samples(records)
        title = f"{base.label} · {config.method} · seed {config.seed} · {config.split}" + (
            " · the embedded data sample" if data_setting(config.data_dir) else ""
        )
        skipped = CellStore(config.output).scan().skipped  # files in the store that are not records: said, not hidden
        benchmarks = self.index.benchmarks()
        tables = all_tables(records, benchmarks, title, skipped, unscorable=self.unscorable)
        result = {
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
            "model": {"name": base.name, "label": base.label, "fingerprint": base.fingerprint, "smoke": base.smoke},
            "environment": environment(),
            "tasks": {t.cfg.task: t.cfg.to_dict() for t in tasks},
            "groups": self.group_scores(tasks, records),
            "results": records,
            "timings": self.timings,
            "events": self.events,
            "skipped_records": [{"file": str(s.path), "reason": s.reason} for s in skipped],
            "unscorable": self.unscorable,
        }
        return save_run(config.output, result, tables, title, benchmarks)
