"""Tokenise once, cache by fingerprint, batch by length.

Features are keyed by a hash of the examples themselves (so any change in the
spec, the data, the noise or the seed gives new features), the tokenizer's
full serialisation, the maximum length and the task type's encoder version.
lm-eval's request cache had no config hash and served stale results; this one
cannot, because the key is the content.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import datasets

from .paths import cache_root, write_folder_atomic
from .spec import TaskConfig, stable_hash
from .tasktypes import TaskType

CHUNK = 1000


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A hash of the tokenizer's full serialisation, computed once per tokenizer object."""
    cached = getattr(tokenizer, "_harness_fingerprint", None)
    if cached is None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        blob = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
        cached = stable_hash([type(tokenizer).__name__, blob], 16)
        tokenizer._harness_fingerprint = cached
    return cached


def featurize(
    task_type: TaskType, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
) -> datasets.Dataset:
    """Features for ``examples``, from the cache when these exact inputs were tokenised before."""
    fingerprint = [task_type.name, task_type.version, tokenizer_fingerprint(tokenizer), max_length, cfg.label_list]
    key = stable_hash([*fingerprint, examples], 24)
    path = cache_root() / "features" / key
    if path.exists():
        return datasets.load_from_disk(str(path))
    columns: dict[str, list[Any]] = {}
    for start in range(0, len(examples), CHUNK):
        for name, values in task_type.encode(examples[start : start + CHUNK], tokenizer, max_length, cfg).items():
            columns.setdefault(name, []).extend(values)
    features = datasets.Dataset.from_dict(columns)
    write_folder_atomic(path, lambda tmp: features.save_to_disk(str(tmp)))
    return datasets.load_from_disk(str(path))


def length_batches(lengths: list[int], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices grouped longest-first, so each batch pads to a similar length.

    With ``max_tokens`` a batch also stops before its padded size (rows × its first,
    longest row) would pass that many tokens: short inputs then go in larger batches
    and long ones in smaller, instead of one row count for all.
    """
    lengths = lengths[:]  # a datasets Column reads row by row when indexed; a slice reads it at once
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    if max_tokens is None:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    batches: list[list[int]] = []
    for i in order:
        if (
            not batches
            or len(batches[-1]) >= batch_size
            or (len(batches[-1]) + 1) * lengths[batches[-1][0]] > max_tokens
        ):
            batches.append([])
        batches[-1].append(i)
    return batches


def shuffled_batches(n: int, batch_size: int, key: str, epoch: int) -> Iterator[list[int]]:
    """One epoch of training batches: a permutation seeded by ``key`` and the epoch."""
    order = list(range(n))
    random.Random(f"{key}:{epoch}").shuffle(order)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]
