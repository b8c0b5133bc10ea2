"""Sentence(-pair) classification: XNLI, PAWS-X; MNLI, ANLI, QQP as intermediates."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import SpecError
from ..spec import TaskConfig
from .base import TaskType, pad, register_task_type


def label_index(cfg: TaskConfig, value: Any, n_labels: int, example_id: Any) -> int:
    """A gold label as an index: a name from ``label_list``, an int, or a digit string."""
    if isinstance(value, str) and value in cfg.label_list:
        return cfg.label_list.index(value)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        index = int(value)
        if 0 <= index < n_labels:
            return index
    raise SpecError(
        f"Task {cfg.task!r}, doc {example_id}: label {value!r} is neither in label_list "
        f"{cfg.label_list} nor an index below {n_labels}. Fix doc_to_target or label_list."
    )


class SentenceHead(nn.Module):
    """XLM-R's classification head (dense, tanh, projection) on the ``<s>`` token."""

    def __init__(self, hidden_size: int, n_out: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, n_out)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x = self.dropout(hidden[:, 0])
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


def encoder_states(encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    return encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


@register_task_type
class Classification(TaskType[torch.Tensor]):
    name = "classification"
    fields = {"text": True, "text_pair": False, "target": True}
    noise_fields = ("text", "text_pair")
    default_metrics = ("acc",)

    def prepare(self, cfg: TaskConfig, example: dict[str, Any]) -> dict[str, Any]:
        if not cfg.label_list:
            raise SpecError(f"Task {cfg.task!r}: a classification task needs label_list.")
        example["target"] = label_index(cfg, example["target"], len(cfg.label_list), example["id"])
        return example

    def encode(
        self, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
    ) -> dict[str, list[Any]]:
        texts = [str(e["text"]) for e in examples]
        pairs = (
            [str(e["text_pair"]) for e in examples] if examples and examples[0].get("text_pair") is not None else None
        )
        enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
        return {
            "input_ids": enc["input_ids"],
            "label": [e["target"] for e in examples],
            "example_index": [e["index"] for e in examples],
            "length": [len(ids) for ids in enc["input_ids"]],
        }

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids = pad([r["input_ids"] for r in rows], pad_id)
        return {
            "input_ids": ids,
            "attention_mask": (ids != pad_id).long(),
            "labels": torch.tensor([r["label"] for r in rows]),
        }

    def make_head(self, hidden_size: int, cfg: TaskConfig) -> nn.Module:
        return SentenceHead(hidden_size, len(cfg.label_list))

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        assert head is not None
        return head(encoder_states(encoder, batch["input_ids"], batch["attention_mask"]))

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.float(), batch["labels"])

    def outputs(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        return logits.float().argmax(-1).tolist()

    def scores(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Class (multiple choice: choice) probabilities."""
        return logits.float().softmax(-1).tolist()

    def predict(self, outputs: list[Any], features: Any, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[Any]:
        preds: list[Any] = [None] * len(examples)
        for out, idx in zip(outputs, features["example_index"]):
            preds[idx] = out
        return preds

    def show(self, prediction: Any, cfg: TaskConfig) -> Any:
        return cfg.label_list[prediction] if cfg.label_list else prediction
