"""`harness run` end to end on the tiny model: it trains, scores real labels, reuses, resumes, is deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.pipeline import RunConfig, Runner


def toy_config(model: Path, toy_tasks: Path, toy_data: Path, out: Path, **kw) -> RunConfig:
    return RunConfig(
        tasks=["toy"],
        model=str(model),
        data_dir=toy_data,
        include_paths=[toy_tasks],
        output=out,
        adapter_dir=out / "store",
        **kw,
    )


@pytest.fixture(scope="module")
def first_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    from conftest import FIXTURES

    out = tmp_path_factory.mktemp("run")
    result = Runner(toy_config(tiny_model_dir, FIXTURES / "tasks", FIXTURES / "data", out)).run()
    return result, out


def test_training_really_trains_and_beats_chance(first_run: tuple[dict, Path]) -> None:
    result, _ = first_run
    scores = {r["language"]: r["score"] for r in result["results"]}
    assert set(scores) == {"en", "de"}
    assert scores["en"] >= 90.0  # chance is 50: the adjective decides the label
    artefact = result["results"][0]["artefact"]
    assert not artefact["reused"] and artefact["train_stats"]["final_loss"] < artefact["train_stats"]["first_loss"]


def test_result_file_has_everything_to_reproduce(first_run: tuple[dict, Path]) -> None:
    result, out = first_run
    saved = json.loads((result["run_dir"] / "results.json").read_text())
    assert saved["tasks"]["toy_de"]["language"] == "de" and saved["tasks"]["toy_de"]["label_list"] == ["neg", "pos"]
    assert saved["environment"]["packages"]["torch"] and saved["environment"]["packages"]["transformers"]
    assert saved["model"]["fingerprint"] and saved["config"]["seed"] == 0
    assert set(saved["groups"]["toy"]["scores"]["clean"]) == {"acc"}
    en_de = [r["metrics"]["acc"] for r in saved["results"]]
    assert saved["groups"]["toy"]["scores"]["clean"]["acc"] == sum(en_de) / 2
    assert {"tokenize_s", "predict_s"} <= set(saved["results"][0]["timings"])
    assert (result["run_dir"] / "results.md").read_text().startswith("### ")
    assert len(list((out / "records").glob("*.json"))) == 2


def test_second_run_reuses_the_model_and_the_finished_cells(first_run, tiny_model_dir, toy_tasks, toy_data) -> None:
    result, out = first_run
    again = Runner(toy_config(tiny_model_dir, toy_tasks, toy_data, out)).run()
    assert [r["key"] for r in again["results"]] == [r["key"] for r in result["results"]]
    assert any("reused full target model" in e for e in again["events"])
    rerun = Runner(toy_config(tiny_model_dir, toy_tasks, toy_data, out, resume=False)).run()
    assert rerun["results"][0]["artefact"]["reused"] is True
    assert [r["score"] for r in rerun["results"]] == [r["score"] for r in result["results"]]


def test_numbers_do_not_depend_on_the_batch_size(first_run, tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    result, out = first_run
    scores = {}
    for size in (1, 7):
        cfg = toy_config(tiny_model_dir, toy_tasks, toy_data, tmp_path / str(size), batch_size=size, log_samples=True)
        cfg.adapter_dir = out / "store"  # same trained model; only evaluation batching differs
        run = Runner(cfg).run()
        scores[size] = [r["score"] for r in run["results"]]
    samples = {size: (tmp_path / str(size) / "samples" / "toy_de@clean.jsonl").read_text() for size in (1, 7)}
    assert scores[1] == scores[7] == [r["score"] for r in result["results"]]
    assert samples[1] == samples[7]
    first = json.loads(samples[1].splitlines()[0])
    assert first["prediction"] in ("neg", "pos") and isinstance(first["correct"], bool)


def test_training_seeds_evaluate_the_same_documents_under_the_same_noise(
    tiny_model_dir, toy_tasks, toy_data, tmp_path
) -> None:
    """Same seed, same model; another training seed, another model on the same --limit sample with the same
    noisy text, so seeds pair up; only --sample-seed draws other documents (and --noise-seed other edits)."""
    settings = [(1, 0, 0), (1, 0, 0), (2, 0, 0), (2, 5, 3)]  # (seed, sample seed, noise seed)
    runs = [
        Runner(
            toy_config(tiny_model_dir, toy_tasks, toy_data, tmp_path / f"s{seed}-{sample}-{noise}", seed=seed,
                       sample_seed=sample, noise_seed=noise, limit=10, epochs=1.0, languages=["en"],
                       noise=["typo:0.3"], log_samples=True)
        ).run()
        for seed, sample, noise in settings
    ]  # fmt: skip
    clean = [next(r for r in run["results"] if r["condition"] == "clean") for run in runs]
    keys = [r["artefact"]["key"] for r in clean]
    assert keys[0] == keys[1] != keys[2] != keys[3]
    assert clean[0]["doc_ids"] == clean[2]["doc_ids"] != clean[3]["doc_ids"]
    assert [(r["seed"], r["sample_seed"], r["noise_seed"]) for r in clean] == settings
    noisy = [(tmp_path / f"s{s}-{a}-{n}" / "samples" / "toy_en@typo:0.3.jsonl").read_text() for s, a, n in settings]
    texts = [[json.loads(line)["text"] for line in text.splitlines()] for text in noisy]
    assert texts[0] == texts[2] and texts[2] != texts[3]
    assert [json.loads(line)["id"] for line in noisy[0].splitlines()] == clean[0]["doc_ids"]


def test_cli_run_prints_a_per_language_table(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--tasks",
            "toy",
            "--include-path",
            str(toy_tasks),
            "--data-dir",
            str(toy_data),
            "--model",
            str(tiny_model_dir),
            "--output",
            str(tmp_path),
            "--adapter-dir",
            str(tmp_path / "store"),
            "--epochs",
            "1",
            "--limit",
            "8",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "toy" in result.output and " en " in result.output and " de " in result.output and "avg" in result.output
    assert "Results:" in result.output


def test_lora_method_trains_only_the_adapter_and_head(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    cfg = toy_config(tiny_model_dir, toy_tasks, toy_data, tmp_path, method="lora", languages=["en"], learning_rate=1e-2)
    result = Runner(cfg).run()
    record = result["results"][0]
    stats = record["artefact"]["train_stats"]
    assert stats["trainable_parameters"] < 20_000  # LoRA on query/value + the head, not the 2-layer encoder
    assert record["score"] >= 80.0
    store = tmp_path / "store" / record["artefact"]["key"]
    assert (store / "adapter").is_dir() and (store / "heads" / "toy.safetensors").is_file()
    assert not (store / "encoder").exists()
