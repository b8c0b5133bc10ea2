"""The sample of XTREME-R data embedded in the package: installed with it, and the default when offline."""

from __future__ import annotations

import configparser
import json
from fnmatch import fnmatch
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO

from harness.cli import cli
from harness.sample import SAMPLE_DIR, manifest


def test_every_sample_file_is_package_data_and_the_manifest_matches_the_files() -> None:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    patterns = [p.strip() for p in setup["options.package_data"]["harness"].split(",")]
    files = [p.relative_to(SAMPLE_DIR.parent).as_posix() for p in SAMPLE_DIR.rglob("*") if p.is_file()]
    shipped = [f for f in files if any(fnmatch(f, pattern) for pattern in patterns)]
    # everything but the generator script (source tree only) is installed
    assert sorted(set(files) - set(shipped)) == ["sample_data/make_sample.py"]
    assert {"sample_data/README.md", "sample_data/manifest.json", "sample_data/xnli/dev-en.tsv"} <= set(shipped)
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for family, held in manifest().items():
        assert f"`{family}/`" in readme  # each family's source and licence are named beside it
        folder = SAMPLE_DIR / family
        assert sum(f.stat().st_size for f in folder.iterdir()) == held["bytes"]
        assert all(any(lang in f.name for f in folder.iterdir()) for lang in held["languages"])
    total = sum(f.stat().st_size for f in SAMPLE_DIR.rglob("*") if f.is_file())
    assert total < 3_000_000  # a few MB at most


def test_the_main_command_runs_on_the_embedded_sample_without_data_dir(tiny_model_dir: Path, tmp_path: Path,
                                                                       monkeypatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # from any folder: nothing is read relative to the working directory
    # the README's main command, with the test model (not a smoke preset, so its held-out half is asked for)
    args = ["run", "--tasks", "xnli", "--model", str(tiny_model_dir), "--train-split", "validation",
            "--languages", "en,de,hi", "--limit", "10", "--max-train-examples", "16", "--epochs", "1"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        "hub is not reachable (HF_HUB_OFFLINE is set): using the sample of XTREME-R data embedded in the package, xnli (249 "
        in said
    )
    assert "docs × 15 languages" in said and "a sample, not the full sets" in said
    assert " de " in result.output and " hi " in result.output and "avg" in result.output
    (run,) = (tmp_path / "runs").glob("*/results.json")
    results = json.loads(run.read_text(encoding="utf-8"))
    assert results["config"]["data_dir"] == str(SAMPLE_DIR)
    assert {r["language"] for r in results["results"]} == {"en", "de", "hi"}
    assert all(r["settings"]["data"] == "embedded sample" for r in results["results"])  # never averaged with full
    assert "the embedded data sample" in results["tables"][0]["title"]
