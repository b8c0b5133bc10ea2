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


def one(folder: Path, pattern: str) -> str:
    """The text of the one file in ``folder`` that matches ``pattern``."""
    (path,) = folder.glob(pattern)
    return path.read_text(encoding="utf-8")


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
    [group] = saved["groups"]["toy"]["scores"]
    assert group["condition"] == "clean" and set(group["metrics"]) == {"acc"}
    en_de = [r["metrics"]["acc"] for r in saved["results"]]
    assert group["metrics"]["acc"] == group["score"] == sum(en_de) / 2
    assert {"tokenize_s", "predict_s"} <= set(saved["results"][0]["timings"])
    assert (result["run_dir"] / "results.md").read_text().startswith("### ")
    assert len(list((out / "records").glob("*.json"))) == 2


def test_second_run_reuses_the_model_and_the_finished_cells(first_run, tiny_model_dir, toy_tasks, toy_data) -> None:
    result, out = first_run
    again = Runner(toy_config(tiny_model_dir, toy_tasks, toy_data, out)).run()
    assert [r["key"] for r in again["results"]] == [r["key"] for r in result["results"]]
    assert again["events"] == [] and "load_model_s" not in again["timings"]  # nothing left to do: no model loaded
    rerun = Runner(toy_config(tiny_model_dir, toy_tasks, toy_data, out, resume=False)).run()
    assert any("reused full target model" in e for e in rerun["events"])
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
    samples = {size: one(tmp_path / str(size) / "samples", "toy_de@clean@none.full.seed0.*.jsonl") for size in (1, 7)}
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
    noisy = [
        one(tmp_path / f"s{s}-{a}-{n}" / "samples", f"toy_en@typo:0.3@none.full.seed{s}.*") for s, a, n in settings
    ]
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
    [head] = json.loads((store / "meta.json").read_text())["heads"]
    assert (store / "adapter").is_dir() and (store / "heads" / f"{head}.safetensors").is_file()
    assert not (store / "encoder").exists()


def test_torn_and_foreign_record_files_are_named_in_every_report(first_run, tiny_model_dir, toy_tasks, toy_data,
                                                                  tmp_path) -> None:  # fmt: skip
    import shutil

    _, out = first_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    torn, kept = sorted((copy / "records").glob("*.json"))
    torn.write_text(torn.read_text()[:100])  # a record cut short
    (copy / "records" / "notes.json").write_text('["a list, not a record"]')
    (copy / "records" / "other.json").write_text('{"tool": "someone else"}')
    for fmt in ("terminal", "markdown", "csv", "latex", "html"):
        shown = CliRunner().invoke(cli, ["report", str(copy), "--format", fmt, "--include-path", str(toy_tasks)])
        assert shown.exit_code == 0, shown.output
        flat = " ".join(shown.output.split())
        assert fmt in ("csv", "latex") or "3 file(s) in records/ skipped" in flat, (fmt, flat)  # no titles there
        if fmt == "terminal":  # a narrow test terminal cuts the cells short
            continue
        assert all(name in flat for name in (torn.name, "notes.json", "other.json")), (fmt, flat)
        assert "not valid JSON" in flat and "a JSON list, not a record" in flat and "not a harness record" in flat

    again = Runner(toy_config(tiny_model_dir, toy_tasks, toy_data, copy)).run()  # the torn cell is evaluated again
    assert len(again["results"]) == 2 and json.loads(torn.read_text())["key"] == torn.stem
    assert sorted(Path(s["file"]).name for s in again["skipped_records"]) == ["notes.json", "other.json"]
    assert "2 file(s) in records/ skipped" in (again["run_dir"] / "results.md").read_text()
    assert kept.is_file()


KILLED_WRITER = """
import os, sys
from pathlib import Path
from harness.adapters.store import ArtefactStore
from harness.paths import cache_root, temp_prefix

out = Path(sys.argv[1])
(out / "records" / (temp_prefix("0123abcd.json") + "x")).write_text('{"key": ')  # write_atomic's temp of a record
(cache_root() / "features" / (temp_prefix("f00d") + "x")).mkdir(parents=True)  # write_folder_atomic's temp
ArtefactStore(out / "store").save("abcdef0123456789abcd", {}, lambda tmp: os._exit(9))  # killed mid-save
"""


def test_temporaries_of_killed_runs_are_removed_by_the_next_run(first_run, tiny_model_dir, toy_tasks, toy_data,
                                                                 tmp_path) -> None:  # fmt: skip
    import shutil
    import subprocess
    import sys

    from harness.paths import cache_root, temp_prefix

    _, out = first_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(copy)], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    temps = [*copy.glob("*/.writing-*"), *(cache_root() / "features").glob(".writing-f00d*")]
    assert len(temps) == 3
    live = copy / "store" / (temp_prefix("abcdef0123456789abcd") + "ours")  # this process is alive: kept
    live.mkdir()
    again = Runner(toy_config(tiny_model_dir, toy_tasks, toy_data, copy)).run()
    assert any("Removed 3 temporary file(s) left by killed runs" in e for e in again["events"]), again["events"]
    assert not any(t.exists() for t in temps) and live.is_dir()


def interrupted_run(out: Path, tiny_model_dir: Path, toy_tasks: Path, toy_data: Path) -> list[str]:
    """``harness run`` arguments that evaluate 16 new cells under the model stored in ``out``."""
    sweep = ",".join(f"typo:{rate / 100}" for rate in range(1, 9))
    return ["run", "--tasks", "toy", "--include-path", str(toy_tasks), "--data-dir", str(toy_data), "--model",
            str(tiny_model_dir), "--output", str(out), "--adapter-dir", str(out / "store"), "--noise", sweep,
            "--batch-size", "8"]  # fmt: skip


def check_interrupted(out: Path, code: int, err: str, stopped: float) -> None:
    assert code == 130, err
    assert stopped < 5, stopped  # well under a second on an idle machine; generous for a shared CI
    flat = " ".join(err.split())
    assert "Interrupted." in flat and "run the same command again to resume" in flat and "Traceback" not in err
    kept = sorted((out / "records").glob("*.json"))
    assert 3 <= len(kept) < 18 and all(json.loads(p.read_text())["key"] == p.stem for p in kept)
    assert not list((out / "records").glob(".writing-*"))


def wait_for_records(records: Path, count: int, running) -> None:
    import time

    deadline = time.monotonic() + 120
    while len(list(records.glob("*.json"))) < count and running() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])  # Ctrl-C, and what a batch scheduler sends
def test_an_interrupt_during_evaluation_stops_at_once_keeps_its_records_and_says_how_to_resume(
    first_run, tiny_model_dir, toy_tasks, toy_data, tmp_path, signum
) -> None:
    import os
    import shutil
    import signal
    import threading
    import time

    out = shutil.copytree(first_run[1], tmp_path / "out")
    sent: list[float] = []

    def terminate_when_evaluating() -> None:
        wait_for_records(out / "records", 3, lambda: True)
        sent.append(time.monotonic())
        os.kill(os.getpid(), getattr(signal, signum))

    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    threading.Thread(target=terminate_when_evaluating, daemon=True).start()
    result = CliRunner().invoke(cli, interrupted_run(out, tiny_model_dir, toy_tasks, toy_data))
    check_interrupted(out, result.exit_code, result.stderr, time.monotonic() - sent[0])
    assert handlers == {signum: signal.getsignal(signum) for signum in handlers}  # the handlers are put back
