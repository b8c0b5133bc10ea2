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


# ------------------------------------------------------------- messages where tracebacks or misleading errors were


@pytest.fixture
def toy_copy(tmp_path: Path, toy_tasks: Path, toy_data: Path) -> Path:
    """An editable copy of the toy task and its data."""
    import shutil

    shutil.copytree(toy_tasks / "toy", tmp_path / "tasks")
    shutil.copytree(toy_data / "toy", tmp_path / "data" / "toy")
    return tmp_path


def run_toy(toy_copy: Path, *extra: str) -> tuple[int, str]:
    return run("run", "--tasks", "toy", "--include-path", str(toy_copy / "tasks"), "--data-dir",
               str(toy_copy / "data"), "--model", "tiny", "--adapter-dir", str(toy_copy / "store"), *extra)  # fmt: skip


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def test_label_list_given_as_a_string(toy_copy: Path) -> None:
    edit(toy_copy / "tasks" / "toy_common", "label_list: [neg, pos]", "label_list: neg")
    code, out = run_toy(toy_copy)
    assert code == 2 and "label_list must be a list of labels, e.g. label_list: [neg, pos]; got 'neg'" in out


def test_a_tsv_line_with_a_missing_column_names_file_and_line(toy_copy: Path) -> None:
    train = toy_copy / "data" / "toy" / "train-en.tsv"
    train.write_text(train.read_text() + "a lonely sentence\n")
    code, out = run_toy(toy_copy)
    lines = len(train.read_text().splitlines())
    assert code == 2 and f"train-en.tsv, line {lines}: 1 tab-separated field(s), expected 3" in " ".join(out.split())


def test_an_empty_data_file_says_it_is_empty(toy_copy: Path) -> None:
    (toy_copy / "data" / "toy" / "train-en.tsv").write_text("")
    code, out = run_toy(toy_copy)
    assert code == 2 and "train-en.tsv is empty" in " ".join(out.split()) and "Instruction" not in out


def test_an_unknown_metric_is_found_before_training(toy_copy: Path) -> None:
    edit(toy_copy / "tasks" / "toy_common", "- metric: acc", "- metric: acc_of_doom")
    code, out = run_toy(toy_copy)
    assert code == 2 and "task 'toy_en': Unknown metric 'acc_of_doom'." in " ".join(out.split())
    assert "trained" not in out and not (toy_copy / "store").exists()


def test_output_that_is_a_file_is_refused_before_training(toy_copy: Path) -> None:
    (toy_copy / "out").write_text("my notes")
    code, out = run_toy(toy_copy, "--output", str(toy_copy / "out"))
    assert code == 2 and "is a file; results go into a folder" in " ".join(out.split()) and "trained" not in out
    assert (toy_copy / "out").read_text() == "my notes"


def test_a_model_path_that_does_not_exist(toy_copy: Path) -> None:
    code, out = run("run", "--tasks", "toy_en", "--include-path", str(toy_copy / "tasks"), "--model", "/nonexistent")
    assert code == 2 and "--model /nonexistent: no such folder" in " ".join(out.split()) and "Repo id" not in out


def test_truncated_model_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    from harness.errors import ModelError
    from harness.models import load_base

    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    weights = next(model.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelError, match="its weights file is damaged or cut short"):
        load_base(str(model))


def test_a_full_disk_names_the_folder_and_leaves_no_temporary(tmp_path: Path) -> None:
    import errno

    from harness.adapters.store import ArtefactStore
    from harness.errors import HarnessError
    from harness.paths import write_folder_atomic

    def fill(folder: Path) -> None:
        (folder / "part").write_bytes(b"x" * 10)
        raise OSError(errno.ENOSPC, "No space left on device")

    for write in (lambda: write_folder_atomic(tmp_path / "features" / "abc", fill),
                  lambda: ArtefactStore(tmp_path / "features").save("abcdef0123456789", {}, fill)):  # fmt: skip
        with pytest.raises(HarnessError, match=f"No space left on the disk that holds {tmp_path / 'features'}"):
            write()
    assert list((tmp_path / "features").iterdir()) == []


def test_a_damaged_feature_cache_is_rebuilt_not_used(tiny_model_dir: Path, toy_tasks: Path, toy_data: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    from array import array

    from transformers import AutoTokenizer

    from harness.features import featurize
    from harness.paths import cache_root
    from harness.registry import TaskIndex
    from harness.task import Task

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    task = Task(TaskIndex([toy_tasks]).task("toy_en"))
    examples = task.examples("validation", toy_data)[:7]  # features of their own, whatever other tests cached
    before = set((cache_root() / "features").glob("*"))
    first = featurize(task.type, examples, tokenizer, 31, task.cfg)[:]
    [folder] = set((cache_root() / "features").glob("*")) - before
    arrow = next(folder.glob("*.arrow"))
    data = bytearray(arrow.read_bytes())
    ids = first["input_ids"][0]
    at = data.find(array("i", ids[1:4]).tobytes())  # an input id, in range
    assert at > 0
    data[at] ^= 0x01
    arrow.write_bytes(bytes(data))
    assert featurize(task.type, examples, tokenizer, 31, task.cfg)[:] == first
    assert "is damaged (its files do not match their checksum); tokenising again" in caplog.text
    arrow.write_bytes(arrow.read_bytes()[:100])  # cut short: unreadable Arrow
    assert featurize(task.type, examples, tokenizer, 31, task.cfg)[:] == first
