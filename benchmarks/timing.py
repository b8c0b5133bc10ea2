"""Wall-clock timing for the benchmark scripts: synchronised on a GPU, repeated, the best or the median kept."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def timed(fn: Callable[[], object], repeats: int, device: torch.device, best: bool = True) -> float:
    """Seconds one call of ``fn`` takes: the fastest of ``repeats`` calls (or their median), after a warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times) if best else statistics.median(times)
