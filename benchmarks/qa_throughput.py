"""Span-QA evaluation throughput: the harness against a bare forward loop over the same batches.

The harness path is everything ``harness run`` does to evaluate a QA cell:
windowed features (tokenised cold, no cache), length-sorted batches, the
forward pass, the n-best span search, mapping answers back to the text, and
EM/F1. The bare loop only runs the encoder and the start/end head over the
same pre-built batches. The ratio is the harness's overhead over the model.

The model has XLM-R base's shape (hidden 768, 12 layers, 12 heads) with random
weights, and a tokenizer trained on the benchmark's own text (no hub access
needed); only its vocabulary is smaller than XLM-R's, which barely changes the
compute. Usage:

    python benchmarks/qa_throughput.py --data-dir ../shared/data --examples 16
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"), help="holds xquad/xquad.en.json")
    parser.add_argument("--examples", type=int, default=16, help="XQuAD questions to evaluate")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each, interleaved; the best counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as cache:
        run(args, Path(cache))


def run(args: argparse.Namespace, cache: Path) -> None:
    os.environ["HARNESS_CACHE"] = str(cache / "setup")

    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

    from harness.evaluation import predict_features
    from harness.features import featurize, length_batches
    from harness.metrics import compute
    from harness.models import TinySize, build_tiny, quiet_transformers
    from harness.registry import TaskIndex
    from harness.task import DocSelection, Task
    from harness.training import TaskModel, rows_of

    quiet_transformers()
    task = Task(TaskIndex().task("xquad_en"))
    examples = task.examples("test", args.data_dir, DocSelection(limit=args.examples))
    tokenizer = AutoTokenizer.from_pretrained(
        build_tiny([e["context"] for e in examples] + [e["question"] for e in examples], TinySize(hidden_size=32))
    )
    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
        attn_implementation="sdpa",
    )
    encoder = XLMRobertaModel(config, add_pooling_layer=False)
    model = TaskModel(encoder, task.type.make_head(768, task.cfg), task.type).eval()
    device, dtype, pad = torch.device("cpu"), torch.float32, tokenizer.pad_token_id

    def harness_eval() -> tuple[float, float]:
        """Seconds for the whole evaluation, and for its parts outside the forward pass."""
        os.environ["HARNESS_CACHE"] = tempfile.mkdtemp(dir=cache)  # cold features: tokenising counts
        start = time.perf_counter()
        features = featurize(task.type, examples, tokenizer, args.max_length, task.cfg)
        featurized = time.perf_counter()
        outputs = predict_features(model, features, args.batch_size, device, dtype, pad)
        predicted = time.perf_counter()
        predictions = task.type.predict(outputs, features, examples, task.cfg)
        compute(task.metric_list, [task.type.reference(e) for e in examples], predictions, language="en")
        end = time.perf_counter()
        return end - start, (featurized - start) + (end - predicted)

    features = featurize(task.type, examples, tokenizer, args.max_length, task.cfg)
    batches = [
        task.type.collate(rows_of(features, b), pad) for b in length_batches(features["length"], args.batch_size)
    ]

    def bare_loop() -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in batches:
                model(batch)
        return time.perf_counter() - start

    with torch.inference_mode():
        model(batches[-1])  # warm-up
    bare, harness = [], []
    for _ in range(args.rounds):  # interleaved, best of each: a shared machine's noise hits both alike
        bare.append(bare_loop())
        harness.append(harness_eval())
    best, outside = min(harness)
    tokens = sum(features["length"])
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"{len(examples)} XQuAD-en questions -> {len(features)} windows, {tokens} tokens, batch {args.batch_size}, "
        f"max length {args.max_length}, XLM-R-base-sized random model on CPU (fp32)"
    )
    print(f"runs (s): bare {' '.join(f'{t:.2f}' for t in bare)}; harness {' '.join(f'{t:.2f}' for t, _ in harness)}")
    print(f"bare forward loop: {min(bare):.2f}s ({tokens / min(bare):.0f} tokens/s)")
    print(
        f"harness evaluation: {best:.2f}s ({tokens / best:.0f} tokens/s), of which {outside:.2f}s outside the "
        f"forward pass (tokenising into windows, n-best search, mapping answers back, EM/F1)"
    )
    print(f"ratio harness / bare: {best / min(bare):.3f}")


if __name__ == "__main__":
    main()
