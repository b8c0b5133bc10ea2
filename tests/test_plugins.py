"""Plugins without forking: a user's module outside the package adds a perturbation and a task type, used from
the CLI; one registry mechanism that refuses a name registered twice; dotted paths in YAML; reports that do not
need the plugin."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import SpecError
from harness.metrics import METRICS, compute, get_metric
from harness.noise.spec import REGISTRY
from harness.plugins import PluginError, Registry, load_plugin, load_plugins
from harness.readers import READERS
from harness.registry import TaskIndex
from harness.task import Task
from harness.tasktypes import TASK_TYPES
from harness.validate import validate_paths

#: a user's module: a perturbation and a task type, registered by name
PLUGIN = '''
from harness.noise import register
from harness.noise.perturbation import Perturbation
from harness.tasktypes import register_task_type
from harness.tasktypes.classification import Classification


@register
class Shout(Perturbation):
    """Upper-cases letters at the rate."""

    name = "shout"
    level = "char"

    def perturb(self, text, rng):
        drawn = rng.randbytes(len(text))
        return "".join(c.upper() if b < 256 * self.rate else c for c, b in zip(text, drawn))


@register_task_type
class LoudClassification(Classification):
    """Classification that reads its text shouted: a task type of the user's own."""

    name = "loud_classification"

    def prepare(self, cfg, example):
        example["text"] = example["text"].upper()
        return super().prepare(cfg, example)
'''

#: a plugins.py beside the YAMLs (loaded by --include-path)
INCLUDED = '''
from harness.noise import register
from harness.noise.perturbation import Perturbation


@register
class Whisper(Perturbation):
    """Lower-cases everything (any rate)."""

    name = "whisper"
    level = "char"

    def perturb(self, text, rng):
        return text.lower()
'''


def toy_spec(toy_tasks: Path, task_type: str, task: str) -> str:
    spec = (
        (toy_tasks / "toy" / "toy_common").read_text().replace("task_type: classification", f"task_type: {task_type}")
    )
    return spec.replace("task: toy\n", f"task: {task}\n").replace("languages: [en, de]", "language: de")


@pytest.fixture(scope="module")
def user_code(tmp_path_factory: pytest.TempPathFactory, toy_tasks_dir: Path) -> Iterator[Path]:
    """A folder outside the package: myplugin.py, and tasks/ with a YAML using its task type and a plugins.py.
    The registries are restored afterwards, so other modules see the built-in catalogue only."""
    root = tmp_path_factory.mktemp("user")
    (root / "myplugin.py").write_text(PLUGIN)
    tasks = root / "tasks"
    tasks.mkdir()
    (tasks / "loud_de.yaml").write_text(toy_spec(toy_tasks_dir, "loud_classification", "loud_de"))
    (tasks / "plugins.py").write_text(INCLUDED)
    with pytest.MonkeyPatch.context() as patch:
        for registry in (REGISTRY, TASK_TYPES, READERS, METRICS):
            patch.setattr(registry, "_entries", dict(registry._entries))
        yield root


@pytest.fixture(scope="module")
def toy_tasks_dir() -> Path:
    from conftest import FIXTURES

    return FIXTURES / "tasks"


def test_a_users_perturbation_and_task_type_run_from_the_cli(user_code, tiny_model_dir, toy_data, tmp_path) -> None:
    args = ["run", "--tasks", "loud_de", "--include-path", str(user_code / "tasks"), "--data-dir", str(toy_data),
            "--model", str(tiny_model_dir), "--output", str(tmp_path), "--adapter-dir", str(tmp_path / "store"),
            "--epochs", "1", "--limit", "8", "--max-train-examples", "16",
            "--plugin", str(user_code / "myplugin.py"), "--noise", "shout:0.5,whisper"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "records").glob("*.json")]
    assert sorted(r["condition"] for r in records) == ["clean", "shout:0.5", "whisper:0.1"]
    assert {r["spec"]["task_type"] for r in records} == {"loud_classification"}
    shouted = next(r for r in records if r["condition"] == "shout:0.5")
    assert shouted["noise"]["steps"] == [{"name": "shout", "rate": 0.5}] and shouted["noise"]["cer"] > 0
    # the task type's own prepare ran before the noise: whisper (lower-casing) changed the shouted text
    assert next(r for r in records if r["condition"] == "whisper:0.1")["noise"]["cer"] > 0
    # the run records the plugin, so a Ray or SLURM worker loads it too
    results = json.loads(next(tmp_path.glob("*/results.json")).read_text())
    assert results["config"]["plugins"] == [str((user_code / "myplugin.py").resolve())]
    # noise ls and tasks validate list the plugins and where they come from
    listed = CliRunner().invoke(cli, ["noise", "ls", "--include-path", str(user_code / "tasks")])
    assert listed.exit_code == 0, listed.output
    squeezed = "".join(listed.output.split())  # rich folds long cells
    assert "shout" in squeezed and "whisper" in squeezed and "plugin:" in squeezed and "built-in" in squeezed
    checked = CliRunner().invoke(cli, ["tasks", "validate", str(user_code / "tasks")])
    assert checked.exit_code == 0, checked.output
    squeezed = "".join(checked.output.split())
    assert "LoudClassification" in squeezed and "loud_classification" in squeezed
    assert "myplugin.py" in squeezed and "Whisper" in squeezed and "plugins.py" in squeezed


def test_a_worker_process_loads_the_plugins_its_run_names(user_code, tiny_model_dir, toy_data, tmp_path) -> None:
    """What a Ray actor or SLURM job does: a fresh process gets the units (their run's config) and nothing else."""
    import multiprocessing

    from harness.pipeline import RunConfig, Runner, execute

    config = RunConfig(tasks=["loud_de"], model=str(tiny_model_dir), data_dir=toy_data, output=tmp_path,
                       include_paths=[user_code / "tasks"], adapter_dir=tmp_path / "store", noise=["shout:0.5"],
                       plugins=load_plugins([str(user_code / "myplugin.py")]), epochs=1, limit=4,
                       max_train_examples=8)  # fmt: skip
    units = Runner(config).prepare().units()
    with multiprocessing.get_context("spawn").Pool(1) as worker:  # no plugin loaded there: the config names it
        assert worker.map(execute, units) == [True] * len(units)
    records = [json.loads(p.read_text()) for p in (tmp_path / "records").glob("*.json")]
    assert sorted(r["condition"] for r in records) == ["clean", "shout:0.5"]


def test_unknown_plugin_names_say_how_to_load_them(toy_tasks_dir) -> None:
    code = CliRunner().invoke(cli, ["run", "--tasks", "toy", "--include-path", str(toy_tasks_dir), "--model", "tiny",
                                    "--noise", "sing:0.1", "--dry-run"])  # fmt: skip
    flat = " ".join(code.output.split())
    assert code.exit_code == 2 and "Unknown perturbation 'sing'" in flat and "--plugin MODULE" in flat
    missing = CliRunner().invoke(cli, ["run", "--tasks", "toy", "--plugin", "no_such_lab_module"])
    assert missing.exit_code == 2 and "no module 'no_such_lab_module'" in " ".join(missing.output.split())


def test_a_name_registered_twice_is_an_error_naming_both_places(tmp_path) -> None:
    registry: Registry[int] = Registry("thing")

    def first() -> None: ...

    registry.add("x", 1, defined_by=first)
    registry.add("x", 1, defined_by=first)  # the same code again (a module imported twice): not a clash
    (tmp_path / "other.py").write_text("def second():\n    pass\n")
    module = load_plugin(str(tmp_path / "other.py"))
    import sys

    second = next(m for m in sys.modules.values() if getattr(m, "__file__", None) == module).second
    with pytest.raises(PluginError, match=r"'x' is registered twice: by .*first in .*test_plugins\.py and by "
                                          r"second in .*other\.py"):  # fmt: skip
        registry.add("x", 2, defined_by=second)
    # a plugin cannot silently replace a built-in
    (tmp_path / "clash.py").write_text("from harness.metrics import register_metric\n"
                                       "@register_metric('acc')\ndef acc(refs, preds):\n    return 0.0\n")  # fmt: skip
    with pytest.raises(PluginError, match=r"metric name 'acc' is registered twice: by accuracy in .*harness"):
        load_plugin(str(tmp_path / "clash.py"))
    assert METRICS.origin("acc").builtin


def test_dotted_paths_and_function_hooks_in_yaml(tmp_path, toy_tasks_dir, toy_data, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "labcode.py").write_text(
        textwrap.dedent("""
        from harness.tasktypes.classification import Classification

        class Pairs(Classification):
            name = "pairs"

        def agreement(references, predictions):
            return 100.0 * sum(p == g for p, g in zip(predictions, references)) / len(references)
    """)
    )
    assert load_plugin("labcode") == "labcode"  # --plugin takes an importable module too
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "hooks.py").write_text(
        "from harness.readers import READERS\nfrom harness.tasktypes.classification import Classification\n\n"
        "def read_tabbed(files, **kwargs):\n    return READERS['tsv'](files, **kwargs)\n\n"
        "class Quiet(Classification):\n    name = 'quiet'\n"
    )
    (tasks / "quiet_de.yaml").write_text(toy_spec(toy_tasks_dir, "!function hooks.Quiet", "quiet_de"))
    spec = toy_spec(toy_tasks_dir, "labcode.Pairs", "pairs_de").replace(
        "data_format: tsv", "data_format: !function hooks.read_tabbed"
    )
    (tasks / "pairs_de.yaml").write_text(spec.replace("- metric: acc", "- metric: labcode.agreement"))
    assert validate_paths([tasks])[0] == [tasks / "pairs_de.yaml", tasks / "quiet_de.yaml"]
    assert Task(TaskIndex([tasks]).task("quiet_de")).type.name == "quiet"  # lm-eval's class: !function
    task = Task(TaskIndex([tasks]).task("pairs_de"))
    assert type(task.type).__name__ == "Pairs" and task.type is Task(task.cfg).type  # one instance per class
    docs = task.examples("validation", toy_data)
    assert docs and compute(task.metric_list, [0, 1], [0, 0]) == {"agreement": 50.0}
    assert get_metric("harness.metrics.accuracy") is METRICS["acc"]  # a registered one by its path is itself


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("task_type", "nolab.types.Pairs", "line 3: task_type 'nolab.types.Pairs': cannot import module 'nolab.types'"),
        (
            "task_type",
            "harness.tasktypes.Nope",
            "line 3: task_type 'harness.tasktypes.Nope': module 'harness.tasktypes'",
        ),
        ("task_type", "clasification", "line 3: task_type 'clasification' is not one of classification"),
        ("metric", "nolab.f1", ": metric 'nolab.f1': cannot import module 'nolab'"),
    ],
)
def test_a_bad_dotted_path_names_the_yaml_file_and_key(tmp_path, toy_tasks_dir, key, value, message) -> None:
    spec = toy_spec(toy_tasks_dir, "classification", "t_de")
    spec = spec.replace("task_type: classification", f"task_type: {value}") if key == "task_type" else spec
    spec = spec.replace("- metric: acc", f"- metric: {value}") if key == "metric" else spec
    (tmp_path / "t_de.yaml").write_text(spec)
    with pytest.raises(SpecError) as error:
        validate_paths([tmp_path])
    assert str(tmp_path / "t_de.yaml") in str(error.value) and message in str(error.value)


def test_reports_read_noise_steps_from_the_record_not_the_condition_name() -> None:
    from harness.plots import robustness_curves

    def record(condition: str, score: float, noise: dict | None) -> dict:
        return {"family": "toy", "task": "toy_de", "language": "de", "condition": condition, "score": score,
                "score_name": "acc", "metrics": {"acc": score}, "noise": noise, "role": "target"}  # fmt: skip

    # "hum" is registered nowhere in this process: a plugin that only the run had loaded
    records = [record("clean", 80.0, None)] + [
        record(f"hum:{rate}+fields=text", 80.0 - 100 * rate, {"spec": f"hum:{rate}+fields=text", "steps": [
            {"name": "hum", "rate": rate, "pitch": "low"}]}) for rate in (0.1, 0.2)]  # fmt: skip
    assert "hum" not in REGISTRY
    assert robustness_curves(records) == {"toy": {"hum:pitch=low+fields=text": [(0.0, 80.0), (0.1, 70.0), (0.2, 60.0)]}}


def test_a_record_whose_metric_this_process_does_not_know_is_shown_without_interval(tmp_path) -> None:
    from harness.analysis import Analysis
    from harness.results import CellStore

    analysis = Analysis(CellStore(tmp_path))
    mine = {"key": "k", "family": "toy", "outcomes": ["hum:hits"], "spec": {"metric_list": [{"metric": "hum"}]}}
    assert analysis.outcomes(mine) is None
    assert "toy: a metric of its spec is not known to this process (a plugin not loaded here?)" in analysis.notes[0]
