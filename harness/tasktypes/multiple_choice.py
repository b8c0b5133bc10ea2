"""Multiple choice: XCOPA; COPA, SIQA, HellaSwag, CosmosQA, CommonsenseQA.

Each (context, choice) pair is encoded as a sentence pair and scored by a
one-output head; the choice with the highest score wins (XTREME-R's
``run_xcopa.py`` recipe).
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import nn

from ..errors import SpecError
from ..spec import TaskConfig
from .base import pad, register_task_type
from .classification import Classification, SentenceHead, encoder_states, label_index


@register_task_type
class MultipleChoice(Classification):
    """Scored like classification (argmax, accuracy) over a per-doc list of choices."""

    name = "multiple_choice"
    fields = {"text": True, "choices": True, "target": True}
    noise_fields = ("text", "choices")
    default_metrics = ("acc",)

    def prepare(self, cfg: TaskConfig, example: dict[str, Any]) -> dict[str, Any]:
        choices = example["choices"]
        if not isinstance(choices, list) or len(choices) < 2:
            raise SpecError(
                f"Task {cfg.task!r}, doc {example['id']}: doc_to_choice must give a list of 2+ choices, got {choices!r}."
            )
        example["choices"] = [str(c) for c in choices]
        example["target"] = label_index(cfg, example["target"], len(choices), example["id"])
        return example

    def encode(
        self, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
    ) -> dict[str, list[Any]]:
        firsts = [str(e["text"]) for e in examples for _ in e["choices"]]
        seconds = [c for e in examples for c in e["choices"]]
        enc = tokenizer(firsts, seconds, truncation=True, max_length=max_length)["input_ids"]
        grouped, start = [], 0
        for e in examples:
            grouped.append(enc[start : start + len(e["choices"])])
            start += len(e["choices"])
        return {
            "input_ids": grouped,
            "label": [e["target"] for e in examples],
            "example_index": [e["index"] for e in examples],
            "length": [max(len(ids) for ids in g) * len(g) for g in grouped],
        }

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        n_choices = {len(r["input_ids"]) for r in rows}
        if len(n_choices) != 1:
            raise SpecError(
                f"multiple_choice: every doc of a task must have the same number of choices, got {sorted(n_choices)}."
            )
        flat = pad([ids for r in rows for ids in r["input_ids"]], pad_id)
        ids = flat.view(len(rows), n_choices.pop(), -1)
        return {
            "input_ids": ids,
            "attention_mask": (ids != pad_id).long(),
            "labels": torch.tensor([r["label"] for r in rows]),
        }

    def make_head(self, hidden_size: int, cfg: TaskConfig) -> nn.Module:
        return SentenceHead(hidden_size, 1)

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        assert head is not None
        b, c, length = batch["input_ids"].shape
        hidden = encoder_states(
            encoder, batch["input_ids"].view(b * c, length), batch["attention_mask"].view(b * c, length)
        )
        return head(hidden).view(b, c)

    def export(self, rows: list[dict[str, Any]]) -> tuple[str, str, str]:
        """XTREME-R's multiple-choice layout: ``.jsonl``, one ``{"label": ...}`` per line (``read_xcopa``)."""
        lines = {
            side: "".join(json.dumps({"label": r[side]}, allow_nan=False) + "\n" for r in rows)
            for side in ("prediction", "reference")
        }
        return "jsonl", lines["prediction"], lines["reference"]
