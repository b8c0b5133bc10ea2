"""Fine-tuning: one loop for full fine-tuning and LoRA (only ``requires_grad`` parameters move).

Phang et al.'s recipe: AdamW, linear warm-up over 10% of the steps then linear
decay, gradient clipping at 1.0; mixed precision with fp32 master weights.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Generic, Protocol, TypeVar

import datasets
import torch
from torch import nn

from .features import shuffled_batches
from .models import autocast

#: steps between the loss values the progress bar shows (each read is a device sync)
SHOW_LOSS_EVERY = 25


class Objective(Protocol):
    """What training needs of a task type: ``TaskType`` has it, and so has the masked-LM objective mixed into a
    stage (``mlm.MaskedLM``), which is no task type (nothing to evaluate)."""

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]: ...

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> Any: ...

    def loss(self, logits: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...


#: a ``TaskModel``'s task type: a ``TaskType`` to evaluate (``TaskModel[TaskType]``), any ``Objective`` to train
TypeT = TypeVar("TypeT", bound=Objective)


class TaskModel(nn.Module, Generic[TypeT]):
    """The encoder (possibly carrying LoRA adapters) and one task head."""

    def __init__(self, encoder: nn.Module, head: nn.Module | None, task_type: TypeT) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.task_type = task_type

    def forward(self, batch: dict[str, torch.Tensor]) -> Any:
        return self.task_type.forward(self.encoder, self.head, batch)


@dataclass
class TrainArgs:
    epochs: float
    learning_rate: float
    batch_size: int
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256
    max_grad_norm: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rows_of(features: datasets.Dataset, indices: list[int]) -> list[dict[str, Any]]:
    """Feature rows for a batch (one Arrow take, then dicts for the collator)."""
    columns = features[indices]
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _optimizer(model: nn.Module, args: TrainArgs) -> torch.optim.Optimizer:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 or "LayerNorm" in name or name.endswith("bias") else decay).append(param)
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=args.learning_rate)


@dataclass
class Stream:
    """One task's model (encoder + its head) and training features; multi-task training has several."""

    model: TaskModel[Objective]
    features: datasets.Dataset
    #: batches of this stream per task batch (masked-LM batches mixed into a stage), instead of a share by
    #: size; its examples do not count towards epochs, and its losses are reported apart
    ratio: float | None = None
    name: str = ""


def _batches(n: int, batch_size: int, key: str) -> Iterator[list[int]]:
    """Endless training batches: a fresh seeded permutation every epoch."""
    for epoch in itertools.count():
        yield from shuffled_batches(n, batch_size, key, epoch)


def _loss_curve(values: list[float]) -> dict[str, float | int]:
    """A mixed-in stream's loss at the start and the end: means over its first and last tenth of steps."""
    k = max(1, len(values) // 10)
    return {"steps": len(values), "first_loss": sum(values[:k]) / k, "final_loss": sum(values[-k:]) / k}


def train(
    streams: list[Stream],
    args: TrainArgs,
    device: torch.device,
    dtype: torch.dtype,
    pad_id: int,
    temperature: float = 1.0,
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train in place; returns loss and timing statistics for the result record.

    With several streams (multi-task training: one shared encoder, one head per
    task) each step draws its task with probability proportional to
    ``size ** (1 / temperature)``: 1 is size-proportional, larger flattens
    towards uniform. Epochs count over all tasks' examples together. A stream
    with a ``ratio`` (masked-LM) adds that many batches per task batch on top.
    """
    torch.manual_seed(args.seed)
    models = nn.ModuleList([s.model for s in streams]).to(device).train()  # shared parameters counted once
    sizes = [len(s.features) for s in streams]
    tasks = [i for i, s in enumerate(streams) if s.ratio is None]
    extra = sum(s.ratio or 0.0 for s in streams)
    steps_per_epoch = math.ceil(sum(sizes[i] for i in tasks) / args.batch_size)
    total = max(1, math.ceil(steps_per_epoch * args.epochs * (1 + extra)))
    warmup = int(total * args.warmup_ratio)
    optimizer = _optimizer(models, args)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup))
    )
    params = [p for p in models.parameters() if p.requires_grad]
    weights = [n ** (1.0 / temperature) for n in sizes]
    task_weight = sum(weights[i] for i in tasks)
    weights = [w if s.ratio is None else s.ratio * task_weight for w, s in zip(weights, streams)]
    pick = random.Random(f"tasks:{args.seed}")
    batches = [_batches(n, args.batch_size, f"{args.seed}:{i}") for i, n in enumerate(sizes)]
    step_losses: list[torch.Tensor] = []  # kept on the device, read once at the end
    drawn: list[int] = []  # the stream of each step
    shown = float("nan")
    start = time.perf_counter()
    for step in range(1, total + 1):
        i = pick.choices(range(len(streams)), weights)[0] if len(streams) > 1 else 0
        model, features = streams[i].model, streams[i].features
        batch = to_device(model.task_type.collate(rows_of(features, next(batches[i])), pad_id), device)
        with autocast(device, dtype):
            logits = model(batch)
        loss = model.task_type.loss(logits, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step_losses.append(loss.detach())
        drawn.append(i)
        if step % SHOW_LOSS_EVERY == 0 or step == 1:
            shown = float(step_losses[-1])  # reading a loss waits for the device: only every SHOW_LOSS_EVERY steps
        if on_step:
            on_step(step, total, shown)
    models.eval()
    values = torch.stack(step_losses).float().tolist()
    mixed = {i: [v for v, d in zip(values, drawn) if d == i] for i, s in enumerate(streams) if s.ratio is not None}
    losses = [v for v, d in zip(values, drawn) if d not in mixed] or [math.nan]  # the task streams'
    tail = losses[-max(1, steps_per_epoch) :]
    apart = {streams[i].name: _loss_curve(curve) for i, curve in mixed.items() if curve}
    return {
        **({"mixed_losses": apart} if apart else {}),
        "steps": total,
        "examples": sum(sizes[i] for i in tasks),
        "first_loss": losses[0],
        "final_loss": sum(tail) / len(tail),
        "seconds": round(time.perf_counter() - start, 3),
        "trainable_parameters": sum(p.numel() for p in params),
    }
