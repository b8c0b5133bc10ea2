"""Social IQa's answer as a 0-based index, from the release files (correct: A/B/C) or the hub (label: 1/2/3)."""

from __future__ import annotations

import datasets


def docs(dataset: datasets.Dataset) -> datasets.Dataset:
    if "correct" in dataset.column_names:
        return dataset.map(lambda d: {"answer": "ABC".index(d["correct"].strip())})
    return dataset.map(lambda d: {"answer": int(d["label"]) - 1})
