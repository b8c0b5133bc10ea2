"""Task folders are code: hooks are imported only from inside their folder, templates are sandboxed, and the
commands that read task files say which Python files they import."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import SpecError
from harness.templating import render
from harness.yamlio import FunctionRef

TASK = """task: hooked
task_type: classification
language: en
dataset_path: nowhere
doc_to_text: !function {target}
doc_to_target: label
label_list: [a, b]
metric_list: [{{metric: acc}}]
metadata: {{version: 1}}
"""

HOOK = "from pathlib import Path\n\ndef text(doc):\n    Path({marker!r}).write_text('ran')\n    return doc['x']\n"


def task_folder(tmp_path: Path, target: str) -> Path:
    folder = tmp_path / "mytasks"
    (folder / "sub").mkdir(parents=True)
    (folder / "hooked.yaml").write_text(TASK.format(target=target))
    for where in (tmp_path / "evil.py", folder / "utils.py", folder / "sub" / "deep.py"):
        where.write_text(HOOK.format(marker=str(where.with_suffix(".ran"))))
    return folder


@pytest.mark.parametrize("target", ["..evil.text", ".utils.text", "sub..deep.text", "evil/x.text", "utils.te-xt"])
def test_a_hook_target_outside_the_task_folder_is_refused_and_never_imported(tmp_path, target) -> None:
    folder = task_folder(tmp_path, target)
    result = CliRunner().invoke(cli, ["tasks", "validate", str(folder)])
    assert result.exit_code == 2 and "no leading dots" in " ".join(result.output.split()), result.output
    assert not list(tmp_path.rglob("*.ran"))


def test_a_hook_file_linking_outside_the_folder_is_refused(tmp_path) -> None:
    folder = task_folder(tmp_path, "linked.text")
    (folder / "linked.py").symlink_to(tmp_path / "evil.py")
    result = CliRunner().invoke(cli, ["tasks", "validate", str(folder)])
    assert result.exit_code == 2 and "outside the task folder" in " ".join(result.output.split()), result.output


@pytest.mark.parametrize("target", ["utils.text", "sub.deep.text"])
def test_validate_and_show_name_the_python_files_a_task_imports(tmp_path, target) -> None:
    folder = task_folder(tmp_path, target)
    module = folder / (target.rsplit(".", 1)[0].replace(".", "/") + ".py")
    validated = CliRunner().invoke(cli, ["tasks", "validate", str(folder)])
    assert validated.exit_code == 0, validated.output
    assert str(module) in "".join(validated.output.split()) and "import Python code" in validated.output
    shown = CliRunner().invoke(cli, ["tasks", "show", "hooked", "--include-path", str(folder)])
    assert shown.exit_code == 0 and f"#importsPythoncodefrom{module}" in "".join(shown.output.split()), shown.output
    assert render(FunctionRef(folder, target), {"x": "hi"}, where="hooked: doc_to_text (doc 3)") == "hi"


@pytest.mark.parametrize(
    "template", ["{{ ''.__class__.__mro__ }}", "{{ x.__class__.__init__.__globals__ }}", "a {{ cycler.__init__ }}"]
)
def test_templates_render_in_a_sandbox(template) -> None:
    with pytest.raises(SpecError, match="reaches outside the doc's fields"):
        render(template, {"x": "text"}, where="t: doc_to_text (doc 1)")
    assert render("{{ x | upper }} and {{ y[0] }}", {"x": "a", "y": [2]}, where="t") == "A and 2"


def test_a_hook_that_raises_names_the_task_hook_and_doc(tmp_path) -> None:
    (tmp_path / "utils.py").write_text("def boom(doc):\n    return 1 / 0\n")
    with pytest.raises(SpecError, match=r"mytask: doc_to_text \(doc 7\): hook utils.boom .* ZeroDivisionError"):
        render(FunctionRef(tmp_path, "utils.boom"), {"x": 1}, where="mytask: doc_to_text (doc 7)")


@pytest.mark.parametrize("text", ["../../etc/x@clean", "..", "", "a/b\\c@typo:0.1", ".hidden"])
def test_file_names_built_from_task_and_condition_strings_stay_in_their_folder(tmp_path, text) -> None:
    from harness.paths import file_name

    name = file_name(text)
    assert "/" not in name and "\\" not in name and not name.startswith(".") and name
    assert (tmp_path / f"{name}.jsonl").resolve().parent == tmp_path.resolve()
    assert file_name("xnli_de@typo:0.1+drop:0.05@toyint") == "xnli_de@typo:0.1+drop:0.05@toyint"  # unchanged
