"""A rerun with nothing to do prints its tables from the records without reading data or importing torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from harness.cli import cli

#: runs the CLI in a fresh interpreter and reports whether torch (or the data and noise code) was imported
PROBE = """
import sys
from harness.cli import main
sys.argv = ["harness", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = [m for m in ("torch", "transformers", "datasets", "peft", "harness.pipeline") if m in sys.modules]
print("HEAVY:", ",".join(heavy) or "none")
"""


def test_a_rerun_with_every_cell_recorded_answers_from_the_records_and_a_changed_input_plans_again(
    tiny_model_dir: Path, toy_tasks: Path, toy_data: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(toy_data / "toy", data / "toy")
    args = ["run", "--tasks", "toy", "--include-path", str(toy_tasks), "--data-dir", str(data), "--model",
            str(tiny_model_dir), "--output", str(tmp_path / "runs"), "--adapter-dir", str(tmp_path / "store"),
            "--epochs", "1", "--limit", "8", "--noise", "typo:0.2"]  # fmt: skip
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert len(list((tmp_path / "runs" / "plans").glob("*.json"))) == 1

    probe = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert "HEAVY: none" in probe.stdout  # plan → every cell recorded → the table: no data read, no model
    assert "nothing to do: every cell of this plan is recorded" in " ".join(probe.stderr.split())
    assert "toy" in probe.stdout and " de " in probe.stdout and "typo:0.2" in probe.stdout  # the tables
    runs = sorted((tmp_path / "runs").glob("*/results.json"))
    again, before = (json.loads(p.read_text(encoding="utf-8")) for p in (runs[-1], runs[0]))
    assert again["results"] == before["results"] and again["groups"] == before["groups"]
    assert again["tables"] == before["tables"]
    assert "replayed_plan" in again["timings"]

    with (data / "toy" / "dev-de.tsv").open("a", encoding="utf-8") as dev:  # an input changed: one more doc
        dev.write("das Buch war toll\tich würde es einem Freund erzählen\tpos\n")
    changed = CliRunner().invoke(cli, args)
    assert changed.exit_code == 0, changed.output
    assert "nothing to do" not in changed.output
    assert len(list((tmp_path / "runs" / "plans").glob("*.json"))) == 2
