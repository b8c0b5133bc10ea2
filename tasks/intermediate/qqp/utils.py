"""QQP from the GLUE download (is_duplicate) or the hub (label): one ``label`` column."""

from __future__ import annotations

import datasets


def docs(dataset: datasets.Dataset) -> datasets.Dataset:
    if "is_duplicate" in dataset.column_names:
        dataset = dataset.rename_column("is_duplicate", "label")
    return dataset
