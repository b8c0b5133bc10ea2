"""Tokenise once, cache by fingerprint, batch by length.

Features are keyed by a hash of the examples themselves (so any change in the
spec, the data, the noise or the seed gives new features), the tokenizer's
full serialisation, the maximum length and the task type's encoder version.
lm-eval's request cache had no config hash and served stale results; this one
cannot, because the key is the content. Each cached folder also carries a
checksum of its files, verified when it is read: a damaged cache (a flipped
byte, a cut-short Arrow file) is rebuilt with a warning, never used.
"""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from .models import tokenizer_fingerprint
from .paths import cache_root, folder_fingerprint, write_folder_atomic
from .spec import TaskConfig, stable_hash
from .tasktypes import TaskType

CHUNK = 1000
CHECKSUM = "checksum.txt"


def featurize(
    task_type: TaskType, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
) -> datasets.Dataset:
    """Features for ``examples``, from the cache when these exact inputs were tokenised before."""
    fingerprint = [task_type.name, task_type.version, tokenizer_fingerprint(tokenizer), max_length, cfg.label_list]
    key = stable_hash([*fingerprint, examples], 24)
    path = cache_root() / "features" / key
    if path.exists():
        cached = _load_verified(path)
        if cached is not None:
            return cached
    features = datasets.Dataset.from_dict(encode_features(task_type, examples, tokenizer, max_length, cfg).columns)

    def fill(tmp: Path) -> None:
        features.save_to_disk(str(tmp))
        (tmp / CHECKSUM).write_text(folder_fingerprint(tmp, exclude=(CHECKSUM,)))

    write_folder_atomic(path, fill)
    return datasets.load_from_disk(str(path))


def encode_features(
    task_type: TaskType, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
) -> Columns:
    """Features for ``examples``, in memory only: for texts scored once (attack candidates), never cached."""
    columns: dict[str, list[Any]] = {}
    for start in range(0, len(examples), CHUNK):
        for name, values in task_type.encode(examples[start : start + CHUNK], tokenizer, max_length, cfg).items():
            columns.setdefault(name, []).extend(values)
    return Columns(columns)


class Columns:
    """Feature columns as plain lists, read the way the batching loop reads a ``datasets.Dataset`` (a column by
    name, rows by a list of indices). Features scored once need no Arrow table: building one (and its
    fingerprint) costs more than a small model's forward pass."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns["length"])

    def __getitem__(self, key: str | list[int]) -> Any:
        if isinstance(key, str):
            return self.columns[key]
        return {name: [values[i] for i in key] for name, values in self.columns.items()}


def _load_verified(path: Path) -> datasets.Dataset | None:
    """The cached features in ``path`` if their files still match their checksum and load; else None, with the
    damaged folder removed so that it is rebuilt."""
    try:
        if not (path / CHECKSUM).is_file():
            raise ValueError("it has no checksum: an older harness wrote it, or it was cut short")
        expected = (path / CHECKSUM).read_text().strip()
        if folder_fingerprint(path, exclude=(CHECKSUM,)) != expected:
            raise ValueError("its files do not match their checksum")
        return datasets.load_from_disk(str(path))
    except Exception as exc:  # a missing checksum, ArrowInvalid, a cut-short file: all mean "rebuild"
        logging.getLogger(__name__).warning("Feature cache %s is damaged (%s); tokenising again.", path, exc)
        shutil.rmtree(path, ignore_errors=True)
        return None


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
