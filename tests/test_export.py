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
            assert record["scorers"]["seqeval"].startswith("seqeval ")  # which seqeval scored it, in every record
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


# -- every task's files in the layout and format evaluate.py's readers expect --------------------------------


def read_xcopa(path: Path) -> list:  # evaluate.py's reader for multiple choice: a JSON object per line
    return [json.loads(line)["label"] for line in path.open()]


def read_json(path: Path) -> dict:  # evaluate.py's read_squad: the "data" list of a dataset, else the object
    data = json.loads(path.read_text())
    return data["data"] if "data" in data else data


def suffix(family: str, version: str) -> str:  # evaluate.py's get_suffix
    if family in ("xquad", "mlqa", "tydiqa", "mewslix"):
        return "json"
    return "jsonl" if version == "xtreme-r" and family == "xcopa" else "tsv"


ROWS = {  # (task_type, rows) per family: the predictions files a run writes
    "xnli": ("classification", [{"id": "0", "prediction": "neutral", "reference": "neutral"},
                                {"id": "1", "prediction": "neutral", "reference": "entailment"}]),
    "xcopa": ("multiple_choice", [{"id": "0", "prediction": 1, "reference": 1},
                                  {"id": "1", "prediction": 0, "reference": 1}]),
    "udpos": ("tagging", [{"id": "0", "prediction": ["NOUN", "VERB"], "reference": ["NOUN", "VERB"]}]),
    "tydiqa": ("span_qa", [{"id": "q1", "prediction": "Paris", "reference": ["Paris"]},
                           {"id": "q1", "prediction": "Rome", "reference": ["Berlin"]}]),  # a reused id
    "tatoeba": ("retrieval", [{"id": "0", "prediction": "0", "reference": "0"},
                              {"id": "1", "prediction": "0", "reference": "1"}]),
    "mewslix": ("retrieval", [{"id": "m1", "prediction": ["Q2", "Q1"], "reference": ["Q1"]},
                              {"id": "m2", "prediction": ["Q3"], "reference": ["Q3"]}]),
    "lareqa": ("retrieval", [{"id": "x", "prediction": ["c1"], "reference": ["c1", "c2"]}]),
    "xquad": ("span_qa", [{"id": "q9", "prediction": "", "reference": []}]),  # unlabelled: refused
}  # fmt: skip
LANG = {"xnli": "de", "xcopa": "et", "udpos": "de", "tydiqa": "en", "tatoeba": "de", "mewslix": "de",
        "lareqa": "de", "xquad": "de"}  # fmt: skip


def fake_run(tmp_path: Path) -> Path:
    from harness.results import CellStore, write_json, write_samples

    store, records = CellStore(tmp_path / "runs"), []
    for family, (task_type, rows) in ROWS.items():
        key = f"k-{family}"
        write_samples(store.predictions_path(key), rows)
        records.append({"key": key, "family": family, "language": LANG[family], "task": f"{family}_{LANG[family]}",
                        "intermediate": "none", "condition": "clean", "split": "validation",
                        "spec": {"task_type": task_type}})  # fmt: skip
    run_dir = tmp_path / "runs" / "run1"
    write_json(run_dir / "results.json", {"results": records})
    return run_dir


def test_every_task_exports_what_evaluate_py_reads_or_says_why_not(tmp_path) -> None:
    from harness.metrics.retrieval import mean_average_precision
    from harness.metrics.squad import squad

    run_dir = fake_run(tmp_path)
    out = CliRunner().invoke(cli, ["export-predictions", str(run_dir), "--out", str(tmp_path / "x")])
    assert out.exit_code == 0, out.output
    pred, gold = tmp_path / "x" / "predictions", tmp_path / "x" / "labels"
    assert sorted(p.name for p in pred.iterdir()) == ["mewslix", "tatoeba", "tydiqa", "udpos", "xcopa", "xnli"]
    # XCOPA: .jsonl with {"label": ...} (was .tsv with bare labels)
    file = f"test-et.{suffix('xcopa', 'xtreme-r')}"
    assert accuracy(read_xcopa(gold / "xcopa" / file), read_xcopa(pred / "xcopa" / file)) == 50.0
    # Mewsli-X: JSON {example_id: [entity ids]} (was Python list reprs); MRR@20 = 0.5 + 1 over 2
    labels, predictions = read_json(gold / "mewslix" / "test-de.json"), read_json(pred / "mewslix" / "test-de.json")
    assert labels == {"m1": ["Q1"], "m2": ["Q3"]}
    assert mean_average_precision([labels[k] for k in labels], [predictions[k] for k in labels], 20) == 75.0
    # QA: a reused id no longer loses a prediction: one right, one wrong (keyed by id, both scored "Rome")
    dataset, predictions = read_json(gold / "tydiqa" / "test-en.json"), read_json(pred / "tydiqa" / "test-en.json")
    qas = [q for article in dataset for p in article["paragraphs"] for q in p["qas"]]
    assert len(predictions) == len(qas) == 2
    scores = squad([[a["text"] for a in q["answers"]] for q in qas], [predictions[q["id"]] for q in qas])
    assert scores["exact_match"] == 50.0
    assert read_tag(gold / "udpos" / "test-de.tsv") == [["NOUN", "VERB"]]
    assert accuracy(read_label(gold / "xnli" / "test-de.tsv"), read_label(pred / "xnli" / "test-de.tsv")) == 50.0
    assert read_label(pred / "tatoeba" / "test-de.tsv") == ["0", "0"]
    # refused, with the reason: LAReQA (no reader in evaluate.py) and unlabelled QA
    text = " ".join(out.output.split())
    assert "lareqa: not exported: evaluate.py has no reader for LAReQA" in text and "run_eval_lareqa.sh" in text
    assert "xquad/de: not exported: 1 of 1 questions have no gold answer" in text
    # the printed command is complete: the version and evaluate.py's required --output_file
    assert f"--xtreme_version xtreme-r --output_file {tmp_path / 'x'}/scores-xtreme-r.json" in text
    assert "udpos: af ar bg" in text  # evaluate.py stops at the first language this run lacks: said
