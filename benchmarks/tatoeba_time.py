"""Tatoeba retrieval time for all 41 XTREME-R languages through the harness (embedding + search + scoring).

The model is random (no hub here) but has a real size: ``base`` is XLM-R Base's shape (12 layers, hidden 768,
12 heads, FFN 3072); its tokenizer is trained on the Tatoeba text itself with a 32k vocabulary (XLM-R's
embedding table is 250k rows, which changes memory, not time). Numbers mean nothing; the timings do.

    python benchmarks/tatoeba_time.py --data-dir ../shared/data [--size base|tiny] [--languages de,ja]
"""

from __future__ import annotations

import argparse
import io
import platform
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console

from harness.models import TinySize, build_tiny, quiet_transformers
from harness.pipeline import RunConfig, Runner
from harness.registry import TaskIndex
from harness.task import Task

SIZES = {
    "base": TinySize(hidden_size=768, layers=12, heads=12, vocab_size=32000, max_corpus_lines=80000),
    "tiny": TinySize(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--size", choices=sorted(SIZES), default="base")
    parser.add_argument("--languages", help="comma-separated (default: all 41)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    quiet_transformers()
    torch.set_num_threads(args.threads)

    index = TaskIndex()
    names = index.expand("tatoeba")
    tasks = [Task(index.task(n)) for n in names]
    if args.languages:
        tasks = [t for t in tasks if t.language in args.languages.split(",")]
    texts = [e[f] for t in tasks for e in t.examples("validation", args.data_dir) for f in ("text", "text_pair")]

    started = time.perf_counter()
    model = build_tiny(texts, SIZES[args.size])
    built = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as out:
        config = RunConfig(
            tasks=[t.cfg.task for t in tasks],
            model=str(model),
            data_dir=args.data_dir,
            output=Path(out),
            adapter_dir=Path(out) / "adapters",
            batch_size=args.batch_size,
            device="cpu",
        )
        result = Runner(config, Console(file=io.StringIO())).run()

    records = result["results"]
    pairs = sum(r["n"] for r in records)
    embed = sum(r["timings"]["tokenize_s"] + r["timings"]["predict_s"] for r in records)
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"model: {args.size} {SIZES[args.size]} (built/loaded in {built:.1f}s)")
    print(f"{len(records)} languages, {pairs} pairs ({2 * pairs} sentences), batch size {args.batch_size}")
    for r in sorted(records, key=lambda r: r["language"]):
        seconds = r["timings"]["tokenize_s"] + r["timings"]["predict_s"]
        print(f"  {r['language']}: {r['n']:5d} pairs {seconds:7.1f}s  acc {r['score']:.1f}")
    print(f"evaluation (tokenize + embed + search + score): {embed:.1f}s, {2 * pairs / embed:.0f} sentences/s")
    print(f"whole run (data, model load, evaluation): {result['timings']['total_s']:.1f}s")


if __name__ == "__main__":
    main()
