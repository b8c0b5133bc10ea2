"""Evaluating cells: one task (language) × condition, under each trained model of a comparison.

A cell's examples are tokenised once and scored under every model that shares
them (the no-intermediate baseline and each intermediate's target model). LoRA
models go through one mixed-adapter forward pass where PEFT allows it, and are
otherwise switched one after the other on the resident base. Every (cell,
model) pair becomes one record in the results store; a pair that already has a
record is not evaluated again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import datasets
import torch

from harness.adapters.bank import Trained
from harness.adapters.lora import LoraHost
from harness.adapters.mixed import predict_mixed

from .attacking import QUERY_DTYPE, evaluate_attack
from .config import RunConfig
from .evaluation import EvalContext, auto_batching, compiled_forwards, predict_features
from .features import featurize
from .metrics import compute, example_outcomes, get_metric, headline, scorers
from .models import Base, evaluation_weights
from .paths import file_name
from .planning import TrainingJob, eval_split_of
from .results import CellStore, write_samples
from .sample import data_setting
from .spec import stable_hash
from .task import Task
from .training import TaskModel

#: run settings that change what a score means: records that differ in them are never averaged or compared as equals
COMPARED_SETTINGS = (
    "limit",
    "max_train_examples",
    "epochs",
    "learning_rate",
    "train_batch_size",
    "max_length",
    "lora_rank",
    "lora_alpha",
    "target_modules",
    "stack",
    "temperature",
    "retrieval_layer",
    "limit_pool",
    "dtype",
)


@dataclass
class Cell:
    task: Task
    job: TrainingJob
    condition: str
    examples: list[dict[str, Any]]
    noise: dict[str, Any] | None = None  # the condition and the error rates it applied
    attack: Any = None  # an attack condition (``noise.attacks``): examples are made per model, see ``attacking``
    skipped: str | None = None  # why this language cannot take the condition (a missing dictionary): never scored
    #: positions of the examples scored (the --limit sample), when the others are there as the retrieval pool
    scored: list[int] | None = None

    @property
    def scored_examples(self) -> list[dict[str, Any]]:
        """The examples this cell scores (all, or the ``scored`` positions)."""
        return self.examples if self.scored is None else [self.examples[i] for i in self.scored]

    @property
    def scorable(self) -> bool:
        """Whether the examples scored have any gold answer (``TaskType.scorable``)."""
        return self.task.type.scorable(self.scored_examples, self.task.cfg)

    @property
    def pool(self) -> dict[str, Any] | None:
        """How a search-the-split retrieval cell's pool relates to its queries (recorded)."""
        if not self.task.type.pools_split(self.task.cfg):
            return None
        queries = len(self.examples) if self.scored is None else len(self.scored)
        return {"size": len(self.examples), "queries": queries}


def record_key(cell: Cell, model_key: str, split: str, max_length: int) -> str:
    """The results-store key of ``cell`` scored by the model stored under ``model_key``."""
    parts = [model_key, cell.task.fingerprint(), cell.condition, split, cell.examples, max_length]
    if cell.scored is not None:
        parts.append(cell.scored)
    return stable_hash(parts, 20)


class Evaluator:
    """Scores cells under trained models and writes one record per (cell, model)."""

    def __init__(self, config: RunConfig, base: Base, store: CellStore, device: torch.device, dtype: torch.dtype,
                 say: Callable[[str], None], progress: Callable[[], Any]) -> None:  # fmt: skip
        self.config, self.base, self.store = config, base, store
        self.device, self.dtype, self.say, self.progress = device, dtype, say, progress
        self.written = 0  # records this evaluator wrote (the rest were found done)

    def key(self, cell: Cell, trained: Trained, max_length: int) -> str:
        return record_key(cell, trained.key, self.config.split, max_length)

    def evaluate(self, cell: Cell, models: list[tuple[str, Trained]]) -> list[dict[str, Any]]:
        """One record per (intermediate name, trained model), in that order."""
        if cell.attack is not None:
            with self.forwards(models, QUERY_DTYPE):
                return evaluate_attack(self, cell, models)
        max_length = models[0][1].info["args"]["max_length"]
        keys = [self.key(cell, trained, max_length) for _, trained in models]
        if cell.skipped:
            return [self.skip(cell, name, trained, key, cell.skipped) for (name, trained), key in zip(models, keys)]
        done = self.finished(keys)
        if len(done) < len(keys):
            with self.store.claim(stable_hash(keys, 20), self.say):  # another process scoring this cell: wait for it
                with self.forwards(models):
                    self.score(cell, models, keys, max_length, {**done, **self.finished(keys)})
        records = {**done, **{k: r for k in keys if k not in done and (r := self.store.get(k)) is not None}}
        return [records[k] for k in keys]

    @contextlib.contextmanager
    def forwards(self, models: list[tuple[str, Trained]], dtype: torch.dtype | None = None) -> Iterator[None]:
        """How a cell's forward passes run: the models' Linear weights stored in the compute dtype (``dtype``, else
        the evaluation's: attacks query in their own, ``evaluation_weights``), the encoder compiled with
        ``--compile``'s backend (``compiled_forwards``)."""
        modules = [m for _, trained in models for m in trained.modules(self.base)]
        with evaluation_weights(modules, self.device, dtype or self.dtype), compiled_forwards(self.config.compile):
            yield

    def finished(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {k: r for k in keys if self.config.resume and (r := self.store.get(k)) is not None}

    def score(self, cell: Cell, models: list[tuple[str, Trained]], keys: list[str], max_length: int,
              done: dict[str, dict[str, Any]]) -> None:  # fmt: skip
        """Score the cell under every model that has no record yet, and write their records."""
        todo = [(name, trained, key) for (name, trained), key in zip(models, keys) if key not in done]
        if todo:
            started = time.perf_counter()
            inputs = cell.task.type.scored_inputs(cell.examples, cell.task.cfg)
            features = featurize(cell.task.type, inputs, self.base.tokenizer, max_length, cell.task.cfg)
            tokenized = time.perf_counter()
            outputs = self.outputs(cell, [t for _, t, _ in todo], features)
            timings = {"tokenize_s": tokenized - started, "predict_s": (time.perf_counter() - tokenized) / len(todo),
                       "models_per_pass": len(todo)}  # fmt: skip
            for (name, trained, key), out in zip(todo, outputs):
                self.record(cell, name, trained, key, out, features, max_length, timings)

    def outputs(self, cell: Cell, models: list[Trained], features: datasets.Dataset) -> list[list[Any]]:
        """Per-feature outputs of each model: one mixed pass where possible, else one model at a time."""
        task, pad = cell.task, self.base.tokenizer.pad_token_id
        first = models[0].model(task.family, task.type, self.base)
        batch_size, max_tokens = self.batching(first, features)
        with self.progress() as progress:
            bar = progress.add_task(f"eval {task.name} ×{len(models)}", total=len(features) * len(models))
            host = self.mixed_host(task, models)
            if host is not None:
                try:
                    members = [(m.adapters, m.heads.get(task.family)) for m in models]
                    return predict_mixed(
                        host,
                        members,
                        task.type,
                        features,
                        batch_size,
                        self.device,
                        self.dtype,
                        pad,
                        on_batch=lambda n: progress.advance(bar, n * len(models)),
                        max_tokens=max_tokens,
                    )
                except (RuntimeError, TypeError, ValueError) as exc:  # PEFT could not mix: switch instead
                    self.say(f"[yellow]{task.name}[/]: mixed-adapter batch failed ({exc}); switching adapters")
                    progress.reset(bar)
            return [
                predict_features(
                    m.model(task.family, task.type, self.base),
                    features,
                    batch_size,
                    self.device,
                    self.dtype,
                    pad,
                    on_batch=lambda n: progress.advance(bar, n),
                    max_tokens=max_tokens,
                )
                for m in models
            ]

    def batching(self, model: TaskModel, features: datasets.Dataset) -> tuple[int, int | None]:
        """(rows, token budget) per batch: ``--batch-size`` rows, or ``auto``'s choice for this device."""
        if isinstance(self.config.batch_size, int):
            return self.config.batch_size, None
        return auto_batching(model, features, self.device, self.dtype, self.base.tokenizer.pad_token_id)

    def mixed_host(self, task: Task, models: list[Trained]) -> LoraHost | None:
        """The LoRA host holding every model's adapters when they can share one mixed pass (else None)."""
        host = models[0].host
        mixable = (
            self.config.mixed
            and len(models) > 1
            and task.type.mixable
            and all(m.host is host and m.adapters and m.heads.get(task.family) is not None for m in models)
        )
        return host if mixable else None

    def record(self, cell: Cell, intermediate: str, trained: Trained, key: str, outputs: list[Any],
               features: datasets.Dataset, max_length: int, timings: dict[str, float],
               extra: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        task, config = cell.task, self.config
        batch_size = config.batch_size if isinstance(config.batch_size, int) else "auto"
        model = trained.model(task.family, task.type, self.base)
        rows, max_tokens = self.batching(model, features)
        context = EvalContext(
            task,
            eval_split_of(task, config),
            config.data_dir,
            model,
            self.base.tokenizer,
            max_length,
            rows,
            self.device,
            self.dtype,
            self.progress,
            stable_hash([self.base.fingerprint, trained.key]),
            max_tokens,
        )
        predictions = task.type.predict_in_context(context, outputs, features, cell.examples)
        examples = cell.scored_examples
        if cell.scored is not None:
            predictions = [predictions[i] for i in cell.scored]
        references = [task.type.reference(e) for e in examples]
        metrics = compute(task.metric_list, references, predictions, language=task.language)
        score_name, score, table_metrics = headline(metrics)
        outcomes = example_outcomes(task.metric_list, references, predictions, task.language)
        directions = {
            metric.name: metric.higher_is_better for metric in (get_metric(m["metric"]) for m in task.metric_list)
        }
        record = {
            **self.identity(cell, intermediate, trained, key), "noise": cell.noise,
            "base_fingerprint": self.base.fingerprint, "stack": trained.info.get("stack"),
            "sample_seed": config.sample_seed,
            "noise_seed": config.noise_seed, "split": eval_split_of(task, config),
            "train_language": cell.job.train_language,
            "zero_shot": task.language not in (cell.job.train_language or "").split(","),
            "metrics": metrics, "higher_is_better": directions, "outcomes": sorted(outcomes) if outcomes else None,
            "settings": {**{k: getattr(config, k) for k in COMPARED_SETTINGS}, **data_setting(config.data_dir)},
            "score": score, "score_name": score_name,
            "table_metrics": table_metrics, "scorers": scorers(task.metric_list),
            "n": len(examples), "doc_ids": [e["id"] for e in examples] if config.limit is not None else None,
            "pool": cell.pool and {**cell.pool, "limited": config.limit is not None and config.limit_pool},
            "artefact": trained.info, "spec": task.cfg.to_dict(),
            "timings": {**timings, "batch_size": batch_size},
            "created": datetime.now(timezone.utc).isoformat(timespec="microseconds"), **(extra or {}),
        }  # fmt: skip
        shown = [{"id": e["id"], "prediction": task.type.show(p, task.cfg), "reference": task.type.show(g, task.cfg)}
                 for e, p, g in zip(examples, predictions, references)]  # fmt: skip
        write_samples(self.store.predictions_path(key), shown)  # before the record: a record means all is written
        if outcomes:
            self.store.put_outcomes(key, [e["id"] for e in examples], outcomes)
        if config.log_samples:
            write_samples(samples_path(config.output, record), sample_rows(task, examples, shown))
        self.store.put(key, record)
        self.written += 1
        return record

    def identity(self, cell: Cell, intermediate: str, trained: Trained, key: str) -> dict[str, Any]:
        """What every record of a cell under one model says it is: scored (``record``) or not (``skip``)."""
        task, config = cell.task, self.config
        return {"key": key, "task": task.cfg.task, "family": task.family, "language": task.language,
                "condition": cell.condition, "train_noise": config.train_noise, "role": trained.role,
                "model": config.model, "model_label": self.base.label, "smoke": self.base.smoke,
                "method": config.method, "intermediate": intermediate, "seed": config.seed}  # fmt: skip

    def skip(self, cell: Cell, intermediate: str, trained: Trained, key: str, reason: str) -> dict[str, Any]:
        """A record that says why a cell was not scored (tables list it, never average it)."""
        record = {**self.identity(cell, intermediate, trained, key), "metrics": {}, "score": None, "score_name": None,
                  "skipped": reason, "noise": None}  # fmt: skip
        self.store.put(key, record)
        self.written += 1
        return record


def samples_path(output: Path, record: dict[str, Any]) -> Path:
    """``--log-samples``: one file per record, named by its task, condition, intermediate, method, training seed
    and key (which also stands for the base model and every other setting), so none overwrites another."""
    name = (f"{record['task']}@{record['condition']}@{record['intermediate']}.{record['method']}.seed{record['seed']}"
            f".{record['key']}")  # fmt: skip
    return output / "samples" / f"{file_name(name)}.jsonl"  # stays inside samples/, whatever the strings


def sample_rows(task: Task, examples: list[dict[str, Any]], shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples file's rows: each example's input fields, its prediction and whether it is right, from the rows
    of the record's predictions file (``shown``), so that a resumed run writes them without a model."""
    return [
        {"id": e["id"], **{k: e.get(k) for k in task.type.fields}, "prediction": s["prediction"],
         "correct": task.type.correct(s["reference"], s["prediction"])}
        for e, s in zip(examples, shown, strict=True)
    ]  # fmt: skip
