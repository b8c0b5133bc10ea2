"""The benchmark suite runs unchanged on the CPU at its smallest size (on a GPU it measures XLM-R Large)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_gpu_suite_runs_at_tiny_size_on_the_cpu(tmp_path: Path, shared_data: Path) -> None:
    """With what a GPU run does by default, bf16 and a compiled path (the cheap ``eager`` backend on the CPU)."""
    out = tmp_path / "suite.json"
    command = [sys.executable, "benchmarks/gpu_suite.py", "--size", "tiny", "--device", "cpu", "--dtype", "bfloat16",
               "--compile", "eager"]  # fmt: skip
    done = subprocess.run(
        [*command, "--data-dir", str(shared_data), "--out", str(out)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mixed K=8" in done.stdout and "full XTREME-R eval" in done.stdout.splitlines()[-1]
    results = json.loads(out.read_text())
    assert set(results["evaluation"]) == {"classification", "span_qa", "tagging"}
    for figures in results["evaluation"].values():
        assert figures["tokens"] <= figures["padded_tokens"] and 0 < figures["fraction_of_ceiling"] < 1
        assert figures["harness_fp32_weights_recast_s"] > 0 and figures["harness_compiled_s"] > 0
    lengths = results["xlmr_lengths"]  # XLM-R's token lengths: each language's text resized by its factor
    assert set(lengths) == {f"{t}/{lang}" for t in ("classification", "span_qa", "tagging") for lang in ("en", "de")}
    assert all(0.2 < f["factor"] < 1 and 0.22 < f["xlmr_tokens_per_char"] < 0.24 for f in lengths.values())
    assert all(abs(f["resized_tokens_per_char"] / f["xlmr_tokens_per_char"] - 1) < 0.15 for f in lengths.values())
    assert all(results["mixed"][f"{path}_k{k}_s"] > 0 for path in ("stacked", "peft") for k in (1, 2, 4, 8))
    assert results["training"]["lora_trainable"] < results["training"]["full_trainable"]
    assert results["training"]["full_peak_bytes"] is None  # a CPU has no allocator peak: the GPU column stays empty
    assert results["full_xtreme_r"]["seconds"] > results["full_xtreme_r"]["floor_s"] > 0
