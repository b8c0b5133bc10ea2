"""`harness export-predictions`: the files google-research/xtreme's evaluate.py reads give back the run's scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from seqeval.metrics import f1_score

from harness.cli import cli
from harness.metrics import accuracy
from harness.metrics.squad import squad
from harness.pipeline import RunConfig, Runner


def read_label(path: Path) -> list[str]:  # evaluate.py's reader for classification and Tatoeba
    return [line.strip() for line in path.open()]


def read_tag(path: Path) -> list[list[str]]:  # evaluate.py's reader for tagging
    sentences, current = [], []
    for line in path.open():
        if line.strip():
            current.append(line.strip())
        else:
            sentences.append(current)
            current = []
    return sentences + ([current] if current else [])


def test_exported_files_score_like_the_run(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    config = RunConfig(tasks=["toy_en", "toytag", "toyqa"], model=str(tiny_model_dir), data_dir=toy_data,
                       include_paths=[toy_tasks], output=tmp_path / "runs", adapter_dir=tmp_path / "store",
                       limit=12, epochs=1)  # fmt: skip
    result = Runner(config).run()
    cli_out = CliRunner().invoke(cli, ["export-predictions", str(result["run_dir"]), "--out", str(tmp_path / "x")])
    assert cli_out.exit_code == 0, cli_out.output
    for record in result["results"]:
        folder, lang = record["family"], record["language"]
        pred = tmp_path / "x" / "predictions" / folder
        gold = tmp_path / "x" / "labels" / folder
        if record["spec"]["task_type"] == "classification":
            labels, preds = read_label(gold / f"test-{lang}.tsv"), read_label(pred / f"test-{lang}.tsv")
            assert set(labels) <= {"neg", "pos"} and len(labels) == record["n"]
            assert accuracy(labels, preds) == record["metrics"]["acc"]
        elif record["spec"]["task_type"] == "tagging":
            labels, preds = read_tag(gold / f"test-{lang}.tsv"), read_tag(pred / f"test-{lang}.tsv")
            with pytest.warns(UserWarning):  # seqeval: "NOUN seems not to be NE tag" (evaluate.py warns too)
                assert f1_score(labels, preds) * 100 == pytest.approx(record["metrics"]["f1"])
        else:
            dataset = json.loads((gold / f"test-{lang}.json").read_text())["data"]
            answers = {q["id"]: [a["text"] for a in q["answers"]] for a in dataset for p in a["paragraphs"]
                       for q in p["qas"]}  # fmt: skip
            predictions = json.loads((pred / f"test-{lang}.json").read_text())
            scores = squad([answers[k] for k in answers], [predictions[k] for k in answers])
            assert scores == {k: record["metrics"][k] for k in scores}
    assert (tmp_path / "x" / "split.txt").read_text().strip() == "['validation']"


def test_export_errors_name_the_fix(tmp_path) -> None:
    out = CliRunner().invoke(cli, ["export-predictions", str(tmp_path)])
    assert out.exit_code == 2 and "is not a run folder" in out.output
