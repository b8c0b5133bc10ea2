"""Every user error of `harness run` is one paragraph naming what is wrong and how to fix it, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    return tmp_path / "mine"


def test_unknown_task_lists_the_nearest_names() -> None:
    code, out = run("run", "--tasks", "xnlj", "--model", "tiny")
    assert code == 2
    assert "Error: Unknown task, group or tag 'xnlj'. Did you mean: xnli" in out
    assert "Traceback" not in out


def test_unknown_yaml_key_names_file_line_and_key(mine: Path) -> None:
    mine.mkdir()
    (mine / "t.yaml").write_text("task: t\ntask_type: classification\nlabel_list: [a]\ndoc_to_txt: x\n")
    code, out = run("run", "--tasks", "t", "--include-path", str(mine), "--model", "tiny")
    assert code == 2
    assert f"{(mine / 't.yaml').resolve()}, line 4: unknown key 'doc_to_txt'" in " ".join(out.split())


def test_jinja_error_names_file_template_and_missing_field(mine: Path, toy_data: Path, toy_tasks: Path) -> None:
    mine.mkdir()
    spec = (
        (toy_tasks / "toy" / "toy_common")
        .read_text()
        .replace("doc_to_text: sentence", "doc_to_text: '{{ sentense }}!'")
    )
    (mine / "bad_common").write_text(spec)
    (mine / "bad_en.yaml").write_text("include: bad_common\ntask: bad_en\n")
    code, out = run(
        "run", "--tasks", "bad_en", "--include-path", str(mine), "--model", "tiny", "--data-dir", str(toy_data)
    )
    flat = " ".join(out.split())
    assert code == 2
    assert "bad_common, line" in flat and "doc_to_text" in flat
    assert "'{{ sentense }}!'" in flat and "'sentense' is undefined" in flat
    assert "Available fields: comment, label, sentence" in flat


def test_missing_data_offline_says_which_file_and_how_to_supply_it(tmp_path: Path) -> None:
    code, out = run("run", "--tasks", "xnli", "--model", "tiny", "--data-dir", str(tmp_path))
    flat = " ".join(out.split())
    assert code == 2
    assert "xnli/dev-" in flat or "xnli/train-en.tsv" in flat
    assert "--data-dir" in flat


def test_missing_hub_data_offline(toy_tasks: Path) -> None:
    code, out = run("run", "--tasks", "toy_en", "--include-path", str(toy_tasks), "--model", "tiny")
    flat = " ".join(out.split())
    assert code == 2
    assert "could not load harness-tests/toy (config en)" in flat and "HF_DATASETS_CACHE" in flat


def test_missing_training_file_for_a_real_model_offers_train_split(
    toy_tasks: Path, tmp_path: Path, toy_data: Path
) -> None:
    data = tmp_path / "data"
    (data / "toy").mkdir(parents=True)
    (data / "toy" / "dev-en.tsv").write_text((toy_data / "toy" / "dev-en.tsv").read_text())
    code, out = run(
        "run", "--tasks", "toy_en", "--include-path", str(toy_tasks), "--model", str(tmp_path), "--data-dir", str(data)
    )
    flat = " ".join(out.split())
    assert code == 2
    assert "training split 'train' is not under" in flat and "--train-split validation" in flat


def test_unknown_language_lists_the_available_ones(toy_tasks: Path, toy_data: Path) -> None:
    code, out = run(
        "run",
        "--tasks",
        "toy",
        "--include-path",
        str(toy_tasks),
        "--languages",
        "de,xx",
        "--model",
        "tiny",
        "--data-dir",
        str(toy_data),
    )
    assert code == 2
    assert "Unknown language(s) xx for tasks toy; they cover: de, en." in " ".join(out.split())


def test_bad_model_path(toy_tasks: Path, toy_data: Path, tmp_path: Path) -> None:
    code, out = run(
        "run",
        "--tasks",
        "toy_en",
        "--include-path",
        str(toy_tasks),
        "--data-dir",
        str(toy_data),
        "--model",
        str(tmp_path / "no-such-model"),
    )
    flat = " ".join(out.split())
    assert code == 2
    assert f"--model {tmp_path / 'no-such-model'}: no such folder" in flat
    assert "a folder with config.json" in flat and "a hub id looks like" in flat


def test_bad_option_values_are_rejected_by_the_cli() -> None:
    code, out = run("run", "--tasks", "xnli", "--batch-size", "lots")
    assert code == 2 and "neither a whole number nor 'auto'" in out
