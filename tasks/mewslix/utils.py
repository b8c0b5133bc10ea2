"""Hub hooks for Mewsli-X: ``izhx/mewsli-x`` rows keep Mewsli-X's JSON records; flatten them as the local
``mewslix`` reader does (one doc per mention, XTREME's query and entity texts). Local docs pass through."""

from __future__ import annotations

import datasets

from harness.readers.retrieval import mewslix_rows


def _flatten(docs: datasets.Dataset, records: str) -> datasets.Dataset:
    return datasets.Dataset.from_list([row for record in docs for row in mewslix_rows(record, records)])


def from_hub(docs: datasets.Dataset) -> datasets.Dataset:
    """WikiNews mentions (per-language configs) or Wikipedia training pairs, one doc per mention."""
    if "query" in docs.column_names:
        return docs
    return _flatten(docs, "pairs" if "contextual_mention" in docs.column_names else "mentions")


def entities_from_hub(docs: datasets.Dataset) -> datasets.Dataset:
    """Candidate entities with their description text."""
    if "sentence_spans" not in docs.column_names:
        return docs
    return _flatten(docs, "entities")
