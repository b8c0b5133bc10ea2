"""Task-spec loading: includes, hooks, schema errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.registry import TaskIndex
from harness.spec import parse_task
from harness.yamlio import FunctionRef, read_spec


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_include_merges_and_local_keys_win(tmp_path: Path) -> None:
    write(tmp_path / "base_common", "task_type: classification\nlabel_list: [a, b]\ndoc_to_text: x\n")
    spec = write(tmp_path / "t.yaml", "include: base_common\ntask: t\ndoc_to_text: y\n")
    raw = read_spec(spec)
    assert raw.data == {"task_type": "classification", "label_list": ["a", "b"], "doc_to_text": "y", "task": "t"}
    assert raw.origin["label_list"][0] == (tmp_path / "base_common").resolve()
    assert raw.origin["doc_to_text"] == (spec.resolve(), 3)


def test_include_cycle_is_an_error_naming_the_chain(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "include: b.yaml\ntask: a\n")
    write(tmp_path / "b.yaml", "include: a.yaml\ntask: b\n")
    with pytest.raises(SpecError, match=r"Include cycle: .*a\.yaml -> .*b\.yaml -> .*a\.yaml"):
        read_spec(tmp_path / "a.yaml")


def test_missing_include_names_the_including_file(tmp_path: Path) -> None:
    spec = write(tmp_path / "t.yaml", "task: t\ninclude: nowhere_common\n")
    with pytest.raises(SpecError, match=r"t\.yaml, line 2: included file .*nowhere_common does not exist"):
        read_spec(spec)


def test_unknown_key_names_file_line_key_and_suggestion(tmp_path: Path) -> None:
    spec = write(tmp_path / "t.yaml", "task: t\ntask_type: classification\n\ndoc_to_txt: premise\n")
    with pytest.raises(SpecError) as exc:
        parse_task(read_spec(spec))
    message = str(exc.value)
    assert f"{spec.resolve()}, line 4" in message
    assert "unknown key 'doc_to_txt'" in message
    assert "Did you mean 'doc_to_text'?" in message


def test_unknown_key_in_included_file_points_at_that_file(tmp_path: Path) -> None:
    write(tmp_path / "x_common", "task_type: classification\nlabl_list: [a]\n")
    spec = write(tmp_path / "t.yaml", "include: x_common\ntask: t\n")
    with pytest.raises(SpecError, match=r"x_common, line 2: unknown key 'labl_list'.*label_list"):
        parse_task(read_spec(spec))


def test_bad_task_type_and_training_key(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="task_type 'regression' is not one of"):
        parse_task(read_spec(write(tmp_path / "a.yaml", "task: a\ntask_type: regression\n")))
    bad_training = "task: b\ntask_type: classification\ntraining: {epoch: 3}\n"
    with pytest.raises(SpecError, match=r"unknown key training\.epoch\. Did you mean 'epochs'"):
        parse_task(read_spec(write(tmp_path / "b.yaml", bad_training)))


def test_required_key_missing(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="required key 'task_type' is missing"):
        parse_task(read_spec(write(tmp_path / "a.yaml", "task: a\n")))


def test_function_hook_is_lazy_and_resolves_next_to_the_yaml(tmp_path: Path) -> None:
    write(tmp_path / "utils.py", "def upper(doc):\n    return doc['x'].upper()\n")
    spec = write(tmp_path / "t.yaml", "task: t\ntask_type: classification\ndoc_to_text: !function utils.upper\n")
    cfg = parse_task(read_spec(spec))
    assert isinstance(cfg.doc_to_text, FunctionRef)
    assert cfg.doc_to_text.resolve()({"x": "ab"}) == "AB"
    # the resolved spec written into results carries the hook's source
    assert "return doc['x'].upper()" in cfg.to_dict()["doc_to_text"]["source"]


def test_function_hook_errors(tmp_path: Path) -> None:
    write(tmp_path / "utils.py", "def f(doc):\n    return 1\n")
    with pytest.raises(SpecError, match="has no function 'g'"):
        FunctionRef(tmp_path, "utils.g").resolve()
    with pytest.raises(SpecError, match="no file .*other.py"):
        FunctionRef(tmp_path, "other.f").resolve()


def test_indexing_imports_no_task_code(tmp_path: Path) -> None:
    write(tmp_path / "utils.py", "raise RuntimeError('imported at index time')\n")
    write(tmp_path / "t.yaml", "task: t\ntask_type: classification\nprocess_docs: !function utils.docs\n")
    index = TaskIndex([tmp_path], include_builtin=False)
    assert index.task("t").process_docs.target == "utils.docs"


def test_fingerprint_changes_with_the_spec(tmp_path: Path) -> None:
    a = parse_task(read_spec(write(tmp_path / "a.yaml", "task: a\ntask_type: classification\ndoc_to_text: x\n")))
    b = parse_task(read_spec(write(tmp_path / "b.yaml", "task: a\ntask_type: classification\ndoc_to_text: y\n")))
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == parse_task(read_spec(tmp_path / "a.yaml")).fingerprint()
