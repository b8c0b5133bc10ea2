"""What a task type may use of the evaluation cell it predicts for (``TaskType.predict_in_context``).

``evaluation.EvalContext`` is one. Task types depend on this interface, not on the evaluation module, which
imports the task types: retrieval reads the cell's task, split and device, embeds more examples through
``outputs`` (a candidate pool, a dev split to tune a threshold on) and keys its pool cache by the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import torch

from ..spec import TaskConfig


class EvaluatedTask(Protocol):
    """The cell's task (``harness.task.Task``, noise included)."""

    @property
    def name(self) -> str: ...

    @property
    def cfg(self) -> TaskConfig: ...

    def examples(self, split: str, data_dir: Path | None) -> list[dict[str, Any]]: ...


class PredictionContext(Protocol):
    task: EvaluatedTask
    split: str
    data_dir: Path | None
    tokenizer: Any
    max_length: int
    device: torch.device
    #: what identifies the model's weights, for caches of its outputs; None: no caching
    model_key: str | None

    def outputs(self, examples: list[dict[str, Any]], description: str) -> Iterator[tuple[list[int], list[Any]]]:
        """The model's outputs on more examples, streamed: (example indices, outputs) per batch."""
        ...
