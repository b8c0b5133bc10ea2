"""Several (intermediate, target) combinations in one forward pass: PEFT's mixed-adapter batches.

The same batch is repeated once per combination (combination-major). One
encoder pass runs every row through the base weights and only its own LoRA
delta (``adapter_names=``); each combination's head then scores its own slice
of the hidden states. Heads stay outside PEFT, which is what makes this work
for every task type. A mixed call that fails can leave PEFT's forward hooks
attached (huggingface/peft#3475); ``hooks_restored`` removes them, so the
caller can fall back to switching adapters one combination at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import datasets
import torch
from torch import nn

from harness.evaluation import predict_copies
from harness.tasktypes import TaskType
from harness.training import TaskModel

from .lora import LoraHost


class MixedEncoder(nn.Module):
    """Calls a PeftModel with one adapter per row: the rows are ``len(names)`` equal, combination-major slices."""

    def __init__(self, peft: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.peft = peft
        self.names = names

    def forward(self, input_ids: torch.Tensor, **kwargs: Any) -> Any:
        per = input_ids.shape[0] // len(self.names)
        return self.peft(input_ids=input_ids, adapter_names=[n for n in self.names for _ in range(per)], **kwargs)


class GroupedHead(nn.Module):
    """Applies head ``k`` to the ``k``-th equal slice of the rows (the rows of combination ``k``)."""

    def __init__(self, heads: list[nn.Module]) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(part) for head, part in zip(self.heads, hidden.chunk(len(self.heads)))])


@contextlib.contextmanager
def hooks_restored(model: nn.Module) -> Iterator[None]:
    """Undo any forward (pre-)hook a failing call leaves behind on ``model``'s modules."""
    before = {id(m): (set(m._forward_pre_hooks), set(m._forward_hooks)) for m in model.modules()}
    try:
        yield
    except BaseException:
        for module in model.modules():
            pre, post = before.get(id(module), (set(), set()))
            for key in set(module._forward_pre_hooks) - pre:
                del module._forward_pre_hooks[key]
                module._forward_pre_hooks_with_kwargs.pop(key, None)
            for key in set(module._forward_hooks) - post:
                del module._forward_hooks[key]
                module._forward_hooks_with_kwargs.pop(key, None)
        raise


def predict_mixed(
    host: LoraHost,
    members: list[tuple[list[str], nn.Module | None]],
    task_type: TaskType,
    features: datasets.Dataset,
    batch_size: int,
    device: torch.device,
    dtype: torch.dtype,
    pad_id: int,
    on_batch: Callable[[int], None] | None = None,
) -> list[list[Any]]:
    """Per-feature outputs of K models (an adapter set and a head each), one forward pass per batch.

    Batches hold ``batch_size // K`` features, repeated K times, so a pass costs
    what one ``batch_size`` batch of a single model costs. Raises (with PEFT's
    hooks removed) if PEFT cannot mix these adapters; the caller then switches.
    """
    names = [host.combine(adapters) for adapters, _ in members]
    host.activate([])  # adapter_names picks each row's adapter
    model = TaskModel(MixedEncoder(host.peft, names), GroupedHead([head for _, head in members]), task_type)
    with hooks_restored(host.peft):
        return predict_copies(model, features, batch_size, device, dtype, pad_id, len(members), on_batch)
