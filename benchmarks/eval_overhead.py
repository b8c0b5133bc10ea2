"""Harness evaluation vs a bare forward loop over the same batches (goal: ratio under 1.15).

The harness path is what `harness run` does per cell once features are cached:
Arrow row fetch, collation with dynamic padding, autocast, per-feature outputs,
folding into predictions and scoring. The bare loop gets the very same batches
already collated as tensors and only runs the model and an argmax. Both use an
XLM-R-sized encoder with random weights (the compute is the same as real ones).

    python benchmarks/eval_overhead.py --size base --examples 512
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from timing import timed  # benchmarks/timing.py

from harness.evaluation import predict_features
from harness.features import featurize, length_batches
from harness.metrics import compute
from harness.models import quiet_transformers, resolve_device, resolve_dtype
from harness.registry import TaskIndex
from harness.task import DocSelection, Task
from harness.training import TaskModel, rows_of, to_device

SIZES = {"tiny": (128, 2, 4), "base": (768, 12, 12), "large": (1024, 24, 16)}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def build(size: str, texts: list[str]) -> tuple[torch.nn.Module, object]:
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

    from harness.models import TinySize, build_tiny

    tokenizer = AutoTokenizer.from_pretrained(build_tiny(texts, TinySize()))
    hidden, layers, heads = SIZES[size]
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
        attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    return XLMRobertaModel(config, add_pooling_layer=False).eval(), tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="base")
    parser.add_argument("--examples", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    quiet_transformers()
    if not SHARED.is_dir():
        sys.exit(f"needs the XNLI dev files of {SHARED}")
    task = Task(TaskIndex().task("xnli_en"))
    examples = task.examples("validation", SHARED, DocSelection(limit=args.examples, seed=0))
    encoder, tokenizer = build(args.size, [e["text"] for e in examples] + [e["text_pair"] for e in examples])
    device, pad = resolve_device(args.device), tokenizer.pad_token_id
    dtype = resolve_dtype("auto", device)
    torch.manual_seed(0)
    model = TaskModel(encoder, task.type.make_head(encoder.config.hidden_size, task.cfg), task.type).to(device).eval()
    features = featurize(task.type, examples, tokenizer, 256, task.cfg)
    batches = [
        to_device(task.type.collate(rows_of(features, b), pad), device)
        for b in length_batches(features["length"], args.batch_size)
    ]

    def bare() -> None:
        with torch.inference_mode():
            for batch in batches:
                with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                    model(batch).argmax(-1).cpu()

    def harness() -> None:
        outputs = predict_features(model, features, args.batch_size, device, dtype, pad)
        predictions = task.type.predict(outputs, features, examples, task.cfg)
        compute(task.metric_list, [task.type.reference(e) for e in examples], predictions)

    t_bare, t_harness = timed(bare, args.repeats, device), timed(harness, args.repeats, device)
    print(
        f"model={args.size} device={device} dtype={dtype} examples={len(examples)} batches={len(batches)} "
        f"threads={torch.get_num_threads()}"
    )
    print(
        f"bare forward loop: {t_bare:.3f}s  harness evaluation: {t_harness:.3f}s  "
        f"ratio: {t_harness / t_bare:.3f} (goal < 1.15)"
    )


if __name__ == "__main__":
    main()
