"""Inference: length-sorted batches, dynamic padding, ``torch.inference_mode``.

Outputs come back in feature order whatever the batch size, so predictions and
scores do not depend on how the work was batched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasets
import torch

from .features import length_batches
from .models import autocast
from .training import TaskModel, rows_of, to_device

CPU_BATCH_SIZE = 32


def auto_batch_size(
    model: TaskModel,
    features: datasets.Dataset,
    device: torch.device,
    dtype: torch.dtype,
    pad_id: int,
    start: int = 512,
) -> int:
    """The largest batch (halving from ``start``) whose longest inputs fit in GPU memory."""
    if device.type != "cuda":
        return CPU_BATCH_SIZE
    size = start
    while size > 1:
        longest = length_batches(features["length"], size)[0]
        try:
            with torch.inference_mode(), autocast(device, dtype):
                model(to_device(model.task_type.collate(rows_of(features, longest), pad_id), device))
            return size
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            size //= 2
    return 1


def predict_features(
    model: TaskModel,
    features: datasets.Dataset,
    batch_size: int,
    device: torch.device,
    dtype: torch.dtype,
    pad_id: int,
    on_batch: Callable[[int], None] | None = None,
) -> list[Any]:
    """Per-feature outputs of ``model`` (as the task type's ``outputs`` defines them), in feature order."""
    model.to(device).eval()
    outputs: list[Any] = [None] * len(features)
    with torch.inference_mode():
        for indices in length_batches(features["length"], batch_size):
            batch = to_device(model.task_type.collate(rows_of(features, indices), pad_id), device)
            with autocast(device, dtype):
                logits = model(batch)
            for i, out in zip(indices, model.task_type.outputs(logits, batch)):
                outputs[i] = out
            if on_batch:
                on_batch(len(indices))
    return outputs
