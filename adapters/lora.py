"""Named LoRA adapters (HF PEFT) on the one base encoder a run keeps in memory.

Switching adapters flips which LoRA deltas are active; the base weights are
never copied or reloaded. No PEFT ``task_type`` is set: heads stay outside PEFT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn

DEFAULT_TARGET_MODULES = ("query", "value")


def lora_config(
    rank: int = 8,
    alpha: int = 16,
    dropout: float = 0.1,
    target_modules: tuple[str, ...] | list[str] = DEFAULT_TARGET_MODULES,
) -> LoraConfig:
    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules))


class LoraHost:
    """The resident base encoder plus its named LoRA adapters."""

    def __init__(self, encoder: nn.Module) -> None:
        self.base = encoder
        self.peft: PeftModel | None = None

    @property
    def adapters(self) -> list[str]:
        return list(self.peft.peft_config) if self.peft is not None else []

    def add(self, name: str, config: LoraConfig) -> nn.Module:
        """A new trainable adapter, made the only active one; returns the module to train."""
        if self.peft is None:
            self.peft = get_peft_model(self.base, config, adapter_name=name)
        else:
            self.peft.add_adapter(name, config)
        return self.use(name, trainable=True)

    def load(self, name: str, path: Path) -> None:
        if name in self.adapters:
            return
        if self.peft is None:
            self.peft = PeftModel.from_pretrained(self.base, str(path), adapter_name=name, is_trainable=False)
        else:
            self.peft.load_adapter(str(path), adapter_name=name, is_trainable=False)

    def use(self, name: str, trainable: bool = False) -> nn.Module:
        """Activate one adapter (frozen unless ``trainable``); returns the module to call."""
        assert self.peft is not None, "no adapter added or loaded yet"
        self.peft.set_adapter(name, inference_mode=not trainable)
        return self.peft

    def save(self, name: str, path: Path) -> None:
        assert self.peft is not None
        self.peft.save_pretrained(str(path), selected_adapters=[name])


class BaseOnly(nn.Module):
    """The base encoder with every LoRA adapter switched off: what an untrained (zero-shot) cell reads
    once adapters have been injected into the shared base."""

    def __init__(self, peft: PeftModel) -> None:
        super().__init__()
        self.peft = peft

    def forward(self, **inputs: Any) -> Any:
        with self.peft.disable_adapter():
            return self.peft(**inputs)
