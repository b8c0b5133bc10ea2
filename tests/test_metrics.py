"""Accuracy as XTREME's evaluate.py computes it, on real labels with planted predictions."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.metrics import accuracy, compute, get_metric, mean
from harness.registry import TaskIndex
from harness.task import Task


def test_accuracy_matches_the_official_formula() -> None:
    # evaluate.py: float(correct) / len(predictions) * 100 (in that order: 2/3*100 != 200/3 in floats)
    assert accuracy([0, 1, 2], [0, 1, 1]) == float(2) / 3 * 100 == 66.66666666666666
    assert accuracy(["a"], ["a"]) == 100.0
    with pytest.raises(ValueError):
        accuracy([0, 1], [0])


def test_mean_is_the_macro_average() -> None:
    assert mean([50.0, 100.0]) == 75.0


def test_unknown_metric_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="Unknown metric 'accuracy'.*acc"):
        get_metric("accuracy")


def test_planted_predictions_are_scored_against_the_real_labels(toy_tasks: Path, toy_data: Path) -> None:
    """Predict 'pos' for every doc: accuracy must equal the share of 'pos' lines in the file."""
    task = Task(TaskIndex([toy_tasks]).task("toy_en"))
    examples = task.examples("validation", toy_data)
    with open(toy_data / "toy" / "dev-en.tsv", encoding="utf-8") as fh:
        gold = [row[2] for row in csv.reader(fh, delimiter="\t")]
    pos = task.cfg.label_list.index("pos")
    features = {"example_index": [e["index"] for e in examples]}
    predictions = task.type.predict([pos] * len(examples), features, examples, task.cfg)
    references = [task.type.reference(e) for e in examples]
    scores = compute(task.metric_list, references, predictions)
    assert scores == {"acc": float(gold.count("pos")) / len(gold) * 100}
    assert 0 < scores["acc"] < 100
