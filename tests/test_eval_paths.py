"""How evaluation forward passes run: bf16 weights stored for evaluation, and ``--compile``; neither changes a number.

One small LoRA grid (toy target on none and toyint: a mixed-adapter pass of two models), bf16 asked for explicitly on
the CPU (``auto`` keeps fp32 there), evaluated three ways over the same stored models: fp32 weights recast by
autocast on every forward, bf16 weights stored for the cell, and the same through ``torch.compile``.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import torch
from click.testing import CliRunner
from torch._dynamo import register_backend

from harness import cells, pipeline
from harness.cli import cli
from harness.pipeline import RunConfig, Runner

GRAPHS: list[int] = []


@register_backend
def harness_test_counting(graph: torch.fx.GraphModule, example_inputs: list) -> object:
    """A compile backend that runs the captured graph as it is, and counts the graphs it was given."""
    GRAPHS.append(len(graph.graph.nodes))
    return graph.forward


def outcomes(out: Path) -> dict:
    """Each target record's metrics, dtype setting and per-example predictions (not the intermediate's dev scores,
    made in the run that trained it)."""
    records = [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]
    return {
        (r["task"], r["intermediate"]): (r["metrics"], r["settings"]["dtype"],
                                          (out / "predictions" / f"{r['key']}.jsonl").read_text())
        for r in records
        if r["role"] == "target"
    }  # fmt: skip


def test_bf16_evaluation_weights_and_compile_give_the_numbers_of_autocast(
    tiny_model_dir: Path, toy_tasks: Path, toy_data: Path, tmp_path: Path, monkeypatch
) -> None:
    common = dict(tasks=["toy"], model=str(tiny_model_dir), data_dir=toy_data, include_paths=[toy_tasks],
                  adapter_dir=tmp_path / "store", method="lora", intermediates=["none", "toyint"], device="cpu",
                  dtype="bfloat16", epochs=2.0)  # fmt: skip
    with monkeypatch.context() as patch:  # the old way: fp32 weights, recast by autocast at every forward
        patch.setattr(cells, "evaluation_weights", lambda *args: contextlib.nullcontext())
        Runner(RunConfig(output=tmp_path / "recast", **common)).run()
    Runner(RunConfig(output=tmp_path / "stored", **common)).run()
    recast, stored = outcomes(tmp_path / "recast"), outcomes(tmp_path / "stored")
    assert len(stored) == 4 and all(dtype == "bfloat16" for _, dtype, _ in stored.values())
    assert all('"pos"' in text and '"neg"' in text for *_, text in stored.values())  # models that tell them apart
    assert stored == recast

    args = ["run", "--tasks", "toy", "--model", str(tiny_model_dir), "--data-dir", str(toy_data), "--include-path",
            str(toy_tasks), "--adapter-dir", str(tmp_path / "store"), "--method", "lora", "--device", "cpu",
            "--dtype", "bfloat16", "--epochs", "2", "--output", str(tmp_path / "compiled"),
            "--compile", "harness_test_counting"]  # fmt: skip
    done = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert GRAPHS  # the encoder's forward passes went through the backend
    (resident,) = [v for k, v in pipeline._RESIDENT.items() if (k[0], k[-1]) == (str(tiny_model_dir), "lora")]
    encoder = resident[1].peft  # the compiled form is kept on it, not copied
    assert encoder.__dict__["_harness_compiled"] and not copy.deepcopy(encoder).__dict__["_harness_compiled"]
    compiled = outcomes(tmp_path / "compiled")
    assert len(compiled) == 2 and compiled == {k: v for k, v in stored.items() if k[1] == "none"}
