"""Evaluating cells: one task (language) × condition, under each trained model of a comparison.

A cell's examples are tokenised once and scored under every model that shares
them (the no-intermediate baseline and each intermediate's target model). LoRA
models go through one mixed-adapter forward pass where PEFT allows it, and are
otherwise switched one after the other on the resident base. Every (cell,
model) pair becomes one record in the results store; a pair that already has a
record is not evaluated again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import datasets
import torch

from harness.adapters.bank import Trained
from harness.adapters.mixed import predict_mixed

from .config import RunConfig
from .evaluation import EvalContext, auto_batch_size, predict_features
from .features import featurize
from .metrics import compute, headline
from .models import Base
from .planning import TrainingJob, eval_split_of
from .results import CellStore, write_samples
from .spec import stable_hash
from .task import Task


@dataclass
class Cell:
    task: Task
    job: TrainingJob
    condition: str
    examples: list[dict[str, Any]]
    noise: dict[str, Any] | None = None  # the condition and the error rates it applied


class Evaluator:
    """Scores cells under trained models and writes one record per (cell, model)."""

    def __init__(self, config: RunConfig, base: Base, store: CellStore, device: torch.device, dtype: torch.dtype,
                 say: Callable[[str], None], progress: Callable[[], Any]) -> None:  # fmt: skip
        self.config, self.base, self.store = config, base, store
        self.device, self.dtype, self.say, self.progress = device, dtype, say, progress

    def key(self, cell: Cell, trained: Trained, max_length: int) -> str:
        parts = [trained.key, cell.task.fingerprint(), cell.condition, self.config.split, cell.examples, max_length]
        return stable_hash(parts, 20)

    def evaluate(self, cell: Cell, models: list[tuple[str, Trained]]) -> list[dict[str, Any]]:
        """One record per (intermediate name, trained model), in that order."""
        max_length = models[0][1].info["args"]["max_length"]
        keys = [self.key(cell, trained, max_length) for _, trained in models]
        done = {k: r for k in keys if self.config.resume and (r := self.store.get(k)) is not None}
        todo = [(name, trained, key) for (name, trained), key in zip(models, keys) if key not in done]
        if todo:
            started = time.perf_counter()
            features = featurize(cell.task.type, cell.examples, self.base.tokenizer, max_length, cell.task.cfg)
            tokenized = time.perf_counter()
            outputs = self.outputs(cell, [t for _, t, _ in todo], features)
            timings = {"tokenize_s": tokenized - started, "predict_s": (time.perf_counter() - tokenized) / len(todo),
                       "models_per_pass": len(todo)}  # fmt: skip
            for (name, trained, key), out in zip(todo, outputs):
                done[key] = self.record(cell, name, trained, key, out, features, max_length, timings)
        return [done[k] for k in keys]

    def outputs(self, cell: Cell, models: list[Trained], features: datasets.Dataset) -> list[list[Any]]:
        """Per-feature outputs of each model: one mixed pass where possible, else one model at a time."""
        task, pad = cell.task, self.base.tokenizer.pad_token_id
        first = models[0].model(task.family, task.type, self.base)
        batch_size = self.config.batch_size
        if not isinstance(batch_size, int):
            batch_size = auto_batch_size(first, features, self.device, self.dtype, pad)
        with self.progress() as progress:
            bar = progress.add_task(f"eval {task.name} ×{len(models)}", total=len(features) * len(models))
            if self.mixable(task, models):
                try:
                    members = [(m.adapters, m.heads.get(task.family)) for m in models]
                    return predict_mixed(
                        models[0].host,
                        members,
                        task.type,
                        features,
                        batch_size,
                        self.device,  # type: ignore[arg-type]
                        self.dtype,
                        pad,
                        on_batch=lambda n: progress.advance(bar, n * len(models)),
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
                )
                for m in models
            ]

    def mixable(self, task: Task, models: list[Trained]) -> bool:
        host = models[0].host
        return (
            self.config.mixed
            and len(models) > 1
            and task.type.mixable
            and host is not None
            and all(m.host is host and m.adapters and m.heads.get(task.family) is not None for m in models)
        )

    def record(self, cell: Cell, intermediate: str, trained: Trained, key: str, outputs: list[Any],
               features: datasets.Dataset, max_length: int, timings: dict[str, float]) -> dict[str, Any]:  # fmt: skip
        task, config = cell.task, self.config
        batch_size = config.batch_size if isinstance(config.batch_size, int) else "auto"
        context = EvalContext(
            task,
            eval_split_of(task, config),
            config.data_dir,
            trained.model(task.family, task.type, self.base),
            self.base.tokenizer,
            max_length,
            batch_size if isinstance(batch_size, int) else 32,
            self.device,
            self.dtype,
            self.progress,
        )
        predictions = task.type.predict_in_context(context, outputs, features, cell.examples)
        references = [task.type.reference(e) for e in cell.examples]
        metrics = compute(task.metric_list, references, predictions, language=task.language)
        score_name, score, table_metrics = headline(metrics)
        record = {
            "key": key, "task": task.cfg.task, "family": task.family, "language": task.language,
            "condition": cell.condition, "noise": cell.noise, "train_noise": config.train_noise, "role": trained.role,
            "model": config.model, "model_label": self.base.label, "smoke": self.base.smoke,
            "base_fingerprint": self.base.fingerprint, "method": config.method, "intermediate": intermediate,
            "stack": trained.info.get("stack"), "seed": config.seed, "split": eval_split_of(task, config),
            "train_language": cell.job.train_language,
            "zero_shot": task.language not in (cell.job.train_language or "").split(","),
            "metrics": metrics, "score": score, "score_name": score_name, "table_metrics": table_metrics,
            "n": len(cell.examples), "doc_ids": [e["id"] for e in cell.examples] if config.limit is not None else None,
            "artefact": trained.info, "spec": task.cfg.to_dict(),
            "timings": {**timings, "batch_size": batch_size},
            "created": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        }  # fmt: skip
        shown = [{"id": e["id"], "prediction": task.type.show(p, task.cfg), "reference": task.type.show(g, task.cfg)}
                 for e, p, g in zip(cell.examples, predictions, references)]  # fmt: skip
        write_samples(self.store.predictions_path(key), shown)  # before the record: a record means all is written
        if config.log_samples:
            self.write_samples(cell, intermediate, predictions)
        self.store.put(key, record)
        return record

    def write_samples(self, cell: Cell, intermediate: str, predictions: list[Any]) -> None:
        task = cell.task
        rows = [
            {"id": e["id"], **{k: e.get(k) for k in task.type.fields}, "prediction": task.type.show(p, task.cfg),
             "correct": task.type.correct(e, p)}
            for e, p in zip(cell.examples, predictions)
        ]  # fmt: skip
        suffix = "" if intermediate == "none" else f"@{intermediate}"
        write_samples(self.config.output / "samples" / f"{task.cfg.task}@{cell.condition}{suffix}.jsonl", rows)
