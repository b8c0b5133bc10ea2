"""Tagging evaluation throughput: the harness against a bare forward loop over the same batches.

The model is XLM-R-base-sized (12 layers, hidden 768, 12 heads, FFN 3072) with random weights and a small
tokenizer trained on the evaluated text (no hub access needed; the vocabulary size barely changes the
forward cost). The sentences are a seeded sample of N from UD-POS English dev (../shared/data by default).

Three timings, all on the same length-sorted batches, as wall-clock and process CPU time:
- bare: ``encoder(input_ids, attention_mask)`` plus the linear head on pre-collated tensors, nothing else;
- harness predict: ``predict_features`` (Arrow rows, collate, forward, per-word argmax) and ``predict``
  (stitching windows into one tag per word), from cached features;
- harness end to end: also rendering the docs, tokenising into whole-word windows and scoring.

    python benchmarks/tagging_throughput.py --sentences 200
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from harness.evaluation import predict_features  # noqa: E402
from harness.features import featurize, length_batches  # noqa: E402
from harness.metrics import compute  # noqa: E402
from harness.models import TinySize, build_tiny, load_encoder, quiet_transformers  # noqa: E402
from harness.registry import TaskIndex  # noqa: E402
from harness.task import DocSelection, Task  # noqa: E402
from harness.training import TaskModel, rows_of  # noqa: E402

BASE = TinySize(hidden_size=768, layers=12, heads=12, vocab_size=8000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()
    quiet_transformers()
    torch.manual_seed(0)

    task = Task(TaskIndex().task("udpos_en"))
    selection = DocSelection(limit=args.sentences)
    corpus = [" ".join(e["tokens"]) for e in task.examples("validation", args.data_dir)]
    folder = build_tiny(corpus, BASE)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoder = load_encoder(str(folder)).eval()
    model = TaskModel(encoder, task.type.make_head(BASE.hidden_size, task.cfg), task.type).eval()
    cpu, fp32, pad_id = torch.device("cpu"), torch.float32, tokenizer.pad_token_id

    def end_to_end() -> None:
        examples = task.examples("validation", args.data_dir, selection)
        features = featurize(task.type, examples, tokenizer, args.max_length, task.cfg)
        outputs = predict_features(model, features, args.batch_size, cpu, fp32, pad_id)
        predictions = task.type.predict(outputs, features, examples, task.cfg)
        compute(task.metric_list, [e["target"] for e in examples], predictions)

    examples = task.examples("validation", args.data_dir, selection)
    features = featurize(
        task.type, examples, tokenizer, args.max_length, task.cfg
    )  # cached: predict() times no tokenising
    batches = [
        task.type.collate(rows_of(features, indices), pad_id)
        for indices in length_batches(features["length"], args.batch_size)
    ]

    def predict() -> None:
        outputs = predict_features(model, features, args.batch_size, cpu, fp32, pad_id)
        task.type.predict(outputs, features, examples, task.cfg)

    def bare() -> None:
        with torch.inference_mode():
            for batch in batches:
                hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
                model.head(hidden).argmax(-1)

    with torch.inference_mode():  # warm-up: first-call allocations are charged to nobody
        model(batches[0])
    timings = {"bare forward loop": timed(bare), "harness predict": timed(predict)}
    with tempfile.TemporaryDirectory() as empty:  # an empty feature cache: end to end tokenises afresh
        cache = os.environ.get("HARNESS_CACHE")
        os.environ["HARNESS_CACHE"] = empty
        timings["harness end to end"] = timed(end_to_end)
        if cache is None:
            del os.environ["HARNESS_CACHE"]
        else:
            os.environ["HARNESS_CACHE"] = cache

    words = sum(len(e["tokens"]) for e in examples)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{len(examples)} sentences, {words} words, {len(features)} windows, batch {args.batch_size}, "
        f"max length {args.max_length}, XLM-R-base-sized random model"
    )
    wall_bare, cpu_bare = timings["bare forward loop"]
    for name, (wall, cpu_s) in timings.items():
        print(
            f"{name:20s} wall {wall:6.2f}s ({len(examples) / wall:5.1f} sentences/s, ratio {wall / wall_bare:.3f})  "
            f"CPU {cpu_s:6.2f}s (ratio {cpu_s / cpu_bare:.3f})"
        )


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of one call (CPU time is the steadier number on a shared machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    main()
