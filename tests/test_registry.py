"""The task index: names, groups, tags, user folders, nearest-name errors, generated files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError, TaskNotFound
from harness.generate import common_files, generated_files
from harness.registry import TaskIndex, builtin_tasks_dir


def test_builtin_families_expand_to_per_language_tasks() -> None:
    index = TaskIndex()
    assert index.expand("xnli") == [f"xnli_{lang}" for lang in "ar bg de el en es fr hi ru sw th tr ur vi zh".split()]
    assert len(index.expand("pawsx")) == 7
    assert len(index.expand("xcopa")) == 11
    assert index.task("xnli_de").language == "de" and index.task("xnli_de").train_language == "en"
    assert index.parent_groups("xnli_de") == ["xnli"]


def test_intermediate_tasks_are_registered() -> None:
    index = TaskIndex()
    for name in [
        "mnli",
        "anli",
        "anli_r1",
        "anli_r2",
        "anli_r3",
        "anli_plus",
        "qqp",
        "snli",
        "hellaswag",
        "cosmosqa",
        "commonsenseqa",
        "siqa",
    ]:
        assert index.task(name).role == "intermediate", name
    assert index.task("anli_plus").mixture == ["anli", "mnli", "snli"]


def test_unknown_task_suggests_nearest_names() -> None:
    with pytest.raises(TaskNotFound) as exc:
        TaskIndex().entry("xnlii")
    assert "Unknown task, group or tag 'xnlii'" in str(exc.value)
    assert "Did you mean: xnli" in str(exc.value)
    assert "harness tasks ls" in str(exc.value)


def test_tags_and_include_path(toy_tasks: Path) -> None:
    index = TaskIndex([toy_tasks])
    assert index.expand("toy-tag") == ["toy_de", "toy_en"]
    assert index.expand("toy") == ["toy_en", "toy_de"]
    assert "xnli" in index.names("group")  # built-ins stay available


def test_user_folder_overrides_builtin_name(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("task: xnli_de\ntask_type: classification\nlanguage: de\nlabel_list: [a]\n")
    assert TaskIndex([tmp_path]).task("xnli_de").label_list == ["a"]


def test_duplicate_name_in_one_folder_is_an_error(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("task: same\ntask_type: classification\n")
    with pytest.raises(SpecError, match="'same' is defined twice"):
        TaskIndex([tmp_path], include_builtin=False)


def test_include_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is not a folder"):
        TaskIndex([tmp_path / "missing"])


@pytest.mark.parametrize("common", common_files([builtin_tasks_dir()]), ids=lambda p: p.name)
def test_generated_task_files_are_up_to_date(common: Path) -> None:
    for path, text in generated_files(common).items():
        assert path.exists(), f"{path} is missing: run `harness tasks generate {common.parent}`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run `harness tasks generate {common.parent}`"
        )


def test_every_task_file_is_installed_by_pip_install() -> None:
    """`pip install .` ships only what setup.cfg's package_data globs match (as setuptools expands them):
    an include-only file outside those patterns breaks every spec that includes it, in installs only."""
    import configparser
    import glob

    repo = Path(__file__).resolve().parent.parent
    setup = configparser.ConfigParser()
    setup.read(repo / "setup.cfg")
    patterns = [p.strip() for p in setup["options.package_data"]["harness.tasks"].split(",")]
    shipped = {f for p in patterns for f in glob.glob(p, root_dir=repo / "tasks", recursive=True)}
    files = {
        str(path.relative_to(repo / "tasks"))
        for path in (repo / "tasks").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert files - shipped == set(), "add a package_data pattern in setup.cfg (or name the file *_common)"
