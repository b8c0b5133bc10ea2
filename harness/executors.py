"""Executors: where the units of a plan run. What a unit does is ``pipeline.execute``, the same everywhere.

- ``local``: this process, in plan order (each stage trained once, a job's cells scored one after the other
  while its models stay loaded).
- ``ray``: one actor per GPU (or per CPU slot) of a Ray cluster, each holding a resident base. Ray resolves the
  dependencies (a unit's arguments are the results of the units it needs) and restarts a killed actor, retrying
  its units; we only choose which actor a unit goes to, so that units sharing a trained stage meet where it is
  already loaded.
- ``slurm``: submitit, one job array per dependency level, one array task per group of units that share models.

None of them schedules anything itself beyond that choice, and none needs to be trusted for correctness: the
stores are safe to share (``harness.locks``), so a unit run twice by two executors is computed once.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.adapters.store import ArtefactStore

from .errors import HarnessError
from .pipeline import Unit, execute
from .results import CellStore


def finished(unit: Unit) -> bool:
    """Whether the unit's outputs exist: its stage in the artefact store, or every record of its cell."""
    if unit.kind == "train":
        return ArtefactStore(unit.config.adapter_dir).has(unit.key)
    store = CellStore(unit.config.output)
    return unit.config.resume and all(store.get(key) is not None for key in unit.outputs)


def levels(units: list[Unit]) -> list[list[Unit]]:
    """Units by dependency depth: each level needs only earlier levels (or work already done)."""
    depth: dict[str, int] = {}
    for unit in units:  # plans list every unit after the units it needs
        depth[unit.key] = 1 + max((depth[d] for d in unit.deps if d in depth), default=-1)
    out: list[list[Unit]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    for unit in units:
        out[depth[unit.key]].append(unit)
    return out


def sharing_key(unit: Unit) -> str:
    """What a unit shares with others: a target with its intermediate stage, a cell with its job's models."""
    if unit.kind == "eval":
        return "+".join(unit.deps)
    return unit.key if unit.job is None else unit.deps[0] if unit.deps else f"{unit.stage}:{unit.job}"


def assign(units: list[Unit], workers: int) -> list[list[Unit]]:
    """Units per worker: a unit goes where the units it shares models with went, unless that worker is already
    more than one unit's work ahead of the least loaded one."""
    load = [0.0] * workers
    home: dict[str, int] = {}
    out: list[list[Unit]] = [[] for _ in range(workers)]
    for unit in units:
        least = min(range(workers), key=load.__getitem__)
        preferred = home.get(sharing_key(unit), least)
        chosen = preferred if load[preferred] <= load[least] + unit.work else least
        home[sharing_key(unit)] = chosen
        load[chosen] += unit.work or 1.0
        out[chosen].append(unit)
    return out


def optional(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise HarnessError(
            f"--executor {extra} needs the {module!r} package, which is not installed. Install it with "
            f'pip install -e ".[{extra}]" (or pip install "xtreme-noise-harness[{extra}]").'
        ) from None


class Display:
    """Units done / total, the unit running now and the time left (estimated from the work done so far)."""

    def __init__(self, console: Console, units: list[Unit], todo: list[Unit]) -> None:
        self.console, self.total, self.done = console, len(units), len(units) - len(todo)
        self.seconds: dict[str, float] = {}  # unit key -> time its process spent on it
        self.progress = Progress(
            TextColumn("{task.fields[units]} units"), BarColumn(), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.description}"), console=console,
            disable=not console.is_terminal,
        )  # fmt: skip
        self.bar: TaskID = self.progress.add_task("", total=sum(u.work or 1.0 for u in todo) or 1.0, units=self.units)

    @property
    def units(self) -> str:
        return f"{self.done}/{self.total}"

    def running(self, description: str) -> None:
        self.progress.update(self.bar, description=description)

    def finished(self, unit: Unit, seconds: float, computed: bool = True) -> None:
        self.done += 1
        self.seconds[unit.key] = seconds
        self.progress.update(self.bar, advance=unit.work or 1.0, units=self.units)
        if not self.console.is_terminal:  # a log file gets one line per unit instead of a bar
            how = f"{seconds:.1f}s" if computed else "done by another process"
            self.console.print(f"[{self.units}] {unit.label} ({how})", highlight=False)

    @contextmanager
    def shown(self) -> Iterator[Display]:
        """The live display; the executors return ``seconds`` (what each unit cost where it ran) when it closes."""
        with self.progress:
            yield self


class LocalExecutor:
    """Every unit in this process, in plan order."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def run(self, units: list[Unit]) -> dict[str, float]:
        todo = [u for u in units if not finished(u)]
        with Display(self.console, units, todo).shown() as display:
            for unit in todo:
                display.running(unit.label)
                started = time.perf_counter()
                computed = execute(unit)
                display.finished(unit, time.perf_counter() - started, computed)
        return display.seconds


class UnitWorker:
    """A Ray actor: a process that keeps its base model (and trained stages) resident across units."""

    def run(self, unit: Unit, *needed: Any) -> tuple[bool, float]:
        started = time.perf_counter()
        return execute(unit), time.perf_counter() - started


class RayExecutor:
    """One actor per GPU of the cluster (per CPU slot where it has none, or ``workers`` of them)."""

    def __init__(self, console: Console, address: str | None = None, workers: int | None = None) -> None:
        self.console, self.address, self.workers = console, address, workers

    def run(self, units: list[Unit]) -> dict[str, float]:
        ray = optional("ray", "ray")
        if not ray.is_initialized():  # workers have their machine's environment (HARNESS_CACHE, HF_HOME ...)
            ray.init(address=self.address, num_cpus=None if self.address else self.workers, include_dashboard=False,
                     log_to_driver=False)  # fmt: skip
        todo = [u for u in units if not finished(u)]
        if not todo:
            return {}
        gpus = int(ray.cluster_resources().get("GPU", 0))
        workers = self.workers or gpus or int(ray.cluster_resources().get("CPU", 1))
        actors = self.actors(ray, workers, gpus)
        refs: dict[str, Any] = {}
        for level in levels(todo):  # submitted in dependency order, so no actor waits on work queued behind it
            for worker, share in zip(actors, assign(level, len(actors))):
                for unit in share:
                    refs[unit.key] = worker.run.remote(unit, *(refs[d] for d in unit.deps if d in refs))
        by_ref = {ref: unit for unit in todo for ref in [refs[unit.key]]}
        pending = list(by_ref)
        display = Display(self.console, units, todo)
        with display.shown():
            display.running(f"{len(todo)} units on {len(actors)} Ray actors")
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                try:
                    computed, seconds = ray.get(ready[0])
                except ray.exceptions.RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                display.finished(by_ref[ready[0]], seconds, computed)
        return display.seconds

    def actors(self, ray: ModuleType, workers: int, gpus: int) -> list[Any]:
        """The actors, kept for the next grid this process sends to the same cluster (their bases stay loaded)."""
        context = ray.get_runtime_context()
        pool = _ACTORS.setdefault(f"{context.get_node_id()}/{context.get_job_id()}", [])
        if len(pool) < workers:
            actor = ray.remote(UnitWorker).options(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1,
                                                   max_restarts=3, max_task_retries=3)  # fmt: skip
            pool += [actor.remote() for _ in range(workers - len(pool))]
        return pool[:workers]


#: this driver's Ray actors, per cluster and Ray job (after ``ray.shutdown`` and a new ``ray.init`` they are gone)
_ACTORS: dict[str, list[Any]] = {}


def execute_all(units: list[Unit]) -> list[tuple[bool, float]]:
    """One SLURM array task: its units one after the other in one process (one base load)."""
    return [UnitWorker().run(unit) for unit in units]


class SlurmExecutor:
    """A submitit job array per dependency level; ``cluster="local"`` or ``"debug"`` runs the same path here."""

    def __init__(self, console: Console, folder: Path, partition: str | None = None, gpus_per_node: int = 1,
                 minutes: int = 240, cluster: str | None = None, workers: int | None = None) -> None:  # fmt: skip
        self.console, self.folder, self.cluster, self.workers = console, folder, cluster, workers
        self.parameters: dict[str, Any] = {"timeout_min": minutes, "gpus_per_node": gpus_per_node,
                                           "name": "harness-grid"}  # fmt: skip
        if partition:
            self.parameters["slurm_partition"] = partition
        if workers:
            self.parameters["slurm_array_parallelism"] = workers

    def run(self, units: list[Unit]) -> dict[str, float]:
        submitit = optional("submitit", "slurm")
        executor = submitit.AutoExecutor(folder=self.folder, cluster=self.cluster)
        executor.update_parameters(**self.parameters)
        todo = [u for u in units if not finished(u)]
        display = Display(self.console, units, todo)
        with display.shown():
            for depth, level in enumerate(levels(todo)):
                groups: dict[str, list[Unit]] = {}
                for unit in level:
                    groups.setdefault(sharing_key(unit), []).append(unit)
                display.running(f"level {depth + 1}: a job array of {len(groups)} tasks")
                jobs = executor.map_array(execute_all, list(groups.values()))
                for job, group in zip(jobs, groups.values()):
                    outcomes = job.result()  # raises the unit's error, with the job's log files named
                    for unit, (computed, seconds) in zip(group, outcomes):
                        display.finished(unit, seconds, computed)
        return display.seconds


def describe(units: list[Unit], console: Console) -> None:
    """``--dry-run``: every unit, whether it is done, and the work left (in seconds where the stores have timings
    of this model from earlier runs)."""
    from rich.table import Table as RichTable

    status = {unit.key: finished(unit) for unit in units}
    table = RichTable(title=f"Plan: {len(units)} units", title_justify="left")
    for column in ("#", "unit", "key", "needs", "status", "work"):
        table.add_column(column, justify="right" if column in ("#", "needs", "work") else "left")
    for i, unit in enumerate(units, 1):
        done = "[green]done[/]" if status[unit.key] else "to do"
        table.add_row(str(i), unit.label, unit.key, str(len(unit.deps)), done, f"{unit.work:,.0f}")
    console.print(table)
    left = {kind: [u for u in units if u.kind == kind and not status[u.key]] for kind in ("train", "eval")}
    work = {kind: sum(u.work for u in todo) for kind, todo in left.items()}
    rate = seconds_per_work(units)
    seconds = sum(work[k] * rate[k] for k in work if k in rate)
    eta = f"about {seconds / 60:.1f} min on one worker, from this store's timings" if len(rate) == 2 else (
        "no estimate in seconds yet: the stores hold no timings of this model (run a small grid first)")  # fmt: skip
    console.print(
        f"{sum(status.values())} of {len(units)} units done. Left: {len(left['train'])} trainings "
        f"({work['train']:,.0f} example-epochs) and {len(left['eval'])} evaluations ({work['eval']:,.0f} "
        f"example-model scorings); {eta}."
    )


def seconds_per_work(units: list[Unit]) -> dict[str, float]:
    """Seconds per example-epoch of training and per example-model scoring, measured by earlier runs."""
    models = {u.config.model for u in units}
    spent = {"train": [0.0, 0.0], "eval": [0.0, 0.0]}
    for root in {u.config.adapter_dir for u in units}:
        store = ArtefactStore(root)
        for key in store.keys():
            meta = store.meta(key)
            stats, jobs = meta.get("train_stats") or {}, meta.get("spec", {}).get("jobs", [])
            if meta.get("base_model") in models and stats.get("seconds") and jobs:
                spent["train"][0] += stats["seconds"]
                spent["train"][1] += stats.get("examples", 0) * jobs[0]["args"]["epochs"]
    for output in {u.config.output for u in units}:
        for record in CellStore(output).scan().records:
            timings = record.get("timings", {})
            if record.get("model") in models and "predict_s" in timings:
                spent["eval"][0] += timings["predict_s"] + timings.get("tokenize_s", 0) / timings["models_per_pass"]
                spent["eval"][1] += record.get("n", 0)
    return {kind: s / n for kind, (s, n) in spent.items() if n}
