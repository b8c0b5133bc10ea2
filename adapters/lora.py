"""Named LoRA adapters (HF PEFT) on the one base encoder a run keeps in memory.

Switching adapters only changes which LoRA deltas are active: the base weights
are never copied or reloaded. No PEFT ``task_type`` is set, so task heads stay
outside PEFT (XLM-R's composite sequence head breaks PEFT's mixed-adapter
batches, and an intermediate adapter must serve under any target head).

Stacking a target adapter on an intermediate one (peft_noise.md, A4):
``frozen`` keeps both active and trains only the target (active deltas add,
so this equals merging the intermediate first); ``continue`` starts the
target from a copy of the intermediate's weights; ``merge`` folds the
intermediate into a copy of the base (parity with full fine-tuning).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peft import LoraConfig, LoraModel, PeftModel, get_peft_model
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from torch import nn

if TYPE_CHECKING:
    from transformers import PreTrainedModel

DEFAULT_TARGET_MODULES = ("query", "value")
STACKS = ("frozen", "continue", "merge")


def lora_config(
    rank: int = 8,
    alpha: int = 16,
    dropout: float = 0.1,
    target_modules: tuple[str, ...] | list[str] = DEFAULT_TARGET_MODULES,
) -> LoraConfig:
    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules))


class LoraHost:
    """The resident base encoder plus its named LoRA adapters."""

    def __init__(self, encoder: PreTrainedModel) -> None:
        self.base = encoder
        self.peft: PeftModel | None = None
        self._combined: dict[tuple[str, ...], str] = {}

    @property
    def adapters(self) -> list[str]:
        return list(self.peft.peft_config) if self.peft is not None else []

    def add(self, name: str, config: LoraConfig, init_from: str | None = None) -> None:
        """A new adapter; ``init_from`` copies another adapter's weights into it (the ``continue`` stack).

        The host is shared by every run of a process, so ``name`` may already be here (trained by an earlier run
        for another artefact store): that one is replaced, with the mixed-batch combinations that include it."""
        if name in self.adapters:
            assert self.peft is not None
            for names, combined in [(k, v) for k, v in self._combined.items() if name in k]:
                self.peft.delete_adapter(combined)
                del self._combined[names]
            self.peft.delete_adapter(name)
        if self.peft is None:
            self.peft = get_peft_model(self.base, config, adapter_name=name)
        else:
            self.peft.add_adapter(name, config)
        if init_from is not None:
            state = get_peft_model_state_dict(self.peft, adapter_name=init_from)
            set_peft_model_state_dict(self.peft, state, adapter_name=name)

    def load(self, name: str, path: Path) -> None:
        if name in self.adapters:
            return
        if self.peft is None:
            self.peft = PeftModel.from_pretrained(self.base, str(path), adapter_name=name, is_trainable=False)
        else:
            self.peft.load_adapter(str(path), adapter_name=name, is_trainable=False)

    def activate(self, names: list[str], train: str | None = None) -> nn.Module:
        """Make exactly ``names`` active (their deltas add up); only ``train`` gets gradients.

        Returns the module to call. With no names the plain base runs (PEFT wraps
        the same modules, so this is still no copy of the weights).
        """
        if self.peft is None:
            assert not names, "no adapter added or loaded yet"
            return self.base
        tuner = self.peft.base_model  # a LoraModel (whose set_adapter takes a stack), typed as a plain Module by PEFT
        assert isinstance(tuner, LoraModel)
        tuner.set_adapter(list(names) or self.adapters[:1], inference_mode=True)
        self.peft.set_requires_grad(self.adapters, False)
        if not names:
            return BaseOnly(self.peft)
        if train is not None:
            self.peft.set_requires_grad(train, True)
        return self.peft

    def combine(self, names: list[str]) -> str:
        """One adapter equal to the sum of ``names`` (PEFT's exact ``cat`` combination), for mixed batches."""
        if len(names) == 1:
            return names[0]
        key = tuple(names)
        if key not in self._combined:
            assert self.peft is not None
            combined = "+".join(names)
            self.peft.add_weighted_adapter(list(names), [1.0] * len(names), combined, combination_type="cat")
            self._combined[key] = combined
        return self._combined[key]

    def merged_copy(self, names: list[str]) -> nn.Module:
        """A separate plain encoder with ``names`` merged into its weights (the ``merge`` stack)."""
        assert self.peft is not None
        clone = copy.deepcopy(self.peft)
        return clone.merge_and_unload(adapter_names=list(names))

    def save(self, name: str, path: Path) -> None:
        """Write one adapter in PEFT's format (``adapter_model.safetensors`` + ``adapter_config.json``) to ``path``."""
        assert self.peft is not None
        scratch = path.parent / ".peft-save"
        self.peft.save_pretrained(str(scratch), selected_adapters=[name])
        (scratch / name if name != "default" else scratch).rename(path)  # PEFT nests non-default names
        shutil.rmtree(scratch, ignore_errors=True)


class BaseOnly(nn.Module):
    """The base encoder with every LoRA adapter switched off: what the no-intermediate baseline and an
    untrained (zero-shot) cell read once adapters have been injected into the shared base."""

    def __init__(self, peft: PeftModel) -> None:
        super().__init__()
        self.peft = peft

    def forward(self, **inputs: Any) -> Any:
        with self.peft.disable_adapter():
            return self.peft(**inputs)
