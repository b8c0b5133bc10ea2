"""Span-QA's n-best search: the Python loop the harness had against the batched tensor search it has now.

Real XQuAD questions cut into 384-token windows (a tokenizer trained on their text, as the ``tiny`` preset does),
random start/end logits in batches of 32 windows; the forward pass is not timed. Before: the n-best (``topk``) of
each window read back as Python lists, then per question a loop over windows, starts and ends
(``tests/span_search_reference.py``). After: ``SpanQA.outputs`` (``best_spans``: one tensor search per batch, one
row per window read back, the answer's characters included) and ``SpanQA.predict``, which no longer reads the
windows' token offsets from the features (reading that column of nested lists was most of the old cost). Both give
the same answers (checked here, and in ``tests/test_span_qa.py`` on random logits with ties).

    OMP_NUM_THREADS=1 python benchmarks/span_search.py --data-dir ../shared/data --questions 480
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections import defaultdict
from pathlib import Path

import torch
from timing import timed  # benchmarks/timing.py

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from span_search_reference import read_back, reference_answer  # noqa: E402

from harness.features import featurize, length_batches  # noqa: E402
from harness.models import TinySize, build_tiny, quiet_transformers  # noqa: E402
from harness.registry import TaskIndex  # noqa: E402
from harness.task import DocSelection, Task  # noqa: E402
from harness.training import rows_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--questions", type=int, default=480, help="XQuAD questions, an equal share per language")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each; the fastest counts")
    args = parser.parse_args()
    quiet_transformers()
    from transformers import AutoTokenizer

    languages = ["en", "de", "ru", "zh", "hi", "th"]
    examples, task = [], None
    for lang in languages:
        task = Task(TaskIndex().task(f"xquad_{lang}"))
        for e in task.examples("test", args.data_dir, DocSelection(limit=args.questions // len(languages), seed=0)):
            examples.append({**e, "index": len(examples)})
    assert task is not None
    tokenizer = AutoTokenizer.from_pretrained(
        build_tiny([e["context"] for e in examples] + [e["question"] for e in examples], TinySize(hidden_size=32))
    )
    features = featurize(task.type, examples, tokenizer, 384, task.cfg)
    torch.manual_seed(0)
    batches, rows = [], [rows_of(features, indices) for indices in length_batches(features["length"], args.batch_size)]
    for indices, batch_rows in zip(length_batches(features["length"], args.batch_size), rows):
        batch = task.type.collate(batch_rows, tokenizer.pad_token_id)
        batches.append((indices, batch, torch.randn(len(indices), batch["input_ids"].shape[1], 2) * 3))
    collating = timed(lambda: [task.type.collate(r, tokenizer.pad_token_id) for r in rows], 3, torch.device("cpu"))

    def before() -> list[str]:  # the old outputs, then the old predict (reading three feature columns)
        outputs: list = [None] * len(features)
        for indices, batch, logits in batches:
            for i, out in zip(indices, read_back(logits, batch)):
                outputs[i] = out
        windows: dict[int, list[dict]] = defaultdict(list)
        columns = zip(outputs, features["example_index"], features["offsets"], features["window_start"])
        for out, owner, offsets, first in columns:
            windows[owner].append({**out, "offsets": offsets, "window_start": first})
        return [reference_answer(e["context"], windows[e["index"]], False) for e in examples]

    def after() -> list[str]:  # SpanQA's outputs and predict (reading the example_index column only)
        outputs: list = [None] * len(features)
        for indices, batch, logits in batches:
            for i, out in zip(indices, task.type.outputs(logits, batch)):
                outputs[i] = out
        return task.type.predict(outputs, features, examples, task.cfg)

    ties = sum(a != b for a, b in zip(before(), after()))
    cpu = torch.device("cpu")
    t_before, t_after = timed(before, args.repeats, cpu), timed(after, args.repeats, cpu)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{len(examples)} XQuAD questions ({', '.join(languages)}) -> {len(features)} windows of <= 384 tokens, "
          f"batches of {args.batch_size}; answers that differ: {ties} (topk's order of equal logits only)")  # fmt: skip
    print(f"before (topk read back, Python loop): {1e6 * t_before / len(examples):7.0f} µs per question")
    print(f"after (tensor search per batch):      {1e6 * t_after / len(examples):7.0f} µs per question")
    print(f"after / before: {t_after / t_before:.3f}")
    print(f"collating (beside the device, in evaluation's worker thread; now with the windows' max-context flags and "
          f"character offsets): {1e6 * collating / len(features):.0f} µs per window")  # fmt: skip


if __name__ == "__main__":
    main()
