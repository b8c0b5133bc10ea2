"""Inference: length-sorted batches, dynamic padding, ``torch.inference_mode``.

Outputs come back in feature order whatever the batch size, so predictions and
scores do not depend on how the work was batched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import torch
from rich.progress import Progress

from .features import featurize, length_batches
from .models import autocast
from .spec import stable_hash
from .training import TaskModel, rows_of, to_device

CPU_BATCH_SIZE = 32
#: the largest token budget (rows × longest row) ``auto`` tries on a GPU: 512 rows of 128 tokens
GPU_MAX_TOKENS = 512 * 128
#: token budgets found by probing, per (encoder architecture, task type, device, dtype)
_PROBED: dict[str, int] = {}


def auto_batching(
    model: TaskModel, features: datasets.Dataset, device: torch.device, dtype: torch.dtype, pad_id: int
) -> tuple[int, int | None]:
    """``--batch-size auto``: (rows, token budget) per batch.

    A CPU gets 32 rows (little padding; a larger batch is no faster there). A GPU
    gets a token budget: the largest (halving from ``GPU_MAX_TOKENS``) at which a
    batch of the cell's longest inputs runs, found once per encoder architecture
    and task type and remembered, so later cells do not spend a forward pass on it.
    """
    if device.type != "cuda":
        return CPU_BATCH_SIZE, None
    config = getattr(getattr(model.encoder, "config", None), "to_json_string", lambda: repr(model.encoder))()
    key = stable_hash([config, model.task_type.name, str(device), str(dtype)])
    if key not in _PROBED:
        lengths = features["length"][:]
        longest = max(range(len(lengths)), key=lambda i: lengths[i])
        budget = GPU_MAX_TOKENS
        while budget > lengths[longest]:
            rows = rows_of(features, [longest] * (budget // lengths[longest]))
            try:
                with torch.inference_mode(), autocast(device, dtype):
                    model(to_device(model.task_type.collate(rows, pad_id), device))
                break
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                budget //= 2
        _PROBED[key] = max(budget, lengths[longest])
    return GPU_MAX_TOKENS, _PROBED[key]


#: the ``torch.compile`` backend evaluation forward passes run under (``--compile``); None: eager
_COMPILE: ContextVar[str | None] = ContextVar("compile_backend", default=None)


@contextlib.contextmanager
def compiled_forwards(backend: str | None) -> Iterator[None]:
    """Inside the block, evaluation forward passes (``iter_outputs``) run the encoder compiled with ``backend``."""
    token = _COMPILE.set(backend)
    try:
        yield
    finally:
        _COMPILE.reset(token)


class CompiledForms(dict[str, Any]):
    """One module's compiled wrappers by backend, kept on the module; a copy or pickle of the module (full
    fine-tuning starts from a deep copy of the base) starts without them."""

    def __deepcopy__(self, memo: dict[int, Any]) -> CompiledForms:
        return CompiledForms()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return CompiledForms, ()


def forward_of(model: TaskModel) -> TaskModel:
    """``model``, with its encoder compiled when ``compiled_forwards`` asks for it.

    The encoder is compiled once per (encoder, backend) and kept on the encoder
    (training runs the plain one), with dynamic shapes, so that one graph serves
    every batch size and length. It pays where one encoder runs many batches: the
    base, a full fine-tuned encoder, long cells. A change of active LoRA adapters
    or of the mixed-batch deltas is a guard that fails, so those compile again
    per combination (and past dynamo's recompile limit run eagerly).
    """
    backend = _COMPILE.get()
    if backend is None:
        return model
    cache = model.encoder.__dict__.setdefault("_harness_compiled", CompiledForms())  # an attribute, not a submodule
    if backend not in cache:
        cache[backend] = torch.compile(model.encoder, backend=backend, dynamic=True)
    return TaskModel(cache[backend], model.head, model.task_type)


def repeat_batch(batch: dict[str, torch.Tensor], times: int) -> dict[str, torch.Tensor]:
    return {k: torch.cat([v] * times) for k, v in batch.items()} if times > 1 else batch


def collated(
    task_type: Any, features: datasets.Dataset, indices: list[int], pad_id: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """One batch's tensors on the device (pinned first on a GPU, so the copy does not wait for the host)."""
    batch = task_type.collate(rows_of(features, indices), pad_id)
    if device.type == "cuda":
        batch = {k: v.pin_memory() for k, v in batch.items()}
    return to_device(batch, device)


def prefetched(batches: list[list[int]], make: Callable[[list[int]], Any]) -> Iterator[tuple[list[int], Any]]:
    """``(indices, make(indices))`` per batch, each made in a worker thread while the caller uses the one before.

    Collating is Python work on the host (Arrow rows, padding, offsets); done one
    batch ahead it overlaps the device's forward pass instead of following it.
    """
    if not batches:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="collate") as worker:
        pending = worker.submit(make, batches[0])
        for i, indices in enumerate(batches):
            made = pending.result()
            if i + 1 < len(batches):
                pending = worker.submit(make, batches[i + 1])
            yield indices, made


def iter_outputs(
    model: TaskModel,
    features: datasets.Dataset,
    batch_size: int,
    device: torch.device,
    dtype: torch.dtype,
    pad_id: int,
    copies: int = 1,
    max_tokens: int | None = None,
    scores: bool = False,
) -> Iterator[tuple[list[int], list[list[Any]]]]:
    """(feature indices, per-feature outputs of each copy) one length-sorted batch at a time, never all at once.

    With ``copies`` > 1 each batch (of ``batch_size // copies`` features) is
    repeated that many times in one forward pass, for a model that treats each
    repetition differently (mixed-adapter batches: one adapter set per copy). With
    ``max_tokens`` a batch holds at most that many tokens, copies included.
    ``scores``: the task type's ``scores`` (probabilities) instead of its ``outputs``.
    """
    read = model.task_type.scores if scores else model.task_type.outputs
    model.to(device).eval()
    forward = forward_of(model)
    budget = None if max_tokens is None else max(1, max_tokens // copies)
    batches = length_batches(features["length"], max(1, batch_size // copies), budget)
    for indices, batch in prefetched(batches, lambda b: collated(model.task_type, features, b, pad_id, device)):
        with torch.inference_mode():  # entered per batch: the caller's code between batches runs normally
            with autocast(device, dtype):
                logits = forward(repeat_batch(batch, copies))
            parts = logits.chunk(copies) if copies > 1 else [logits]
            outputs = [read(part, batch) for part in parts]
        yield indices, outputs


def predict_features(
    model: TaskModel,
    features: datasets.Dataset,
    batch_size: int,
    device: torch.device,
    dtype: torch.dtype,
    pad_id: int,
    on_batch: Callable[[int], None] | None = None,
    max_tokens: int | None = None,
) -> list[Any]:
    """Per-feature outputs of ``model`` (as the task type's ``outputs`` defines them), in feature order."""
    return predict_copies(model, features, batch_size, device, dtype, pad_id, 1, on_batch, max_tokens)[0]


def predict_copies(
    model: TaskModel,
    features: datasets.Dataset,
    batch_size: int,
    device: torch.device,
    dtype: torch.dtype,
    pad_id: int,
    copies: int,
    on_batch: Callable[[int], None] | None = None,
    max_tokens: int | None = None,
) -> list[list[Any]]:
    """``predict_features`` for each of ``copies`` repetitions of every batch (see ``iter_outputs``)."""
    outputs: list[list[Any]] = [[None] * len(features) for _ in range(copies)]
    for indices, per_copy in iter_outputs(model, features, batch_size, device, dtype, pad_id, copies, max_tokens):
        for copy, batch_outputs in zip(outputs, per_copy):
            for i, out in zip(indices, batch_outputs):
                copy[i] = out
        if on_batch:
            on_batch(len(indices))
    return outputs


@dataclass
class EvalContext:
    """One evaluation cell's model and data, for task types whose predictions need more than the cell's
    own outputs (retrieval: a candidate pool outside the examples, a dev split to tune a threshold on)."""

    task: Any  # the cell's Task (noise included)
    split: str
    data_dir: Path | None
    model: TaskModel
    tokenizer: Any
    max_length: int
    batch_size: int
    device: torch.device
    dtype: torch.dtype
    progress: Callable[[], Progress]
    #: what identifies the model's weights (base, stage, adapters), for caches of its outputs; None: no caching
    model_key: str | None = None
    max_tokens: int | None = None  # a token budget per batch (``auto`` on a GPU), besides ``batch_size`` rows

    def outputs(self, examples: list[dict[str, Any]], description: str) -> Iterator[tuple[list[int], list[Any]]]:
        """The model's outputs on more examples, streamed: (example indices, outputs) per batch."""
        features = featurize(self.model.task_type, examples, self.tokenizer, self.max_length, self.task.cfg)
        owners = features["example_index"]
        pad_id = self.tokenizer.pad_token_id
        with self.progress() as progress:
            bar = progress.add_task(description, total=len(features))
            for indices, (outputs,) in iter_outputs(
                self.model, features, self.batch_size, self.device, self.dtype, pad_id, max_tokens=self.max_tokens
            ):
                progress.advance(bar, len(indices))
                yield [owners[i] for i in indices], outputs
