"""The command line answers a mistake before the heavy imports, and takes the spellings users bring from lm-eval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import Limit, cli, lm_eval_spellings, make_configs
from harness.errors import HarnessError
from harness.preflight import parse_model_args
from harness.task import DocSelection

HEAVY = ("torch", "transformers", "datasets", "peft")

#: each mistake, and what its message must say; run in one fresh interpreter that has imported nothing heavy
MISTAKES = {
    "noise": (["--tasks", "xnli", "--noise", "tpyo:0.1"], "Unknown perturbation 'tpyo'. Did you mean 'typo'?"),
    "task": (["--tasks", "xnlj"], "Unknown task, group or tag 'xnlj'. Did you mean: xnli"),
    "language": (["--tasks", "xnli", "--languages", "dee"], "Unknown language(s) dee for tasks xnli; they cover:"),
    "intermediate": (["--tasks", "xnli", "--intermediate", "mnlli"], "'mnlli'. Did you mean: mnli"),
    "train noise": (["--tasks", "xnli", "--train-noise", "tpyo"], "Did you mean 'typo'?"),
    "model args": (["--tasks", "xnli", "--model-args", "revison=v2"], "unknown key 'revison'. Did you mean 'revision'?"),
    "dtype": (["--tasks", "xnli", "--dtype", "bf61"], "--dtype 'bf61' is not one of auto, float32"),
    "device": (["--tasks", "xnli", "--device", "cudaa"], "--device 'cudaa' is not a device. Did you mean cuda?"),
    "data dir": (["--tasks", "xnli", "--data_dir", "no-such-folder"], "--data-dir no-such-folder: no such folder."),
    "model folder": (["--tasks", "xnli", "--model", "./no-such-model"], "--model ./no-such-model: no such folder."),
    "hub model offline": (["--tasks", "xnli", "--model", "xlm-roberta-base"],
                          "--model xlm-roberta-base: the Hugging Face hub cannot be reached (HF_HUB_OFFLINE is set) "
                          "and the model is not in the HF cache"),
}  # fmt: skip

SCRIPT = """
import json, os, sys
from click.testing import CliRunner
from harness import hub
from harness.cli import cli
out = {}
for name, args in json.loads(sys.argv[1]).items():
    if name == "probe":  # no offline variable: the one probe finds the hub unreachable and tells the libraries
        os.environ.pop("HF_HUB_OFFLINE", None)
        os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"  # the discard port: refused at once
        hub.offline_reason.cache_clear()
    result = CliRunner().invoke(cli, args)
    out[name] = {"code": result.exit_code, "output": " ".join(result.output.split()),
                 "heavy": [m for m in HEAVY if m in sys.modules], "offline": os.environ.get("HF_HUB_OFFLINE")}
print(json.dumps(out))
""".replace("HEAVY", repr(HEAVY))


def test_every_argument_mistake_is_said_before_torch_is_imported(tmp_path) -> None:
    cases = {name: ["run", *args, "--output", str(tmp_path / "runs")] for name, (args, _) in MISTAKES.items()}
    cases["probe"] = ["run", "--tasks", "xnli", "--model", "xlm-roberta-base", "--output", str(tmp_path / "runs")]
    cases["output is a file"] = ["run", "--tasks", "xnli", "--output", __file__]
    cases["train"] = ["train", "--task", "mnlii", "--model", "tiny", "--output", str(tmp_path / "runs")]
    cases["noise preview"] = ["noise", "preview", "tpyo:0.1", "--task", "xnli", "--lang", "de"]
    cases["export"] = ["export-predictions", str(tmp_path)]
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cases)], capture_output=True, text=True,
                          cwd=tmp_path, check=True)  # fmt: skip
    results = json.loads(done.stdout)
    expected = {name: text for name, (_, text) in MISTAKES.items()}
    expected["probe"] = "the Hugging Face hub cannot be reached (127.0.0.1:9 cannot be reached"
    expected["output is a file"] = "is a file; results go into a folder"
    expected["train"] = "Unknown task, group or tag 'mnlii'. Did you mean: mnli"
    expected["noise preview"] = "Unknown perturbation 'tpyo'. Did you mean 'typo'?"
    expected["export"] = "is not a run folder (no readable results.json"
    for name, text in expected.items():
        result = results[name]
        assert result["code"] == 2 and text in result["output"], (name, result)
        assert result["heavy"] == [], (name, result)  # nothing heavy was imported when the error fired
    assert results["probe"]["offline"] == "1"  # found offline once: transformers and datasets are told


def test_the_harness_command_says_did_you_mean_without_importing_torch(tmp_path) -> None:
    """The acceptance command, as a user runs it: `-X importtime` lists every module the process imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "harness", "run", "--tasks", "xnli", "--noise",
                           "tpyo:0.1", "--model", "tiny"], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert "Unknown perturbation 'tpyo'. Did you mean 'typo'?" in done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "harness.preflight" in imported and not imported & set(HEAVY)


# -- lm-eval's conventions -----------------------------------------------------------------------------------------


def test_lm_eval_spellings_of_options_and_task_lists() -> None:
    run = cli.commands["run"]
    args = ["--tasks", "xnli", "pawsx", "--data_dir", "d", "--batch_size=8", "-t", "a", "--limit", "0.1", "--", "x_y"]
    assert lm_eval_spellings(run, args) == ["--tasks", "xnli,pawsx", "--data-dir", "d", "--batch-size=8", "-t", "a",
                                            "--limit", "0.1", "--", "x_y"]  # fmt: skip
    assert lm_eval_spellings(run, ["--tasks=xnli", "tydiqa,udpos"]) == ["--tasks", "xnli,tydiqa,udpos"]
    # through the command line, down to a group's command; a name the command does not have stays an error
    assert lm_eval_spellings(cli, ["tasks", "ls", "--include_path", "p"]) == ["tasks", "ls", "--include-path", "p"]
    out = CliRunner().invoke(cli, ["run", "--tasks", "xnli", "--no_such_option"])
    assert out.exit_code == 2 and "No such option '--no_such_option'" in out.output


def test_task_names_with_underscores_and_space_separated_lists_reach_the_run(tmp_path) -> None:
    out = CliRunner().invoke(cli, ["run", "--tasks", "paws_x", "XNLI", "--languages", "xx", "--model", "tiny",
                                   "--output", str(tmp_path)])  # fmt: skip
    assert out.exit_code == 2 and "Unknown language(s) xx for tasks pawsx, xnli;" in " ".join(out.output.split())


def test_limit_takes_a_share_of_each_languages_docs_drawn_as_the_number_is() -> None:
    assert Limit().convert("0.1", None, None) == 0.1 and Limit().convert("200", None, None) == 200
    assert Limit().convert(0.25, None, None) == 0.25 and Limit().convert("1", None, None) == 1
    for bad in ("0", "1.5", "-3", "ten", "inf", "nan"):
        with pytest.raises(Exception, match="--limit|number|share"):
            Limit().convert(bad, None, None)
    rows = list(range(1, 1001, 7))  # 143 docs: a tenth is 15, rounded up
    share = DocSelection(limit=0.1, seed=3).sample(rows)
    assert len(share) == 15 and share == DocSelection(limit=15, seed=3).sample(rows)
    assert DocSelection(limit=0.999).sample(rows) == rows


def test_model_args_are_checked_and_reach_the_loaded_model(tiny_model_dir) -> None:
    from harness.models import load_base

    assert parse_model_args("revision=v1.0, attn_implementation=eager,dtype=bf16", "org/model") == {
        "revision": "v1.0", "attn_implementation": "eager", "dtype": "bf16"}  # fmt: skip
    assert "trust_remote_code" not in parse_model_args("revision=main", "org/model")  # off unless asked
    assert parse_model_args("trust_remote_code=True", "org/model") == {"trust_remote_code": True}
    for text, error in [("revision", "revision needs a value"), ("attn_implementation=flash", "is not one of eager"),
                        ("trust_remote_code=maybe", "give true or false"), ("dtype=half", "dtype=half is not one of"),
                        ("revision=v1", "--model tiny is not a hub id")]:  # fmt: skip
        with pytest.raises(HarnessError, match=error):
            parse_model_args(text, "tiny")
    base = load_base(str(tiny_model_dir), model_args={"attn_implementation": "eager"})
    assert base.encoder.config._attn_implementation == "eager"
    assert load_base(str(tiny_model_dir)).encoder.config._attn_implementation == "sdpa"


def test_model_args_dtype_is_the_dtype_option(tiny_model_dir, tmp_path) -> None:
    common = dict(tasks=["xnli"], target_modules="query,value", no_resume=False, methods=["full"],
                  model=str(tiny_model_dir), output=tmp_path, seed=0)  # fmt: skip
    (config,) = make_configs(**common, model_args="dtype=bfloat16,attn_implementation=eager", dtype="auto")
    assert config.dtype == "bfloat16" and config.model_args == {"attn_implementation": "eager"}
    with pytest.raises(HarnessError, match="--dtype float32 and --model-args dtype=bfloat16 disagree"):
        make_configs(**common, model_args="dtype=bfloat16", dtype="float32")


def test_report_takes_md_for_markdown(tmp_path) -> None:
    from harness.results import write_json

    record = {"key": "k1", "task": "xnli_de", "family": "xnli", "language": "de", "condition": "clean",
              "metrics": {"accuracy": 50.0}, "score": 50.0, "score_name": "accuracy", "intermediate": "none",
              "method": "full", "model": "tiny", "model_label": "tiny", "seed": 0, "split": "validation",
              "zero_shot": True, "noise": None, "settings": {}, "table_metrics": {"accuracy": 50.0}}  # fmt: skip
    write_json(tmp_path / "records" / "k1.json", record)
    md = CliRunner().invoke(cli, ["report", str(tmp_path), "--format", "md", "--resamples", "0"])
    markdown = CliRunner().invoke(cli, ["report", str(tmp_path), "--format", "markdown", "--resamples", "0"])
    assert md.exit_code == 0, md.output
    assert md.output == markdown.output and "| xnli" in md.output


def test_the_printed_evaluate_py_command_parses_with_the_official_arguments(tmp_path) -> None:
    """The arguments of google-research/xtreme's evaluate.py (its argparse block, restated): every required one is
    given and the version is one it knows."""
    import argparse
    import shlex

    from test_export import fake_run

    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--prediction_folder", required=True)
    parser.add_argument("--label_folder", required=True)
    parser.add_argument("--xtreme_version", default="xtreme", choices=["xtreme", "xtreme-r"])
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--output_file", required=True)
    out = CliRunner().invoke(cli, ["export-predictions", str(fake_run(tmp_path)), "--out", str(tmp_path / "x")])
    commands = [line for line in out.output.splitlines() if line.startswith("python evaluate.py")]
    assert commands, out.output
    for command in commands:
        args = parser.parse_args(shlex.split(command)[2:])
        assert Path(args.prediction_folder).is_dir() and Path(args.label_folder).is_dir()
        assert args.output_file.endswith(f"scores-{args.xtreme_version}.json")


def test_tydiqa_dev_with_blanked_answers_is_not_exported(shared_data) -> None:
    """XTREME's TyDiQA-GoldP dev files blank every non-English answer (text ""): the scorer could not read them."""
    from harness.errors import ExportRefused
    from harness.registry import TaskIndex
    from harness.task import Task

    task = Task(TaskIndex().task("tydiqa_te"))
    examples = task.examples("validation", shared_data, DocSelection(limit=20))
    rows = [{"id": e["id"], "prediction": "x", "reference": task.type.show(task.type.reference(e), task.cfg)}
            for e in examples]  # fmt: skip
    with pytest.raises(ExportRefused, match="20 of 20 questions have no gold answer .* export a labelled split"):
        task.type.export(rows)
