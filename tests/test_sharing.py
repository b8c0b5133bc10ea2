"""Results a lab can share: files with the user's umask, strict JSON, a samples file per record, also on resume."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_pipeline import toy_config

from harness.cli import cli
from harness.jsonio import NULLS, dumps, loads
from harness.paths import write_atomic, write_folder_atomic
from harness.pipeline import Runner
from harness.results import CellStore, read_record, write_json


def strict(text: str) -> object:
    """``text`` parsed as a strict reader does: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"bare {constant} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_null_with_the_reason_and_read_back(tmp_path) -> None:
    record = {"key": "k", "task": "t", "family": "f", "language": "te", "condition": "clean",
              "metrics": {"f1": math.nan, "exact_match": math.nan, "n/a": -math.inf}, "score": math.nan,
              "rows": [[1.0, math.nan]]}  # fmt: skip
    write_json(tmp_path / "k.json", record)
    on_disk = strict((tmp_path / "k.json").read_text())
    assert on_disk["metrics"] == {"f1": None, "exact_match": None, "n/a": None} and on_disk["score"] is None
    assert on_disk[NULLS]["/metrics/f1"].startswith("not a number: nothing to score")
    assert on_disk[NULLS]["/metrics/n~1a"] == "minus infinity" and "/rows/0/1" in on_disk[NULLS]
    back = read_record(tmp_path / "k.json")  # reports compute with NaN, as the run did
    assert math.isnan(back["score"]) and math.isnan(back["metrics"]["f1"]) and math.isnan(back["rows"][0][1])
    assert back["rows"][0][0] == 1.0
    assert dumps({"a": 1.0}) == '{"a": 1.0}'  # nothing to say: no null_reasons
    assert loads(dumps([math.nan])) == [None]  # a list has no place for reasons: null
    with pytest.raises(ValueError):  # what slips past the conversion is an error, not a broken file
        json.dumps({"x": math.nan}, allow_nan=False)


def readable_by_all(path: Path) -> bool:
    mode = path.stat().st_mode
    wanted = stat.S_IRGRP | stat.S_IROTH | ((stat.S_IXGRP | stat.S_IXOTH) if path.is_dir() else 0)
    return mode & wanted == wanted and not mode & (stat.S_IWGRP | stat.S_IWOTH)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_atomic_writes_follow_the_umask(tmp_path, umask_022) -> None:
    write_atomic(tmp_path / "a.txt", "x")
    folder = write_folder_atomic(tmp_path / "f", lambda tmp: (tmp / "inner.txt").write_text("y"))
    assert oct((tmp_path / "a.txt").stat().st_mode & 0o777) == oct(0o644)
    assert oct(folder.stat().st_mode & 0o777) == oct(0o755) and readable_by_all(folder / "inner.txt")
    os.umask(0o077)  # a private umask stays private
    write_atomic(tmp_path / "b.txt", "x")
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o600


def test_a_runs_files_are_readable_by_the_lab_and_strict_json(tiny_model_dir, toy_tasks, toy_data, tmp_path,
                                                              umask_022) -> None:  # fmt: skip
    """Under umask 022, everything a run writes (records, predictions, outcomes, samples, results, the trained
    models' store, reports) is readable by group and others, and every JSON file parses strictly."""
    out = tmp_path / "runs"
    config = toy_config(tiny_model_dir, toy_tasks, toy_data, out, limit=10, epochs=1.0, languages=["en"],
                        noise=["typo:0.3"], log_samples=True)  # fmt: skip
    result = Runner(config).run()
    report = CliRunner().invoke(cli, ["report", str(out), "--format", "json", "--include-path", str(toy_tasks),
                                      "--resamples", "20"])  # fmt: skip
    assert report.exit_code == 0, report.output
    strict(report.output)
    written = [p for p in out.rglob("*") if ".locks" not in p.parts]
    kinds = {p.relative_to(out).parts[0] for p in written}
    assert {"records", "predictions", "outcomes", "samples", "store", result["run_dir"].name} <= kinds
    assert any(p.suffix == ".safetensors" for p in written)  # the trained model's files are in the check
    assert [p for p in [out, *written] if not readable_by_all(p)] == []
    for path in written:
        if path.suffix in (".json", ".jsonl"):
            for line in [path.read_text()] if path.suffix == ".json" else path.read_text().splitlines():
                strict(line)


def test_log_samples_on_a_resumed_run_and_one_file_per_record(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    """Seeds (and methods, intermediates, models) write their own samples files; a run resumed with --log-samples
    writes them for the cells recorded before, from the stored predictions, as a fresh run would."""
    out, store = tmp_path / "runs", tmp_path / "store"

    def run(output: Path, seed: int, log_samples: bool) -> Runner:
        config = toy_config(tiny_model_dir, toy_tasks, toy_data, output, seed=seed, log_samples=log_samples,
                            limit=10, epochs=1.0, languages=["en"], noise=["typo:0.3"])  # fmt: skip
        config.adapter_dir = store  # one store: the models are trained once
        runner = Runner(config)
        runner.run()
        return runner

    for seed in (1, 2):  # recorded without samples
        run(out, seed, log_samples=False)
    assert not (out / "samples").exists()
    for seed in (1, 2):  # resumed: every cell is recorded, none is scored again
        again = run(out, seed, log_samples=True)
        assert again.evaluator is None or again.evaluator.written == 0
    parts = sorted(p.name.rsplit(".", 4) for p in (out / "samples").iterdir())  # name, method, seed, key, jsonl
    assert [p[:3] for p in parts] == [["toy_en@clean@none", "full", "seed1"], ["toy_en@clean@none", "full", "seed2"],
                                      ["toy_en@typo:0.3@none", "full", "seed1"],
                                      ["toy_en@typo:0.3@none", "full", "seed2"]]  # fmt: skip
    assert {p[3] for p in parts} == {r["key"] for r in CellStore(out).scan().records}
    fresh = tmp_path / "fresh"
    run(fresh, 2, log_samples=True)
    for path in (fresh / "samples").iterdir():  # as a fresh run writes them
        assert (out / "samples" / path.name).read_text() == path.read_text()
    rows = [json.loads(line) for line in next((fresh / "samples").glob("toy_en@clean*")).read_text().splitlines()]
    assert len(rows) == 10 and {"id", "text", "prediction", "correct"} <= set(rows[0])
