"""A task none of whose evaluation cells can be scored (every gold answer blanked, as XTREME's download leaves
TyDiQA's dev files) is not trained for: said at planning, skipped unless asked, explained under the tables."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_report import record

from harness.cli import cli
from harness.report import leaderboard


@pytest.fixture
def blanked(toy_data: Path, tmp_path: Path) -> Path:
    """The toy QA data with every evaluation answer blanked the way XTREME's download does; training kept."""
    data = tmp_path / "data"
    shutil.copytree(toy_data / "toyqa", data / "toyqa")
    for path in (data / "toyqa").glob("dev-*.json"):
        squad = json.loads(path.read_text())
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    qa["answers"] = [{"text": "", "answer_start": 0}]
        path.write_text(json.dumps(squad))
    return data


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_unscorable_task_is_said_at_planning_and_not_trained_unless_asked(
    blanked, toy_tasks, tiny_model_dir, tmp_path
) -> None:
    common = ["run", "--tasks", "toyqa", "--include-path", str(toy_tasks), "--data-dir", str(blanked), "--model",
              str(tiny_model_dir), "--output", str(tmp_path / "runs"), "--adapter-dir", str(tmp_path / "store")]  # fmt: skip
    code, out = run(*common, "--dry-run")
    assert code == 0, out
    assert "toyqa: no gold labels in its validation data (en de): no cell can be scored, so it is not trained" in out
    assert "Plan: 0 units" in out
    code, out = run(*common, "--dry-run", "--train-unscorable")
    assert code == 0 and "trained anyway (--train-unscorable)" in out and "train toyqa on none" in out
    # run: nothing is trained or evaluated, and the table says why the row is missing
    code, out = run(*common)
    assert code == 0, out
    assert "Not trained, so no row: toyqa: no gold labels" in out
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())
    results = json.loads(next((tmp_path / "runs").glob("*/results.json")).read_text())
    assert results["groups"]["toyqa"]["reason"].endswith("no cell can be scored: not trained")
    # a rerun with nothing left to do answers from its plan note, and says it too
    code, out = run(*common)
    assert code == 0 and "Not trained, so no row: toyqa: no gold labels" in out, out


def test_a_row_left_empty_by_missing_gold_labels_says_so() -> None:
    records = [record("toyqa", "de", math.nan), record("toyqa", "en", 60.0), record("toy", "de", 70.0)]
    for r in records:
        r["n"] = 4
    caption = leaderboard(records).caption
    assert "Empty, no gold labels to score (predicted, not scored): toyqa de." in caption
