"""``harness run``: the whole pipeline on one screen.

    specs ─► tasks ─► jobs (English training data) and cells (language × condition)
                          │
          base encoder, loaded once ─► intermediate stages ─► target stages (trained once, stored)
                          │
          features (cached) ─► predictions ─► metrics ─► records ─► tables

Every target is trained on top of every requested intermediate stage (``none``
is always one of them: the baseline), and every cell is scored under each of
those models. Trained stages are content-addressed in the artefact store, so a
second run reuses them; every scored (cell, model) is a record in the results
store, so a crashed run resumes where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.adapters.bank import ModelBank, Trained
from harness.adapters.store import ArtefactStore
from harness.noise import noisy_variants, parse, parse_conditions, wrap

from .cells import Cell, Evaluator
from .config import NO_INTERMEDIATE, RunConfig
from .errors import HarnessError
from .models import SMOKE_PRESETS, Base, load_base, resolve_device, resolve_dtype
from .paths import write_atomic
from .planning import TrainingJob, eval_split_of, model_inputs, plan_training, resolve_tasks, skip_missing_languages
from .registry import TaskIndex
from .report import Table, all_tables, benchmark_scores, group_scores, target_records
from .results import CellStore, environment, write_json
from .spec import stable_hash
from .task import DocSelection, Task

__all__ = ["RunConfig", "Runner"]


class Runner:
    """Holds the run's resident state: the base encoder, its trained stages, the stores."""

    def __init__(self, config: RunConfig, console: Console | None = None) -> None:
        self.config = config
        self.console = console or Console(stderr=True)
        self.index = TaskIndex(config.include_paths)
        self.device = resolve_device(config.device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        self.smoke = config.model in SMOKE_PRESETS
        self.timings: dict[str, float] = {}
        self.skipped: dict[str, list[str]] = {}  # family -> languages without local files, not run
        self.events: list[str] = []
        # bad noise specs fail here, before any data is read or model trained
        self.conditions = parse_conditions(config.noise)
        self.train_noise = parse(config.train_noise) if config.train_noise else None

    def say(self, message: str) -> None:
        self.events.append(message)
        self.console.print(message)

    def run(self) -> dict[str, Any]:
        start, config = time.perf_counter(), self.config
        tasks, skipped = skip_missing_languages(resolve_tasks(config.tasks, config, self.index), config)
        self.skipped = skipped
        for family, languages in skipped.items():
            self.say(f"[yellow]{family}[/]: no local files for {' '.join(languages)} under {config.data_dir}; skipped")
        jobs = self.plan(tasks, noisy=True)
        stages = {name: self.plan(self.intermediate_tasks(name)) for name in self.intermediate_names()}
        cells = [self.clean_cell(task, job) for job in jobs for task in job.tasks]
        cells += [Cell(v.task, c.job, v.condition, v.examples, v.record, c.scored)
                  for c in list(cells) for v in noisy_variants(c.task, c.examples, self.conditions, config.seed)]  # fmt: skip
        self.timings["prepare_data_s"] = time.perf_counter() - start

        base = self.load_base([*jobs, *(j for js in stages.values() for j in js)])
        bank = ModelBank(base, ArtefactStore(config.adapter_dir), config, self.device, self.dtype, self.say,
                         self.progress)  # fmt: skip
        evaluator = Evaluator(config, base, CellStore(config.output), self.device, self.dtype, self.say, self.progress)
        below = {name: self.intermediate(name, js, bank, evaluator) for name, js in stages.items()}
        records = []
        for job in jobs:
            models = [(name, bank.obtain([job], on_top, "target")) for name, on_top in below.items()]
            for cell in (c for c in cells if c.job is job):
                records += evaluator.evaluate(cell, models)
        self.timings["total_s"] = time.perf_counter() - start
        return self.finish(tasks, records, base)

    def train(self, name: str) -> dict[str, Any]:
        """``harness train``: one intermediate stage, trained or reused, with its dev scores."""
        jobs = self.plan(self.intermediate_tasks(name))
        if not jobs:
            raise HarnessError("harness train needs an intermediate task, e.g. --task mnli.")
        base = self.load_base(jobs)
        bank = ModelBank(base, ArtefactStore(self.config.adapter_dir), self.config, self.device, self.dtype,
                         self.say, self.progress)  # fmt: skip
        evaluator = Evaluator(self.config, base, CellStore(self.config.output), self.device, self.dtype, self.say,
                              self.progress)  # fmt: skip
        stage = self.intermediate(name, jobs, bank, evaluator)
        meta = bank.store.meta(stage.key)
        table = Table(f"{name}: {meta['method']} {meta['role']} model {stage.key} · dev scores", ["task", "metric",
                      "score"], label_columns=2)  # fmt: skip
        for task, metrics in meta.get("dev_metrics", {}).items():
            table.rows += [[task, metric, value] for metric, value in metrics.items()]
        return {"key": stage.key, "store": bank.store.root, "table": table, "meta": meta}

    # -- planning ------------------------------------------------------------------------------

    def plan(self, tasks: list[Task], noisy: bool = False) -> list[TrainingJob]:
        """Training jobs with their English examples (noised with --train-noise for targets)."""
        jobs = plan_training(tasks, self.config, self.smoke)
        for job in jobs:
            if job.note:
                self.say(f"[yellow]{job.family}[/]: {job.note}")
            job.load(self.config.data_dir)
            if noisy and self.train_noise is not None and job.split:
                job.noisy_examples = wrap(job.lead, self.train_noise, self.config.seed).perturb(job.examples, job.split)
        return jobs

    def intermediate_names(self) -> list[str]:
        """``--intermediate`` values, with the ``none`` baseline always first."""
        names = [n for n in self.config.intermediates if n != NO_INTERMEDIATE]
        return [NO_INTERMEDIATE, *dict.fromkeys(names)]

    def intermediate_tasks(self, name: str) -> list[Task]:
        """The tasks of one intermediate stage: none, a task, a multi-task set ``a+b``, or a stored ``@key``."""
        if name == NO_INTERMEDIATE or name.startswith("@"):
            return []
        if name == "all-intermediate":
            name = "+".join(t for t in self.index.expand("intermediate") if not self.index.task(t).mixture)
        english = replace(self.config, languages=None)  # intermediate tasks are English, whatever --languages says
        tasks = []
        for part in name.split("+"):
            found = resolve_tasks([part], english, self.index)
            if len(found) != 1:
                raise HarnessError(f"Intermediate {part!r} is {len(found)} tasks; an intermediate stage is one "
                                   f"English task per name (e.g. mnli, squad, or mnli+squad for multi-task).")  # fmt: skip
            tasks += found
        return tasks

    def clean_cell(self, task: Task, job: TrainingJob) -> Cell:
        """A task's clean evaluation cell: its examples, or the ``--limit`` sample of them.

        Retrieval among the split's own sentences (Tatoeba, BUCC) keeps the whole split as its pool and
        scores the sample's queries only, so a limited score estimates the full-pool one; ``--limit-pool``
        asks for the old, cheaper pool of the sampled sentences, which records and tables then say.
        """
        holdout = "eval" if job.eval_holdout else None
        limit, seed = self.config.limit, self.config.seed
        if limit is None or self.config.limit_pool or not task.type.pools_split(task.cfg):
            examples = task.examples(eval_split_of(task, self.config), self.config.data_dir,
                                     DocSelection(holdout=holdout, limit=limit, seed=seed))  # fmt: skip
            return Cell(task, job, "clean", examples)
        examples = task.examples(eval_split_of(task, self.config), self.config.data_dir,
                                 DocSelection(holdout=holdout, seed=seed))  # fmt: skip
        return Cell(task, job, "clean", examples, scored=DocSelection(limit=limit, seed=seed).sample(
            list(range(len(examples)))))  # fmt: skip

    # -- models --------------------------------------------------------------------------------

    def load_base(self, jobs: list[TrainingJob]) -> Base:
        """The base encoder; the tiny preset's tokenizer learns from the run's training inputs and whole
        evaluation splits (no --limit), so it depends on the run's tasks but not on how many docs are scored."""
        started = time.perf_counter()
        corpus = None
        if self.smoke:
            corpus = [t for job in jobs for t in model_inputs(job.examples)]
            for task in (t for job in jobs for t in job.tasks):
                corpus += model_inputs(task.examples(eval_split_of(task, self.config), self.config.data_dir))
        base = load_base(self.config.model, corpus)
        self.timings["load_model_s"] = time.perf_counter() - started
        return base

    def intermediate(self, name: str, jobs: list[TrainingJob], bank: ModelBank, evaluator: Evaluator) -> Trained:
        """One intermediate stage, trained (and scored on its own dev data) or reused."""
        if name == NO_INTERMEDIATE:
            return bank.bare()
        if name.startswith("@"):
            return bank.stored(name[1:])
        stage = bank.obtain(jobs, bank.bare(), "intermediate")
        if not stage.info["reused"]:
            dev = {}
            for job in jobs:
                cell = self.clean_cell(job.lead, job)
                dev[job.family] = evaluator.evaluate(cell, [(NO_INTERMEDIATE, stage)])[0]["metrics"]
            bank.store.update_meta(stage.key, dev_metrics=dev)
        return stage

    def progress(self) -> Progress:
        """A transient bar on a terminal; nothing in a log file (rich would leave a blank line per bar there)."""
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=self.console, transient=True, disable=not self.console.is_terminal)  # fmt: skip

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
                    else "no records: none of its cells was scored in this run"
                )
        families = set(groups)
        for name, members in self.index.benchmarks().items():
            if families & set(members):
                groups[name] = {"tasks": list(members), "languages": members,
                                "scores": benchmark_scores(records, members)}  # fmt: skip
        return groups

    def finish(self, tasks: list[Task], records: list[dict[str, Any]], base: Base) -> dict[str, Any]:
        config = self.config
        title = f"{base.label} · {config.method} · seed {config.seed} · {config.split}"
        tables = all_tables(records, self.index.benchmarks(), title)
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
            "tables": [{"title": t.title, "columns": t.columns, "rows": t.rows} for t in tables],
            "timings": self.timings,
            "events": self.events,
        }
        run_dir = config.output / run_id
        write_json(run_dir / "results.json", result)
        write_atomic(run_dir / "results.md", "\n".join(t.to_markdown() for t in tables))
        return {**result, "table_objs": tables, "run_dir": run_dir}
