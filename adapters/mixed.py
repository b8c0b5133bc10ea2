"""Several (intermediate, target) combinations in one forward pass: mixed-adapter batches.

The same batch is repeated once per combination (combination-major). One
encoder pass runs every row through the base weights and only its own LoRA
delta; each combination's head then scores its own slice of the hidden
states. Heads stay outside PEFT, which is what makes this work for every task
type.

The deltas are added by ``StackedLora``: the K combinations' A and B matrices
of a layer are stacked once per call, and each layer adds all K deltas with two
batched matmuls over the K slices of rows. PEFT's own ``adapter_names`` path
does the same with Python lists of row indices (an index and an index_put per
adapter per layer, each a sync on a GPU); it remains the way for adapters
``StackedLora`` cannot stack (DoRA, non-Linear LoRA layers). A mixed call that
fails can leave PEFT's forward hooks attached (huggingface/peft#3475);
``hooks_restored`` removes them, so the caller can fall back to switching
adapters one combination at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import datasets
import torch
from peft.tuners import lora
from torch import nn

from harness.evaluation import predict_copies
from harness.tasktypes import TaskType
from harness.training import TaskModel

from .lora import LoraHost


class StackedLora:
    """The LoRA deltas of K adapters, stacked per layer: ``A`` (K, r, in), ``B`` (K, out, r), scale (K, 1, 1).

    Adapters of different ranks are padded with zero rows and columns, and an
    adapter that does not touch a layer gets zeros there: neither changes a sum.
    """

    def __init__(self, layers: dict[nn.Module, tuple[torch.Tensor, ...]]) -> None:
        self.layers = layers

    def to(self, device: torch.device) -> StackedLora:
        """The stacks on ``device`` (where the model was moved after they were built)."""
        for module, stacks in self.layers.items():
            if stacks[0].device != device:
                self.layers[module] = tuple(t.to(device) for t in stacks)
        return self

    @classmethod
    def build(cls, peft: nn.Module, names: list[str]) -> StackedLora | None:
        """The stacks of ``names``, or None when a LoRA layer is not one this can stack."""
        known = set(getattr(peft, "peft_config", {}))
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"no adapter named {', '.join(missing)}")
        layers: dict[nn.Module, tuple[torch.Tensor, ...]] = {}
        for module in peft.modules():
            if not isinstance(module, lora.LoraLayer) or not any(n in module.lora_A for n in names):
                continue
            if (
                not isinstance(module, lora.Linear)
                or module.fan_in_fan_out
                or any(module.use_dora.get(n) for n in names)
            ):
                return None
            base = module.get_base_layer()
            rank = max(module.r[n] for n in names if n in module.lora_A)
            a = base.weight.new_zeros((len(names), rank, base.in_features))
            b = base.weight.new_zeros((len(names), base.out_features, rank))
            scale = torch.zeros((len(names), 1, 1), device=base.weight.device)  # fp32 with bf16 weights too
            for k, name in enumerate(names):
                if name in module.lora_A:
                    r = module.r[name]
                    a[k, :r] = module.lora_A[name].weight
                    b[k, :, :r] = module.lora_B[name].weight
                    scale[k] = module.scaling[name]
            layers[module] = (a, b, scale)
        return cls(layers)

    @contextlib.contextmanager
    def added(self) -> Iterator[None]:
        """Inside the block each stacked layer adds slice ``k``'s delta to the rows of slice ``k``."""

        def add_delta(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
            a, b, scale = self.layers[module]
            x = args[0].to(a.dtype)
            rows = x.reshape(len(a), -1, x.shape[-1])  # (K, rows of one combination × tokens, in)
            delta = torch.bmm(torch.bmm(rows, a.transpose(1, 2)), b.transpose(1, 2)) * scale
            return output + delta.reshape(*output.shape).to(output.dtype)

        handles = [module.register_forward_hook(add_delta) for module in self.layers]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()


class MixedEncoder(nn.Module):
    """Calls a PeftModel with one adapter per row: the rows are ``len(names)`` equal, combination-major slices."""

    def __init__(self, peft: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.peft: Any = peft
        self.names = names
        with torch.no_grad():
            self.stacked = StackedLora.build(peft, names)

    def forward(self, input_ids: torch.Tensor, **kwargs: Any) -> Any:
        if self.stacked is None:
            per = input_ids.shape[0] // len(self.names)
            return self.peft(input_ids=input_ids, adapter_names=[n for n in self.names for _ in range(per)], **kwargs)
        with (
            self.peft.disable_adapter(),
            self.stacked.to(input_ids.device).added(),
        ):  # the base alone, plus the stacked deltas
            return self.peft(input_ids=input_ids, **kwargs)


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
    max_tokens: int | None = None,
) -> list[list[Any]]:
    """Per-feature outputs of K models (an adapter set and a head each), one forward pass per batch.

    Batches hold ``batch_size // K`` features, repeated K times, so a pass costs
    what one ``batch_size`` batch of a single model costs. Raises (with PEFT's
    hooks removed) if PEFT cannot mix these adapters; the caller then switches.
    """
    peft, heads = host.peft, [head for _, head in members if head is not None]
    if peft is None or len(heads) < len(members):
        raise ValueError("a mixed pass needs every model's adapters on the host and a head for each")
    names = [host.combine(adapters) for adapters, _ in members]
    host.activate([])  # adapter_names picks each row's adapter
    model = TaskModel(MixedEncoder(peft, names), GroupedHead(heads), task_type)
    with hooks_restored(peft):
        return predict_copies(model, features, batch_size, device, dtype, pad_id, len(members), on_batch, max_tokens)
