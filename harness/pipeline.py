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
from .mlm import MlmMix, held_out_text, read_corpus
from .models import SMOKE_PRESETS, Base, load_base, resolve_device, resolve_dtype
from .paths import write_atomic
from .planning import (
    TrainingJob,
    eval_split_of,
    model_inputs,
    parse_stage,
    plan_training,
    resolve_tasks,
    skip_missing_languages,
    train_language_variants,
)
from .registry import TaskIndex
from .report import Table, aggregate, all_tables
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
        for family, languages in skipped.items():
            self.say(f"[yellow]{family}[/]: no local files for {' '.join(languages)} under {config.data_dir}; skipped")
        jobs = self.plan(train_language_variants(tasks, config.train_languages), noisy=True)
        cells = [Cell(task, job, "clean", self.eval_examples(task, job)) for job in jobs for task in job.tasks]
        stages = {name: self.stage_jobs(name, cells) for name in self.intermediate_names()}
        cells += [Cell(v.task, c.job, v.condition, v.examples, v.record)
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
        jobs = self.stage_jobs(name, [])
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
            texts = [(task.language, e["id"], model_inputs([e])) for (_, split), task in splits.items()
                     if task.language in (config.mlm_languages or [task.language])
                     for e in task.examples(split, config.data_dir)]  # fmt: skip
            corpus = held_out_text(texts, evaluated)
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
            found = resolve_tasks([part], english, self.index)
            if len(found) != 1:
                raise HarnessError(f"Intermediate {part!r} is {len(found)} tasks; an intermediate stage is one "
                                   f"English task per name (e.g. mnli, squad, or mnli+squad for multi-task).")  # fmt: skip
            tasks += [t.with_train_languages(languages) if languages else t for t in found]
        return tasks

    def eval_examples(self, task: Task, job: TrainingJob) -> list[dict[str, Any]]:
        selection = DocSelection(holdout="eval" if job.eval_holdout else None, limit=self.config.limit,
                                 seed=self.config.seed)  # fmt: skip
        return task.examples(eval_split_of(task, self.config), self.config.data_dir, selection)

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
                cell = Cell(job.lead, job, "clean", self.eval_examples(job.lead, job))
                dev[job.family] = evaluator.evaluate(cell, [(NO_INTERMEDIATE, stage)])[0]["metrics"]
            bank.store.update_meta(stage.key, dev_metrics=dev)
        return stage

    def progress(self) -> Progress:
        """A transient bar on a terminal; nothing in a log file (rich would leave a blank line per bar there)."""
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=self.console, transient=True, disable=not self.console.is_terminal)  # fmt: skip

    # -- results -------------------------------------------------------------------------------

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
