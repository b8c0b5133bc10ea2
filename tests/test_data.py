"""Data sources: local XTREME-layout files, the hub code path (exercised offline), clear errors."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from harness.data import load_docs
from harness.errors import DataError
from harness.registry import TaskIndex
from harness.task import DocSelection, Task


def toy(toy_tasks: Path, name: str = "toy_de") -> Task:
    return Task(TaskIndex([toy_tasks]).task(name))


def test_local_tsv_keeps_quotes_and_digits_as_text(tmp_path: Path, toy_tasks: Path) -> None:
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "dev-de.tsv").write_text('ein "Zitat\t007\tpos\nNA\tnull\tneg\n', encoding="utf-8")
    docs = load_docs(toy(toy_tasks).cfg, "validation", tmp_path)
    assert docs["sentence"] == ['ein "Zitat', "NA"]
    assert docs["comment"] == ["007", "null"]


def test_examples_render_fields_and_labels(toy_tasks: Path, toy_data: Path) -> None:
    examples = toy(toy_tasks).examples("validation", toy_data)
    assert len(examples) == 40
    first = examples[0]
    assert first["id"] == "0" and first["index"] == 0
    assert first["text"].startswith("das ") and first["text_pair"] == "ich würde es einem Freund erzählen"
    assert first["target"] in (0, 1)


def test_limit_is_a_seeded_sample_independent_of_language(toy_tasks: Path, toy_data: Path) -> None:
    task = toy(toy_tasks, "toy_en")
    a = task.examples("validation", toy_data, DocSelection(limit=10, seed=3))
    b = task.examples("validation", toy_data, DocSelection(limit=10, seed=3))
    c = task.examples("validation", toy_data, DocSelection(limit=10, seed=4))
    assert [e["id"] for e in a] == [e["id"] for e in b] != [e["id"] for e in c]
    assert [e["id"] for e in a] != [str(i) for i in range(10)]  # not simply the head of the file


def test_holdout_halves_are_disjoint_and_cover_the_split(toy_tasks: Path, toy_data: Path) -> None:
    task = toy(toy_tasks, "toy_en")
    train = {e["id"] for e in task.examples("validation", toy_data, DocSelection(holdout="train"))}
    held = {e["id"] for e in task.examples("validation", toy_data, DocSelection(holdout="eval"))}
    assert train and held and not train & held
    assert len(train | held) == 80


def test_missing_local_file_says_where_and_how(tmp_path: Path, toy_tasks: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_docs(toy(toy_tasks).cfg, "validation", tmp_path)
    message = str(exc.value)
    assert "Task 'toy_de', language 'de', split 'validation'" in message
    assert str(tmp_path / "toy" / "dev-de.tsv") in message
    assert "--data-dir" in message and "download/" in message


def test_hub_offline_error_names_the_dataset_and_the_fix(toy_tasks: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_docs(toy(toy_tasks).cfg, "validation", None)
    message = str(exc.value)
    assert "could not load harness-tests/toy (config de), split 'validation', from the Hugging Face hub" in message
    assert "--data-dir" in message and "HF_DATASETS_CACHE" in message


def test_hub_code_path_loads_a_hub_layout_repository(tmp_path: Path, toy_tasks: Path, toy_data: Path) -> None:
    """The same ``load_dataset(path, name, split=...)`` call a hub id takes, on a local hub-layout repo."""
    repo = tmp_path / "toy-repo"
    configs = []
    for lang in ("en", "de"):
        docs = load_docs(toy(toy_tasks, f"toy_{lang}").cfg, "validation", toy_data)
        (repo / lang).mkdir(parents=True)
        docs.to_parquet(str(repo / lang / "validation.parquet"))
        configs.append(
            f"- config_name: {lang}\n  data_files:\n  - split: validation\n    path: {lang}/validation.parquet\n"
        )
    (repo / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n")
    spec = (toy_tasks / "toy" / "toy_common").read_text().replace("harness-tests/toy", str(repo))
    (tmp_path / "mine" / "toy").mkdir(parents=True)
    (tmp_path / "mine" / "toy" / "toy_common").write_text(spec)
    (tmp_path / "mine" / "toy" / "toy_de.yaml").write_text("include: toy_common\ntask: toy_de\nlanguage: de\n")
    task = Task(TaskIndex([tmp_path / "mine"], include_builtin=False).task("toy_de"))
    hub = task.examples("validation", None)
    local = task.examples("validation", toy_data)
    assert hub == local
    assert isinstance(task.docs("validation", None), datasets.Dataset)
