"""Evaluation batching: a token budget groups inputs differently, and never changes an output."""

from __future__ import annotations

from pathlib import Path

import torch

from harness.evaluation import auto_batching, predict_features
from harness.features import featurize, length_batches
from harness.models import load_base
from harness.registry import TaskIndex
from harness.task import Task
from harness.training import TaskModel


def test_token_budget_batches_hold_at_most_the_budget_in_length_order() -> None:
    lengths = [5, 40, 12, 40, 7, 3, 25, 12, 60, 9]
    batches = length_batches(lengths, batch_size=100, max_tokens=64)
    assert [i for b in batches for i in b] == [i for b in length_batches(lengths, 100) for i in b]  # same order
    assert all(len(b) * lengths[b[0]] <= 64 or len(b) == 1 for b in batches)
    assert [len(b) for b in batches] == [1, 1, 1, 2, 5]  # long inputs alone, short ones together
    assert max(len(b) for b in length_batches(lengths, batch_size=3, max_tokens=1000)) == 3  # rows still cap


def test_outputs_under_a_token_budget_equal_one_at_a_time(tiny_model_dir: Path, toy_tasks: Path, toy_data: Path):
    base = load_base(str(tiny_model_dir))
    task = Task(TaskIndex([toy_tasks]).task("toy_en"))
    examples = task.examples("validation", toy_data)
    features = featurize(task.type, examples, base.tokenizer, 64, task.cfg)
    torch.manual_seed(0)
    model = TaskModel(base.encoder, task.type.make_head(base.hidden_size, task.cfg), task.type)
    cpu, pad = torch.device("cpu"), base.tokenizer.pad_token_id
    one = predict_features(model, features, 1, cpu, torch.float32, pad)
    assert predict_features(model, features, 1000, cpu, torch.float32, pad, max_tokens=50) == one
    assert auto_batching(model, features, cpu, torch.float32, pad) == (32, None)  # a CPU keeps 32 rows
