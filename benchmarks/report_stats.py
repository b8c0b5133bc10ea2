"""Time of `harness report`'s statistics on a full-size XNLI grid, without a model.

A synthetic store shaped like a full XNLI evaluation: 15 languages × 5,010 test
examples, intermediates none and mnli, clean and two noise conditions, two
training seeds (180 records, per-example outcomes beside them). The leaderboard
and the robustness table are computed with their bootstrap intervals and
randomisation tests, as `harness report` does. Usage:

    python benchmarks/report_stats.py --resamples 1000 [--examples 5010]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.analysis import Analysis
from harness.report import leaderboard, robustness_summary
from harness.results import CellStore

LANGUAGES = "ar bg de el en es fr hi ru sw th tr ur vi zh".split()


def build(root: Path, examples: int) -> CellStore:
    store = CellStore(root)
    rng = np.random.default_rng(0)
    for intermediate, base in (("none", 0.75), ("mnli", 0.78)):
        for condition, loss in (("clean", 0.0), ("typo:0.1", 0.06), ("typo:0.2", 0.12)):
            for lang in LANGUAGES:
                for seed in (1, 2):
                    correct = (rng.random(examples) < base - loss).astype(int).tolist()
                    key = f"{intermediate}-{condition}-{lang}-{seed}".replace(":", "_")
                    acc = sum(correct) / examples * 100
                    store.put(key, {
                        "key": key, "task": f"xnli_{lang}", "family": "xnli", "language": lang, "seed": seed,
                        "condition": condition, "intermediate": intermediate, "role": "target", "model_label": "m",
                        "method": "full", "split": "test", "score": acc, "score_name": "acc",
                        "metrics": {"acc": acc}, "table_metrics": ["acc"], "higher_is_better": {"acc": True},
                        "spec": {"metric_list": [{"metric": "acc"}]}, "outcomes": ["acc:acc"], "settings": {},
                    })  # fmt: skip
                    store.put_outcomes(key, [str(i) for i in range(examples)], {"acc:acc": correct})
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--examples", type=int, default=5010)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp), args.examples)
        records = store.scan().records
        started = time.perf_counter()
        analysis = Analysis(store, resamples=args.resamples)
        board = leaderboard(records, analysis=analysis)
        board_s = time.perf_counter() - started
        robustness_summary(records, analysis)
        total = time.perf_counter() - started
    estimates = sum(1 for row in board.rows for v in row if hasattr(v, "low"))
    print(f"{platform.processor() or platform.machine()}, {len(records)} records × {args.examples} examples, "
          f"{args.resamples} resamples: leaderboard {board_s:.1f}s ({estimates} estimates), "
          f"with robustness table {total:.1f}s")  # fmt: skip


if __name__ == "__main__":
    main()
