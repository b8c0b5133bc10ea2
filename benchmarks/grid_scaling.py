"""How a grid scales over Ray workers, and what the executor costs per unit.

The same tiny-model grid (tests/fixtures' toy tasks: 2 targets × 2 intermediates × 3 conditions × N seeds) runs
from scratch with 1, 2 and 4 Ray actors (a local cluster of that many CPU slots, or GPUs when the machine has
them). Per worker count:

- wall: from the first submission to the last result, with the actors already started (their start, which is
  a Python process importing torch, is reported apart: it is paid once per worker, not per unit);
- efficiency: wall(1) / (workers × wall(workers));
- overhead per unit: (workers × wall − the units' own time, as measured inside ``execute``) / units, against the
  mean unit time. It holds everything the executor adds: scheduling, serialising units, waiting for
  dependencies, idle workers at the end of a level.

    python benchmarks/grid_scaling.py --workers 1,2,4 --seeds 4
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--seeds", type=int, default=4, help="training seeds (each adds 17 units)")
    parser.add_argument("--train-examples", type=int, default=200)
    parser.add_argument("--limit", type=int, default=40, help="evaluation docs per language")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per worker: workers, not threads, share the cores
    scratch = Path(tempfile.mkdtemp(prefix="grid-scaling-"))
    os.environ.setdefault("HARNESS_CACHE", str(scratch / "cache"))  # the tiny base is built once, then shared

    import ray

    from harness.executors import RayExecutor
    from harness.models import quiet_transformers
    from harness.pipeline import RunConfig, Runner

    quiet_transformers()
    console = Console(stderr=True, quiet=True)
    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        out = scratch / f"w{workers}"
        configs = [
            RunConfig(
                tasks=["toy", "toytag"],
                model="tiny",
                include_paths=[FIXTURES / "tasks"],
                data_dir=FIXTURES / "data",
                output=out,
                adapter_dir=out / "store",
                intermediates=["none", "toyint"],
                noise=["typo:0.1", "drop:0.1"],
                seed=seed,
                limit=args.limit,
                max_train_examples=args.train_examples,
                epochs=1.0,
                batch_size=32,
            )  # fmt: skip
            for seed in range(1, args.seeds + 1)
        ]
        units = list({u.key: u for c in configs for u in Runner(c, console).prepare().units()}.values())
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        executor = RayExecutor(console, workers=workers)
        started = time.perf_counter()
        actors = executor.actors(ray, workers, 0)
        ray.get([actor.__ray_ready__.remote() for actor in actors])
        startup = time.perf_counter() - started
        started = time.perf_counter()
        seconds = executor.run(units)
        wall = time.perf_counter() - started
        ray.shutdown()
        own = sum(seconds.values())
        rows.append((workers, len(units), startup, wall, own))
        shutil.rmtree(out)
    print(f"{rows[0][1]} units per run; CPU slots: {os.cpu_count()}\n")
    print("| workers | actor start (s) | grid wall (s) | speed-up | efficiency | units' own time (s) | "
          "overhead per unit (ms) | overhead / mean unit |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = rows[0][3] * rows[0][0]
    for workers, n, startup, wall, own in rows:
        overhead = (workers * wall - own) / n
        print(f"| {workers} | {startup:.1f} | {wall:.1f} | {base / wall:.2f} | {base / (workers * wall):.0%} | "
              f"{own:.1f} | {overhead * 1000:.0f} | {overhead / (own / n):.1%} |")  # fmt: skip
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
